"""Start the app: `python app.py [--host H] [--port P] [--token T] [--public] [--proxy N]`.

Served by waitress, a production WSGI server, in every mode. By default the
workshop listens on 127.0.0.1 only; `--public` serves the writers' page, the
API and static files on every interface, without the workshop's code-running
endpoints, and with per-client limits (`--rate-limit`, requests in flight).
Listening beyond loopback without `--public` needs an access token (one is
made when none is given). Generation options: `--queue` (requests admitted
at once, more get 429), `--max-batch`, `--batching static` (the former
scheduler; continuous by default), `--sampler exercise` (exercise 4's NumPy
code chooses the tokens, not the compiled sampler), `--no-batching` (one request
at a time: the load benchmark's baseline), `--max-new-tokens`. Behind a reverse proxy,
`--proxy N` (N proxies in front) makes the app believe their X-Forwarded-For,
-Proto and -Host headers, and no more than theirs. See docs/security.md.
"""

from __future__ import annotations

import argparse
import secrets

from aurore.generation import sampling
from aurore.web import create_app
from aurore.web.security import is_loopback_name
from aurore.web.writers import api_params, generation_service, model_pool

#: Seconds a connection may stay silent (no byte either way) before it is closed: slow or idle clients.
CHANNEL_TIMEOUT = 30
#: How often waitress looks for such connections.
CLEANUP_INTERVAL = 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python app.py", description="Serve the Aurore workshop.")
    parser.add_argument("--host", default=None,
                        help="interface to listen on (127.0.0.1; 0.0.0.0 with --public, unless behind --proxy)")
    parser.add_argument("--port", type=int, default=5000, help="port (5000)")
    parser.add_argument("--token", default=None,
                        help="access token that every client must present (use --token auto to generate "
                             "one; made automatically when listening beyond loopback without --public)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a Host name the server answers to besides localhost, 127.0.0.1 and [::1] "
                             "(its public name behind a proxy; repeatable)")
    parser.add_argument("--proxy", type=int, default=0, metavar="N",
                        help="behind N reverse proxies: the client's address, scheme and Host come from the "
                             "last N values of their X-Forwarded-For/-Proto/-Host headers (0: those headers "
                             "are ignored, as anyone can send them)")
    parser.add_argument("--public", action="store_true",
                        help="serve only the writers' page, the API and static files, on all interfaces")
    parser.add_argument("--threads", type=int, default=48,
                        help="worker threads (48: each streaming client holds one while it reads)")
    parser.add_argument("--queue", type=int, default=generation_service.MAX_QUEUE,
                        help=f"generation requests admitted at once; more are answered 429 ({generation_service.MAX_QUEUE})")
    parser.add_argument("--max-batch", type=int, default=generation_service.MAX_BATCH,
                        help=f"requests generated together ({generation_service.MAX_BATCH})")
    parser.add_argument("--batching", choices=(generation_service.CONTINUOUS, generation_service.STATIC),
                        default=generation_service.CONTINUOUS,
                        help="continuous: requests join and leave the running batch at every step (default); "
                             "static: a batch runs until its last row ends")
    parser.add_argument("--sampler", choices=("compiled", "exercise"), default="compiled",
                        help="who chooses the tokens with continuous batching: the compiled step, all rows at "
                             "once (default), or exercise 4's code, row by row")
    parser.add_argument("--no-batching", action="store_true",
                        help="generate one request at a time (the load benchmark's baseline)")
    parser.add_argument("--rate-limit", type=float, default=None, metavar="PER_MINUTE",
                        help="generation requests per minute per client address "
                             "(default: 30 with --public, none otherwise; 0: none)")
    parser.add_argument("--max-in-flight", type=int, default=8, metavar="N",
                        help="with --public: requests one client address may have running at once (8; 0: no limit)")
    parser.add_argument("--max-new-tokens", type=int, default=sampling.MAX_NEW_TOKENS,
                        help=f"most tokens one request may ask for, at most {sampling.MAX_NEW_TOKENS} "
                             f"({sampling.MAX_NEW_TOKENS})")
    return parser


