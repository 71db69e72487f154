"""Suite-wide fixtures. The exercise-check plugin is loaded for every test run."""

pytest_plugins = ["aurore.course.checks.plugin"]
