"""Suite-wide fixtures and settings. The exercise-check plugin is loaded for every test run.

The test tools of requirements-dev.txt are optional for a learner who only
runs a test file: without them the tests that need them are left out of the
collection (no import tracebacks) and one line says what to install.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from aurore import paths

pytest_plugins = ["aurore.course.checks.plugin"]

# PYTEST_ADDOPTS (.ci/run's `-n 2`) is for this run: a pytest a test starts (a learner's check, the
# fresh install's) must not inherit it.
os.environ.pop("PYTEST_ADDOPTS", None)

INSTALL_DEV_TOOLS = "python3 -m pip install -r requirements-dev.txt"

#: Each test tool of requirements-dev.txt: (its import name, its package, the tests that cannot be collected without it).
DEV_TOOLS = (
    ("playwright", "playwright", ("browser",)),
    ("pytest_playwright", "pytest-playwright", ("browser",)),
    ("pytest_timeout", "pytest-timeout", ()),
    ("yaml", "pyyaml", ("test_dockerfile.py",)),
    ("openai", "openai", ("test_code_completion_api.py",)),
    ("hypothesis", "hypothesis", ("test_properties.py", "test_sampling_rules.py", "test_scoring_formulas.py")),
)

#: pytest-playwright's options for this suite, unless given on the command line: a trace of each failed browser test.
PLAYWRIGHT_DEFAULTS = {"--tracing": "retain-on-failure", "--output": str(paths.ROOT / "test-output" / "playwright")}


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


MISSING_TOOLS = [package for module, package, _ in DEV_TOOLS if _missing(module)]
LEFT_OUT = sorted({test for module, _, tests in DEV_TOOLS if _missing(module) for test in tests})
collect_ignore = LEFT_OUT


def _asks_for_left_out_tests(config) -> bool:
    """Whether the command line names tests that cannot run here (pytest never ignores the paths it is given)."""
    left_out = [Path(__file__).parent / test for test in LEFT_OUT]
    asked = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    return any(path == test or test in path.parents for path in asked for test in left_out)


def pytest_addoption(parser):
    """Without pytest-timeout, its `timeout` setting of pytest.ini is known (and unused), not a warning."""
    if "pytest-timeout" in MISSING_TOOLS:
        parser.addini("timeout", "per-test time limit (pytest-timeout, a dev tool)")


def pytest_configure(config):
    if _asks_for_left_out_tests(config):
        pytest.exit(missing_tools_line(), returncode=pytest.ExitCode.USAGE_ERROR)
    if "pytest-timeout" in MISSING_TOOLS:
        config.addinivalue_line("markers", "timeout(seconds): per-test time limit (pytest-timeout, a dev tool)")
    if config.pluginmanager.hasplugin("playwright"):
        _set_playwright_defaults(config)


def _set_playwright_defaults(config) -> None:
    """Apply PLAYWRIGHT_DEFAULTS where neither the command line nor PYTEST_ADDOPTS set the option."""
    given = [*config.invocation_params.args, *os.environ.get("PYTEST_ADDOPTS", "").split()]
    for option, value in PLAYWRIGHT_DEFAULTS.items():
        if not any(str(arg).split("=")[0] == option for arg in given):
            setattr(config.option, option.lstrip("-"), value)


def missing_tools_line() -> str:
    left_out = ", ".join(f"tests/{test}" for test in LEFT_OUT)
    return (f"Test tools missing ({', '.join(MISSING_TOOLS)})" + (f": {left_out} not run" if left_out else "")
            + f"; install them with `{INSTALL_DEV_TOOLS}`.")


def pytest_terminal_summary(terminalreporter):
    """The one line a run without the dev tools prints: what is missing, what was left out, how to install."""
    if MISSING_TOOLS:
        terminalreporter.write_line(missing_tools_line(), yellow=True, bold=True)