def generation_config(args) -> dict:
    """App settings of the generation API from the command line."""
    config = {"GENERATION_QUEUE": args.queue, "GENERATION_MAX_BATCH": args.max_batch,
              "GENERATION_BATCHING": False if args.no_batching else (True if args.batching == "continuous" else "static"),
              "GENERATION_SAMPLER": args.sampler, "GENERATION_MAX_NEW_TOKENS": args.max_new_tokens}
    if args.public:
        config["MAX_IN_FLIGHT_PER_CLIENT"] = args.max_in_flight or None
    if args.rate_limit is not None:
        config["RATE_LIMIT_PER_MINUTE"] = args.rate_limit or None
    return config


def waitress_options(threads: int, *, body_bytes: int = api_params.MAX_BODY_BYTES, channel_timeout: int = CHANNEL_TIMEOUT,
                     cleanup_interval: int = CLEANUP_INTERVAL, proxy_hops: int = 0) -> dict:
    """How waitress serves Aurore (shared with the tests' live servers).

    channel_request_lookahead keeps reading a connection while its request
    runs, so that a client who hangs up is noticed (the generation API frees
    its place in the queue at once). A connection silent for channel_timeout
    seconds is closed (a slow or stalled client holds no place for long; a
    running request, a stream included, is never cut). Bodies: twice the
    app's limit, so that a body a little too large still gets the API's JSON
    413, and a huge one is refused at once, never spooled to disk. waitress
    drops X-Forwarded-* headers unless told otherwise: behind proxies
    (`proxy_hops`) they are kept for the app's ProxyFix, which believes only
    the last `proxy_hops` values.
    """
    return {"threads": threads, "channel_timeout": channel_timeout, "cleanup_interval": cleanup_interval,
            "ident": "aurore", "channel_request_lookahead": 1, "max_request_body_size": 2 * body_bytes,
            "max_request_header_size": 64 * 1024, "clear_untrusted_proxy_headers": not proxy_hops}


def preload(app) -> None:
    """Load the default model and compile its shapes in the background: the server answers at once."""
    import threading

    def load():
        try:
            model_pool.pool(app).preload()
        except Exception as error:  # a broken model: requests will get the explanation
            print(f"Aurore: the model could not be preloaded ({error}).", flush=True)

    threading.Thread(target=load, name="aurore-preload", daemon=True).start()


def default_host(args) -> str:
    """Every interface in public mode, else loopback; loopback behind proxies too.

    Behind proxies, clients must reach the app only through them: one reaching
    it directly could name itself in X-Forwarded-For.
    """
    return "0.0.0.0" if args.public and not args.proxy else "127.0.0.1"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.max_new_tokens <= sampling.MAX_NEW_TOKENS:
        parser.error(f"--max-new-tokens must be from 1 to {sampling.MAX_NEW_TOKENS} (a server may lower the "
                     f"limit, not raise it), not {args.max_new_tokens}.")
    if args.proxy < 0:
        parser.error(f"--proxy is a number of proxies (0 or more), not {args.proxy}.")
    host = args.host or default_host(args)
    beyond_loopback = not is_loopback_name(host.lower())
    if args.public:
        token = None       # nothing in public mode needs one: the workshop is not served
    elif args.token == "auto" or (beyond_loopback and not args.token):
        token = secrets.token_urlsafe(24)
    else:
        token = args.token
    app = create_app({"PUBLIC": args.public, "ACCESS_TOKEN": token, "BIND_HOST": host,
                      "ALLOWED_HOSTS": tuple(args.allowed_host), "PROXY_HOPS": args.proxy,
                      **generation_config(args)})
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{args.port}/" + ("generate" if args.public else "")
    if token:
        url += f"?token={token}"
    print(f"Aurore is running: open {url}  (Ctrl+C to stop)", flush=True)

    import waitress

    preload(app)
    waitress.serve(app, host=host, port=args.port, _quiet=True,
                   **waitress_options(args.threads, body_bytes=app.config["MAX_CONTENT_LENGTH"], proxy_hops=args.proxy))
    return 0
