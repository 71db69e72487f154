"""Training on several devices or machines with TensorFlow's own distribution.

`get_strategy(name)` turns the `--strategy` option into a
`tf.distribute.Strategy`; training builds and fits its model inside
`strategy.scope()` and Keras spreads each batch over the replicas:

- ``default``: one device (the first GPU, or the CPU), no distribution;
- ``mirrored``: every GPU of this machine, synchronous data parallelism
  (with no GPU, every logical CPU device, which tests use to exercise the
  same code path on a laptop);
- ``multiworker``: several machines, each running the same command with its
  own ``TF_CONFIG`` (cluster addresses and this machine's index).

Strategies must be created before TensorFlow runs anything else, so call
`get_strategy` at the very start of training.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aurore import progress
from aurore.errors import AuroreError
from aurore.messages import gettext

STRATEGIES = ("default", "mirrored", "multiworker")

_TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}\''
)


def add_strategy_option(parser) -> None:
    """`--strategy default|mirrored|multiworker` for a command that trains."""
    parser.add_argument(
        "--strategy", choices=STRATEGIES, default="default",
        help="default: one device; mirrored: every GPU of this machine; "
             "multiworker: several machines described by TF_CONFIG")


def read_tf_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The validated TF_CONFIG of this process, or an AuroreError saying what to fix.

    Checked here because TensorFlow's own errors for a bad TF_CONFIG are
    obscure, or arrive minutes later as a hang waiting for a missing worker.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG", "").strip()
    if not raw:
        raise AuroreError(
            "--strategy multiworker needs the TF_CONFIG environment variable on every machine: "
            f"the addresses of all workers and the index of this one, e.g. {_TF_CONFIG_EXAMPLE}. "
            "Use --strategy mirrored for the GPUs of a single machine.")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise AuroreError(f"TF_CONFIG is not valid JSON ({error}). Example: {_TF_CONFIG_EXAMPLE}") from error
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise AuroreError(f'TF_CONFIG needs a "cluster" object. Example: {_TF_CONFIG_EXAMPLE}')
    cluster = config["cluster"]
    for role, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses or not all(
                isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses):
            raise AuroreError(f'TF_CONFIG cluster "{role}" must be a non-empty list of "host:port" '
                              f"addresses, not {addresses!r}.")
    if not cluster.get("worker") and not cluster.get("chief"):
        raise AuroreError(f'TF_CONFIG cluster needs a "worker" list. Example: {_TF_CONFIG_EXAMPLE}')
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise AuroreError('TF_CONFIG needs "task": {"type": "worker", "index": N}, '
                          "N being this machine's position in the worker list (0 on the first).")
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        raise AuroreError(f'TF_CONFIG task type "{kind}" is not in the cluster ({", ".join(cluster)}).')
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cluster[kind]):
        raise AuroreError(f'TF_CONFIG task index {index!r} is out of range: the cluster has '
                          f'{len(cluster[kind])} "{kind}" address(es), numbered from 0.')
    return config


def is_chief(environ: dict[str, str] | None = None) -> bool:
    """Whether this process writes the model: the chief, or worker 0 when there is no chief.

    In multi-worker training every worker runs the same code; only one may
    save the model directory, the others save to a scratch folder.
    """
    environ = os.environ if environ is None else environ
    if not environ.get("TF_CONFIG", "").strip():
        return True
    config = read_tf_config(environ)
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and task["index"] == 0


def get_strategy(name: str | None = "default"):
    """The `tf.distribute.Strategy` named `name` (see the module docstring)."""
    name = (name or "default").strip().lower()
    if name not in STRATEGIES:
        raise AuroreError(f"Unknown strategy {name!r}: use one of {', '.join(STRATEGIES)}.")
    if name == "multiworker":
        read_tf_config()  # clear message before TensorFlow starts its servers

    import aurore  # noqa: F401  (quiet TensorFlow before importing it)
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return _mirrored(tf)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise AuroreError(f"Could not start multi-worker training ({error}). Check TF_CONFIG: every "
                          "address must be reachable from every machine, and this machine's port free.") from error
    _patch_keras_distributed_fit()
    task = read_tf_config()["task"]
    progress.log(gettext("Multi-worker training: %(type)s %(index)s, %(replicas)s replicas in all; waiting for every "
                         "worker to join.", type=task["type"], index=task["index"],
                         replicas=strategy.num_replicas_in_sync))
    return strategy


def _mirrored(tf):
    gpus = tf.config.list_logical_devices("GPU")
    devices = [device.name for device in (gpus or tf.config.list_logical_devices("CPU"))]
    # NCCL needs GPUs; on CPUs, reducing through one device works everywhere.
    cross_device_ops = None if gpus else tf.distribute.ReductionToOneDevice()
    strategy = tf.distribute.MirroredStrategy(devices=devices, cross_device_ops=cross_device_ops)
    _patch_keras_distributed_fit()
    where = (gettext("%(count)s GPU(s)", count=len(devices)) if gpus
             else gettext("%(count)s CPU device(s), no GPU found", count=len(devices)))
    progress.log(gettext("Mirrored training on %(where)s: %(devices)s.", where=where, devices=", ".join(devices)))
    return strategy


def _patch_keras_distributed_fit() -> None:
    """Work around three Keras 3 bugs in `fit` under a tf.distribute strategy.

    Before the first step, Keras builds the model from one batch that it pulls
    from the training iterator and averages across replicas with
    `strategy.reduce` (`TensorFlowTrainer._maybe_symbolic_build`):
    - the pulled batch is never trained on when the iterator lives across
      epochs (`steps_per_epoch`), so distributed runs skip one batch;
    - the average fails on boolean tensors (KerasHub's `padding_mask`);
    - across workers it rejects dictionaries of inputs (keras-team/keras#20329).
    Building only needs shapes and dtypes: this variant builds from the
    dataset's `element_spec`, pulling nothing.

    After each step, Keras averages the loss with `strategy.reduce("MEAN",
    value, axis=0)`, which fails on a scalar across workers
    (keras-team/keras#20585): scalars are averaged with axis=None instead.

    Both replacements fall back to Keras's own code outside these cases, and
    nothing is patched if a future Keras lacks the private names.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    cls = trainer.TensorFlowTrainer
    original_build = getattr(cls, "_maybe_symbolic_build", None)
    original_reduce = getattr(trainer, "reduce_per_replica", None)
    if original_build is None or original_reduce is None or getattr(original_build, "_aurore", False):
        return

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = getattr(self, "_distribute_strategy", None)
        adapter = getattr(iterator, "data_adapter", None)
        spec = None
        if strategy is not None and adapter is not None:
            dataset = adapter.get_tf_dataset()
            spec = getattr(dataset, "element_spec", None)
            if isinstance(dataset, tf.distribute.DistributedDataset) or not all(
                    isinstance(s, tf.TensorSpec) for s in tf.nest.flatten(spec)):
                spec = None
        if spec is None:
            return original_build(self, iterator=iterator, data_batch=data_batch)
        with strategy.scope():
            self._symbolic_build(data_batch=spec)

    def reduce_per_replica(values, strategy, reduction):
        if not (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
                and reduction in ("auto", "mean")):
            return original_reduce(values, strategy, reduction)

        def reduce(value):
            local = value.values[0] if isinstance(value, tf.distribute.DistributedValues) else value
            if getattr(local, "shape", None) is not None and local.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original_reduce(value, strategy, reduction)

        return tf.nest.map_structure(reduce, values)

    _maybe_symbolic_build._aurore = True
    cls._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
