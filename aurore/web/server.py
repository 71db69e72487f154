"""Start the app: `python app.py [--host H] [--port P] [--token T] [--public] [--proxy N]`.

Served by waitress, a production WSGI server, in every mode. By default the
workshop listens on 127.0.0.1 only; `--public` serves the writers' page, the
API and static files on every interface, without the workshop's code-running
endpoints, and with per-client limits (`--rate-limit`, requests in flight).
Listening beyond loopback without `--public` needs an access token (one is
made when none is given). Generation options: `--queue` (requests admitted
at once, more get 429), `--max-batch`, `--batching static` (the former
scheduler; continuous by default), `--sampler exercise` (exercise 6's NumPy
code chooses the tokens, not the compiled sampler), `--no-batching` (one request
at a time: the load benchmark's baseline), `--max-new-tokens`. Behind a reverse proxy,
`--proxy N` (N proxies in front) makes the app believe their X-Forwarded-For,
-Proto and -Host headers, and no more than theirs. See docs/security.md.
"""

from __future__ import annotations

import argparse
import errno
import os
import secrets
import signal
import sys
from pathlib import Path

from waitress.channel import HTTPChannel

from aurore import paths
from aurore.course.checks import running_app
from aurore.generation import sampling
from aurore.store import atomic
from aurore.web import create_app
from aurore.web.security import is_loopback_name
from aurore.web.writers import api_params, generation_service, model_pool

#: Seconds a connection may stay silent (no byte either way) before it is closed: slow or idle clients.
CHANNEL_TIMEOUT = 30
#: How often waitress looks for such connections.
CLEANUP_INTERVAL = 5
#: Connections open at once, all clients together (waitress's connection_limit; its default is 100).
CONNECTION_LIMIT = 1000
#: In public mode, connections one client address may hold open at once (`--max-connections`).
CONNECTIONS_PER_ADDRESS = 20
#: Where the token may come from besides --token (which every local user sees in `ps`).
TOKEN_ENV = "AURORE_TOKEN"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python app.py", description="Serve the Aurore workshop.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="environment (read by the app and by the steps it runs from the Runs page):\n"
               "  AURORE_DATA       data folder: dataset, models, jobs, progress (./data)\n"
               "  AURORE_EXERCISES  the learner's exercise files (./exercises)\n"
               "  AURORE_SOURCE     a folder of raw books <id>.txt that `prepare` reads instead of downloading\n"
               "                    (offline rooms; such books are not copied to the cache)\n"
               "  AURORE_MIRROR     a Project Gutenberg mirror URL to download the books from\n"
               "  AURORE_CACHE      the downloaded books' cache (AURORE_DATA/cache/books)")
    parser.add_argument("--host", default=None,
                        help="interface to listen on (127.0.0.1; 0.0.0.0 with --public, unless behind --proxy)")
    parser.add_argument("--port", type=int, default=5000, help="port (5000)")
    parser.add_argument("--token", default=None,
                        help="access token that every client must present (use --token auto to generate "
                             "one; made automatically when listening beyond loopback without --public). "
                             f"A token given here shows in `ps` to every local user: prefer --token-file or "
                             f"${TOKEN_ENV}")
    parser.add_argument("--token-file", default=None, metavar="PATH",
                        help=f"read the access token from this file (its first line); ${TOKEN_ENV} is read too "
                             "when neither option is given")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a Host name the server answers to besides localhost, 127.0.0.1 and [::1] "
                             "(its public name behind a proxy; repeatable)")
    parser.add_argument("--proxy", type=int, default=0, metavar="N",
                        help="behind N reverse proxies: the client's address, scheme and Host come from the "
                             "last N values of their X-Forwarded-For/-Proto/-Host headers (0: those headers "
                             "are ignored, as anyone can send them)")
    parser.add_argument("--public", action="store_true",
                        help="serve only the writers' page, the API and static files, on all interfaces")
    parser.add_argument("--threads", type=int, default=None,
                        help="worker threads (default: --queue + 16: each streaming client holds one while it "
                             "reads, and pages need a few more)")
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
                             "once (default), or exercise 6's code, row by row")
    parser.add_argument("--tf-threads", type=int, default=0, metavar="N",
                        help="TensorFlow's threads in this process (0: TensorFlow's choice, one a core; 1 leaves "
                             "the other cores to the clients' threads: see docs/benchmarks.md, Load)")
    parser.add_argument("--no-batching", action="store_true",
                        help="generate one request at a time (the load benchmark's baseline)")
    parser.add_argument("--rate-limit", type=float, default=None, metavar="PER_MINUTE",
                        help="generation requests per minute per client address "
                             "(default: 30 with --public, none otherwise; 0: none)")
    parser.add_argument("--max-in-flight", type=int, default=8, metavar="N",
                        help="with --public: requests one client address may have running at once (8; 0: no limit)")
    parser.add_argument("--max-connections", type=int, default=CONNECTIONS_PER_ADDRESS, metavar="N",
                        help=f"with --public and without --proxy: connections one client address may hold open at "
                             f"once; more are closed at once ({CONNECTIONS_PER_ADDRESS}; 0: no limit; "
                             f"{CONNECTION_LIMIT} in all)")
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
            "max_request_header_size": 64 * 1024, "clear_untrusted_proxy_headers": not proxy_hops,
            "connection_limit": CONNECTION_LIMIT, "asyncore_use_poll": True}


