"""Running an exercise's checks: the runner, the warm worker that forks
checks with TensorFlow already imported, the child a check runs in, and the
pytest plugin that reports each check in the learner's language.
"""
