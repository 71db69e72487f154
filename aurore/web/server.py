"""Start the app: `python app.py [--host H] [--port P] [--token T] [--public]`.

Served by waitress, a production WSGI server, in every mode. By default the
workshop listens on 127.0.0.1 only; `--public` serves the writers' page, the
API and static files on every interface, without the workshop's code-running
endpoints.
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
    parser.add_argument("--threads", type=int, default=16, help="worker threads (16)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    host = args.host or ("0.0.0.0" if args.public else "127.0.0.1")
    token = secrets.token_urlsafe(24) if args.token == "auto" else args.token
    app = create_app({"PUBLIC": args.public, "ACCESS_TOKEN": token})
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{args.port}/" + ("generate" if args.public else "")
    if token:
        url += f"?token={token}"
    print(f"Aurore is running: open {url}  (Ctrl+C to stop)", flush=True)

    import waitress

    waitress.serve(app, host=host, port=args.port, threads=args.threads, channel_timeout=600,
                   ident="aurore", _quiet=True)
    return 0
