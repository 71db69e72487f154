# syntax=docker/dockerfile:1
# Aurore: the workshop app, the exercises and their solutions, on TensorFlow with GPU support.
#   docker build -t aurore .
#   docker run --gpus all -p 5000:5000 -v aurore-data:/data -v aurore-exercises:/workspace/exercises aurore
# See docs/instructor.md.

# The official TensorFlow GPU image of exactly the TensorFlow that requirements.txt pins
# (2.21.0): pinned by tag, never `latest-gpu`, so that a rebuild gets the same TensorFlow.
# Known problem with this family of tags: since 2.18 the official `-gpu` images ship
# cuDNN 8.9 while TensorFlow is built against cuDNN 9, and TensorFlow then silently
# runs on the CPU ("Cannot dlopen some GPU libraries... Skipping registering GPU
# devices"): tensorflow/tensorflow#62412, tensorflow/build#221, tensorflow/tensorflow#94593
# (reports say 2.17.0-gpu was the last tag that worked as is). An older tag would mean
# another TensorFlow than the project pins, so we keep 2.21.0-gpu and apply the fix
# TensorFlow documents for pip installs: its `and-cuda` extra, NVIDIA's CUDA 12 and
# cuDNN 9 wheels, which TensorFlow finds by itself. The build checks that the base
# image's TensorFlow is the pinned one and that pip did not replace it.
FROM tensorflow/tensorflow:2.21.0-gpu

ARG AURORE_UID=1000
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHON=python3 \
    AURORE_APP=/app \
    AURORE_DATA=/data \
    AURORE_EXERCISES=/workspace/exercises \
    AURORE_PORT=5000 \
    AURORE_HOST=0.0.0.0

WORKDIR /app

# Dependencies first (cached layer): the README's pinned requirements.txt, with the
# image's TensorFlow held in place by a constraint (pytest, for `check N`, is in it).
COPY requirements.txt /app/
RUN set -eux; \
    pinned="$(grep -E '^tensorflow==' requirements.txt)"; \
    python3 -c 'import sys, tensorflow as tf; want = sys.argv[1].split("==")[1]; \
sys.exit(0 if tf.__version__ == want else f"base image TensorFlow {tf.__version__} != requirements.txt {want}")' "$pinned"; \
    echo "$pinned" > /tmp/constraints.txt; \
    python3 -m pip install -c /tmp/constraints.txt -r requirements.txt \
        "tensorflow[and-cuda]==${pinned#tensorflow==}"; \
    python3 -c 'import sys, tensorflow as tf; want = sys.argv[1].split("==")[1]; \
sys.exit(0 if tf.__version__ == want else f"pip replaced TensorFlow: {tf.__version__}")' "$pinned"; \
    rm /tmp/constraints.txt

# A non-root user owns the data and the learner's exercises; the code stays root's.
RUN groupadd --non-unique --gid "${AURORE_UID}" aurore \
 && useradd --non-unique --uid "${AURORE_UID}" --gid "${AURORE_UID}" --create-home --shell /bin/bash aurore \
 && mkdir -p /data /workspace/exercises \
 && chown aurore:aurore /data /workspace/exercises

COPY . /app
RUN chmod 0755 /app/docker/entrypoint.sh \
 && python3 -m compileall -q /app/aurore /app/solutions

USER aurore
VOLUME ["/data", "/workspace/exercises"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
    CMD ["/app/docker/entrypoint.sh", "health"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["serve"]
