"""TensorFlow's start-up noise stays out of the learner's terminal."""

import os
import subprocess
import sys

from aurore import paths

CODE = "import aurore, tensorflow as tf; print(tf.constant(2) * 21)"


def _run(env_extra):
    env = {key: value for key, value in os.environ.items() if key != "AURORE_TF_LOGS"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", CODE], cwd=paths.ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_importing_tensorflow_through_aurore_prints_no_log_noise():
    done = _run({})
    assert done.returncode == 0, done.stderr
    assert "42" in done.stdout
    assert "absl::InitializeLog" not in done.stderr and "I0000" not in done.stderr, done.stderr


def test_logs_come_back_on_request():
    done = _run({"AURORE_TF_LOGS": "1"})
    assert done.returncode == 0
    assert "absl::InitializeLog" in done.stderr or "I0000" in done.stderr
