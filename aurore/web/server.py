"""Start the app: `python app.py [--host H] [--port P] [--token T] [--public]`.

Served by waitress, a production WSGI server, in every mode. By default the
workshop listens on 127.0.0.1 only; `--public` serves the writers' page, the
API and static files on every interface, without the workshop's code-running
endpoints, and with a per-client rate limit on generation (`--rate-limit`).
Generation options: `--queue` (requests admitted at once, more get 429),
`--max-batch`, `--no-batching` (one request at a time: the load benchmark's
baseline).
"""

from __future__ import annotations

import argparse
import secrets

from aurore.web import create_app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python app.py", description="Serve the Aurore workshop.")
    parser.add_argument("--host", default=None, help="interface to listen on (127.0.0.1; 0.0.0.0 with --public)")
    parser.add_argument("--port", type=int, default=5000, help="port (5000)")
    parser.add_argument("--token", default=None,
                        help="access token that clients other than this machine must present "
                             "(use --token auto to generate one)")
    parser.add_argument("--public", action="store_true",
                        help="serve only the writers' page, the API and static files, on all interfaces")
    parser.add_argument("--threads", type=int, default=48,
                        help="worker threads (48: each streaming client holds one while it reads)")
    parser.add_argument("--queue", type=int, default=32,
                        help="generation requests admitted at once; more are answered 429 (32)")
    parser.add_argument("--max-batch", type=int, default=16, help="requests generated together (16)")
    parser.add_argument("--no-batching", action="store_true",
                        help="generate one request at a time (the load benchmark's baseline)")
    parser.add_argument("--rate-limit", type=float, default=None, metavar="PER_MINUTE",
                        help="generation requests per minute per client address "
                             "(default: 30 with --public, none otherwise; 0: none)")
    return parser


def generation_config(args) -> dict:
    """App settings of the generation API from the command line."""
    config = {"GENERATION_QUEUE": args.queue, "GENERATION_MAX_BATCH": args.max_batch,
              "GENERATION_BATCHING": not args.no_batching}
    if args.rate_limit is not None:
        config["RATE_LIMIT_PER_MINUTE"] = args.rate_limit or None
    return config


def waitress_options(threads: int) -> dict:
    """How waitress serves Aurore (shared with the tests' live servers).

    channel_request_lookahead keeps reading a connection while its request
    runs, so that a client who hangs up is noticed (the generation API frees
    its place in the queue at once).
    """
    return {"threads": threads, "channel_timeout": 600, "ident": "aurore", "channel_request_lookahead": 1}


def preload(app) -> None:
    """Load the default model and compile its shapes in the background: the server answers at once."""
    import threading

    def load():
        try:
            app.extensions["aurore_generation"].preload()
        except Exception as error:  # a broken model: requests will get the explanation
            print(f"Aurore: the model could not be preloaded ({error}).", flush=True)

    threading.Thread(target=load, name="aurore-preload", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    host = args.host or ("0.0.0.0" if args.public else "127.0.0.1")
    token = secrets.token_urlsafe(24) if args.token == "auto" else args.token
    app = create_app({"PUBLIC": args.public, "ACCESS_TOKEN": token, **generation_config(args)})
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{args.port}/" + ("generate" if args.public else "")
    if token:
        url += f"?token={token}"
    print(f"Aurore is running: open {url}  (Ctrl+C to stop)", flush=True)

    import waitress

    preload(app)
    waitress.serve(app, host=host, port=args.port, _quiet=True, **waitress_options(args.threads))
    return 0