class AddressLimitedChannel(HTTPChannel):
    """waitress's connection, closed at once when its client address already holds `server.per_address` others.

    Against a slow client holding every connection (slowloris): one sending a
    header line every few seconds is never silent long enough for
    channel_timeout. Counted by the address the connection comes from: behind
    a proxy that is the proxy's, so the limit is then the proxy's job.
    """

    def __init__(self, server, sock, addr, adj, map=None):
        limit = getattr(server, "per_address", 0)
        if limit and addr:
            held = sum(1 for channel in list(server.active_channels.values())
                       if getattr(channel, "addr", None) and channel.addr[0] == addr[0])
            if held >= limit:
                sock.close()
                return
        super().__init__(server, sock, addr, adj, map)


def create_server(app, host: str, port: int, per_address: int = 0, **options):
    """Bind (OSError when the port is taken) and return waitress's server, not yet serving: `.run()`."""
    import waitress

    live = waitress.create_server(app, host=host, port=port, **options)
    if per_address and hasattr(live, "active_channels"):
        live.channel_class, live.per_address = AddressLimitedChannel, per_address
    return live


def bind_error(error: OSError, host: str, port: int) -> str:
    """Why the server cannot listen, in French then English, with what to do."""
    if error.errno == errno.EADDRINUSE:
        return (f"Aurore n'a pas démarré : le port {port} est déjà utilisé (par un autre Aurore ou un autre "
                f"programme). Arrêtez-le, ou choisissez un autre port : python app.py --port {port + 1}\n"
                f"Aurore did not start: port {port} is already in use (by another Aurore or another program). "
                f"Stop it, or choose another port: python app.py --port {port + 1}")
    if error.errno == errno.EACCES:
        return (f"Aurore n'a pas démarré : le port {port} est réservé à l'administrateur. Choisissez un port "
                f"au-dessus de 1023 : python app.py --port 5000\n"
                f"Aurore did not start: port {port} needs administrator rights. Choose a port above 1023: "
                f"python app.py --port 5000")
    return (f"Aurore n'a pas démarré : impossible d'écouter sur {host}:{port} ({error.strerror or error}). "
            f"Vérifiez --host et --port.\n"
            f"Aurore did not start: cannot listen on {host}:{port} ({error.strerror or error}). "
            f"Check --host and --port.")


def read_token(args, parser) -> str | None:
    """The token asked for: --token, else --token-file's first line, else $AURORE_TOKEN (None: none asked for).

    The variable is then removed from this process's environment: the steps
    and checks it starts do not inherit it.
    """
    from_env = os.environ.pop(TOKEN_ENV, None) or None
    if args.token:
        return args.token
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip().splitlines()
        except (OSError, UnicodeDecodeError) as error:
            parser.error(f"--token-file: cannot read {args.token_file} ({error}).")
        if not token or not token[0].strip():
            parser.error(f"--token-file: {args.token_file} is empty: write the token on its first line.")
        return token[0].strip()
    return from_env


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
    if args.max_connections < 0:
        parser.error(f"--max-connections is a number of connections (0: no limit), not {args.max_connections}.")
    if args.tf_threads < 0:
        parser.error(f"--tf-threads is a number of threads (0: TensorFlow's choice), not {args.tf_threads}.")
    if args.tf_threads:
        from aurore.generation.cached_model import limit_threads

        limit_threads(args.tf_threads)          # before anything runs on TensorFlow: the preload comes later
    host = args.host or default_host(args)
    beyond_loopback = not is_loopback_name(host.lower())
    asked = read_token(args, parser)
    if args.public:
        token = None       # nothing in public mode needs one: the workshop is not served
    elif asked == "auto" or (beyond_loopback and not asked):
        token = secrets.token_urlsafe(24)
    else:
        token = asked
    local_key = None if args.public else secrets.token_urlsafe(32)
    app = create_app({"PUBLIC": args.public, "ACCESS_TOKEN": token, "BIND_HOST": host,
                      "ALLOWED_HOSTS": tuple(args.allowed_host), "PROXY_HOPS": args.proxy,
                      "LOCAL_KEY": local_key, **generation_config(args)})
    per_address = args.max_connections if args.public and not args.proxy else 0
    try:            # bind first: nothing says "running" before the port is ours
        live = create_server(app, host, args.port, per_address,
                             **waitress_options(args.threads or args.queue + 16, body_bytes=app.config["MAX_CONTENT_LENGTH"],
                                                proxy_hops=args.proxy))
    except OSError as error:
        print(bind_error(error, host, args.port), file=sys.stderr, flush=True)
        return 1
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{'[' + shown + ']' if ':' in shown else shown}:{live.effective_port}/"
    url = base + ("generate" if args.public else "")
    if token:
        url += f"?token={token}"
    data_dir = app.config["DATA_DIR"]
    if not args.public:
        atomic.remove_stale_parts(paths.exercises_dir())     # left by a writer killed mid-way
    if local_key:
        running_app.announce(data_dir, base, local_key)
    # SIGTERM (docker stop, kill) ends like Ctrl+C: the discovery file is removed on the way out.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Aurore is running: open {url}  (Ctrl+C to stop)", flush=True)
    preload(app)
    try:
        live.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if local_key:
            running_app.withdraw(data_dir)
        live.close()
    return 0
