"""Distributed training: strategy selection, errors, and equal losses on CPU.

TensorFlow fixes its devices when it starts, so each training run happens in
a fresh process: this file doubles as the worker script (run as
`python tests/test_distribute.py worker …`). Every run trains the same tiny
GPT-2 from the same seed on the same batches; synchronous data parallelism
must then give the single-device losses, up to float rounding.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from aurore.errors import AuroreError
from aurore.training import distribute

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
#: Losses may differ only by float rounding (summation order across replicas).
TOLERANCE = 1e-4
GLOBAL_BATCH = 8
STEPS = 3
WORKER_SECONDS = 240


# --------------------------------------------------------------------- worker

def _train(strategy_name: str, logical_cpus: int, out: str) -> None:
    """Train the tiny model for STEPS batches and write the losses to `out`."""
    import aurore  # noqa: F401
    import tensorflow as tf

    if logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    strategy = distribute.get_strategy(strategy_name)

    import keras
    import keras_hub
    import numpy as np

    keras.utils.set_random_seed(1234)
    tokens = np.random.default_rng(0).integers(1, 64, size=(GLOBAL_BATCH * STEPS, 9)).astype("int32")
    features = {"token_ids": tokens[:, :-1], "padding_mask": np.ones_like(tokens[:, :-1], dtype=bool)}
    dataset = tf.data.Dataset.from_tensor_slices((features, tokens[:, 1:])).batch(GLOBAL_BATCH)

    with strategy.scope():
        backbone = keras_hub.models.GPT2Backbone(
            vocabulary_size=64, num_layers=1, num_heads=2, hidden_dim=16,
            intermediate_dim=32, max_sequence_length=16, dropout=0.0)
        model = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
        model.compile(optimizer=keras.optimizers.Adam(1e-2),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=False)
    losses: list[float] = []
    callback = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: losses.append(float(logs["loss"])))
    model.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=[callback])
    final = float(model.evaluate(dataset, verbose=0, return_dict=True)["loss"])
    Path(out).write_text(json.dumps({"replicas": strategy.num_replicas_in_sync,
                                     "losses": losses, "final": final}))


def _run_worker(strategy: str, out: Path, logical_cpus: int = 1, env: dict | None = None):
    return subprocess.Popen(
        [sys.executable, str(HERE), "worker", strategy, str(logical_cpus), str(out)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait(processes) -> None:
    try:
        outputs = [p.communicate(timeout=WORKER_SECONDS)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, output in zip(processes, outputs):
        assert p.returncode == 0, f"worker failed (exit {p.returncode}):\n{output[-4000:]}"


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "result.json"
    _wait([_run_worker("default", out)])
    return json.loads(out.read_text())


def _assert_same_losses(result: dict, reference: dict) -> None:
    assert len(result["losses"]) == len(reference["losses"]) == STEPS
    for got, expected in zip(result["losses"] + [result["final"]], reference["losses"] + [reference["final"]]):
        assert got == pytest.approx(expected, rel=TOLERANCE), (result, reference)


# ---------------------------------------------------------------------- tests

def test_single_device_training_learns(single_device):
    assert single_device["replicas"] == 1
    assert single_device["final"] < single_device["losses"][0]


@pytest.mark.slow
@pytest.mark.timeout(900)               # two trainings of up to WORKER_SECONDS each
def test_mirrored_on_two_cpu_devices_matches_single_device(tmp_path, single_device):
    out = tmp_path / "mirrored.json"
    _wait([_run_worker("mirrored", out, logical_cpus=2)])
    result = json.loads(out.read_text())
    assert result["replicas"] == 2
    _assert_same_losses(result, single_device)


def _train_command(data: Path, model_dir: Path, strategy: str, env: dict | None = None):
    command = [sys.executable, "-m", "aurore", "train", "--preset", "tiny", "--strategy", strategy,
               "--data", str(data / "dataset"), "--tokenizer", str(data / "tokenizer"), "--model", str(model_dir)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "AURORE_PROGRESS": "json", **(env or {})})


def _val_losses(model_dir: Path) -> list[float]:
    lines = (model_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["val_loss"] for line in lines if line.strip()]


@pytest.mark.slow
@pytest.mark.timeout(900)               # two trainings of up to WORKER_SECONDS each
def test_train_command_on_two_workers_matches_one_device(tmp_path):
    """The real deliverable: `python -m aurore train --strategy multiworker` on two processes."""
    from aurore.corpus import tokenization
    from aurore.store import modeldir
    from tiny_sand import TRAIN, make_dataset

    make_dataset(tmp_path / "dataset", repeat=3)
    modeldir.save_tokenizer(tokenization.byte_level_bpe(TRAIN, 400), tmp_path / "tokenizer")
    _wait([_train_command(tmp_path, tmp_path / "single", "default")])
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    # Two "machines" sharing one file system and one --model folder: the chief
    # writes the model, the other worker writes beside it, never into it.
    _wait([_train_command(tmp_path, tmp_path / "multi", "multiworker", env={
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}) for i in range(2)])
    reference = _val_losses(tmp_path / "single")
    assert len(reference) >= 2
    for folder in (tmp_path / "multi", tmp_path / "multi.worker-1"):
        assert modeldir.is_model_dir(folder)
        assert _val_losses(folder) == pytest.approx(reference, rel=TOLERANCE)


def test_unknown_strategy_is_refused():
    with pytest.raises(AuroreError, match="mirrored"):
        distribute.get_strategy("tpu-pod")


@pytest.mark.parametrize("tf_config, message", [
    (None, "needs the TF_CONFIG"),
    ("{not json", "not valid JSON"),
    ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
    ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}}', '"task"'),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}', "out of range"),
    ('{"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "ps", "index": 0}}', "not in the cluster"),
])
def test_bad_tf_config_is_explained(monkeypatch, tf_config, message):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(AuroreError, match=message):
        distribute.get_strategy("multiworker")


def test_only_the_chief_saves():
    cluster = {"worker": ["a:1", "b:2"]}
    as_worker = lambda i: {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
    assert distribute.is_chief({}) is True
    assert distribute.is_chief(as_worker(0)) is True
    assert distribute.is_chief(as_worker(1)) is False
    with_chief = {"TF_CONFIG": json.dumps({"cluster": {**cluster, "chief": ["c:3"]},
                                           "task": {"type": "worker", "index": 0}})}
    assert distribute.is_chief(with_chief) is False


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    _train(sys.argv[2], int(sys.argv[3]), sys.argv[4])
