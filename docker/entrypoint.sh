#!/usr/bin/env bash
# Entry point of the Aurore image: the first word says what the container does.
# Plain bash, so that it can be tried outside Docker too: docker/entrypoint.sh help
set -euo pipefail

APP_DIR="${AURORE_APP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
PYTHON="${PYTHON:-python3}"
PORT="${AURORE_PORT:-5000}"
HOST="${AURORE_HOST:-0.0.0.0}"

usage() {
    cat <<USAGE
Aurore (docker image) — usage: docker run [options] aurore COMMAND [ARGS...]

  serve [--public]   the workshop on port ${PORT} (default command); the access token is
                     \$AURORE_TOKEN, or generated and printed in the URL when unset.
                     --public: only the writers' page and the API, no token.
  solution N [ARGS]  run step N with the reference solution  (python -m aurore STEP --use solution)
  exercise N [ARGS]  run step N with the learner's code       (python -m aurore STEP --use exercise)
  check N [ARGS]     run exercise N's checks on the learner's code (python -m aurore check N)
  pipeline [ARGS]    every step in a row                      (python -m aurore pipeline)
  aurore ARGS        any other command, e.g. aurore train --preset gpu --strategy mirrored
  health             exit 0 when the web app answers on /health (used by HEALTHCHECK)
  shell              a bash shell in the container
  help               this text

Volumes: /data (AURORE_DATA: books, dataset, tokenizer, models) and
/workspace/exercises (AURORE_EXERCISES: the learner's exercise files).
USAGE
}

# Run the command, or with AURORE_DRY_RUN=1 print it one argument per line (tests).
run() {
    if [[ -n "${AURORE_DRY_RUN:-}" ]]; then
        printf '%s\n' "$@"
        exit 0
    fi
    cd "$APP_DIR"
    exec "$@"
}

# A fresh exercises volume gets the stubs; a learner's files are never overwritten.
seed_exercises() {
    local target="${AURORE_EXERCISES:-}"
    [[ -n "$target" && "$target" != "$APP_DIR/exercises" ]] || return 0
    mkdir -p "$target"
    local stub
    for stub in "$APP_DIR"/exercises/*.py; do
        [[ -e "$stub" ]] || continue
        [[ -e "$target/$(basename "$stub")" ]] || cp "$stub" "$target/"
    done
}

# The pipeline step that exercise N teaches (prepare, tokenizer, train, generate, evaluate).
step_of() {
    (cd "$APP_DIR" && "$PYTHON" -c '
import sys
from aurore.course import exercises
from aurore.errors import AuroreError
try:
    print(exercises.get(sys.argv[1]).step)
except AuroreError as error:
    sys.exit(f"aurore: error: {error}")
' "$1")
}

need_number() {
    if [[ $# -lt 1 || -z "$1" ]]; then
        echo "aurore: error: give an exercise number, e.g. '$command 1'." >&2
        exit 2
    fi
}

command="${1:-serve}"
[[ $# -gt 0 ]] && shift

case "$command" in
    serve)
        seed_exercises
        if [[ " $* " == *" --public "* ]]; then
            run "$PYTHON" app.py --host "$HOST" --port "$PORT" "$@"
        fi
        # The app reads $AURORE_TOKEN itself: a token on the command line would show in `ps`.
        if [[ -n "${AURORE_TOKEN:-}" ]]; then
            run "$PYTHON" app.py --host "$HOST" --port "$PORT" "$@"
        fi
        run "$PYTHON" app.py --host "$HOST" --port "$PORT" --token auto "$@"
        ;;
    solution|exercise)
        need_number "$@"
        seed_exercises
        step="$(step_of "$1")" || exit 2
        shift
        run "$PYTHON" -m aurore "$step" --use "$command" "$@"
        ;;
    check)
        need_number "$@"
        seed_exercises
        run "$PYTHON" -m aurore check "$@"
        ;;
    pipeline)
        seed_exercises
        run "$PYTHON" -m aurore pipeline "$@"
        ;;
    aurore)
        seed_exercises
        run "$PYTHON" -m aurore "$@"
        ;;
    health)
        run "$PYTHON" -c '
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception as error:
    sys.exit(f"unhealthy: {error}")
' "$PORT"
        ;;
    shell)
        run bash "$@"
        ;;
    help|-h|--help)
        usage
        ;;
    *)
        echo "aurore: unknown command '$command'." >&2
        usage >&2
        exit 2
        ;;
esac
