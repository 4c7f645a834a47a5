"""The `hub` command: `hub serve` runs the server; `hub create` makes a session."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from aiohttp import web

from . import logs
from .app import create_app
from .config import MEDIA_NAME, Config, WeakSecret
from .datadir import secure_data_dir
from .domain import programme
from .errors import HubError
from .log import LogUnavailable, open_log
from .media.process import find_janus, janus_lib_dir, write_config
from .relay import Upstream, add_relay, token_in
from .search import IndexUnavailable, open_index
from .search.indexer import rebuild
from .workers import READY_FD_ENV, WORKER_ENV, Master, parse_workers

log = logging.getLogger("hub")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="run the hub server")
    serve_p.add_argument("--host", help="address to listen on (HUB_HOST, default 127.0.0.1)")
    serve_p.add_argument("--port", type=int, help="port (HUB_PORT, default 8080; 0: any free)")
    serve_p.add_argument("--data", help="state directory (HUB_DATA, default ./hub-data)")
    serve_p.add_argument("--redis", help="Redis URL for several instances (HUB_REDIS_URL)")
    serve_p.add_argument("--redis-prefix", help="Redis key prefix (HUB_REDIS_PREFIX, default hub)")
    serve_p.add_argument("--archive", help="the shared search index, a postgresql:// URL "
                         "(HUB_ARCHIVE_URL; default: SQLite in the data folder)")
    serve_p.add_argument("--public-url", help="how clients reach this hub (HUB_PUBLIC_URL)")
    serve_p.add_argument("--media", help="voice: a Janus HTTP API URL, several as "
                         "name=URL,name=URL, 'auto' (a private Janus when `janus` is on PATH; "
                         "the default) or 'off' (HUB_MEDIA_URL)")
    serve_p.add_argument("--history", type=int,
                         help="events kept per channel in Redis for resumes (HUB_HISTORY, 10000)")
    serve_p.add_argument("--web", help="the pages' folder (HUB_WEB_DIR, default: the hub's own)")
    serve_p.add_argument("--workers", default=os.environ.get("HUB_WORKERS", "1"),
                         help="processes serving the port, on one Redis (HUB_WORKERS, default "
                         "1; 'auto': one per core); without --redis, a private Redis in the "
                         "data folder")
    serve_p.add_argument("--log-level", default=os.environ.get("HUB_LOG_LEVEL", "INFO"))
    serve_p.add_argument("--log-format", choices=["text", "json"],
                         default=os.environ.get("HUB_LOG_FORMAT", "text"),
                         help="json: one object per line, with session and identity fields")
    relay_p = sub.add_parser(
        "relay", help="run a regional hub's relay: the meeting over one link, for the room")
    relay_p.add_argument("--upstream",
                         help="the meeting server's https address, or the hub's link without "
                              "its token (HUB_RELAY_UPSTREAM)")
    relay_p.add_argument("--token-file",
                         help="a file holding the hub's named token, or the hub's whole link "
                              "with #token=... (else HUB_RELAY_TOKEN; never the command line, "
                              "which every user of the machine can read)")
    relay_p.add_argument("--token", help=argparse.SUPPRESS)  # refused: it would show in `ps`
    relay_p.add_argument("--insecure", action="store_true",
                         help="allow an http:// meeting address (a meeting on this machine, "
                              "tests): the token then crosses the network in clear")
    relay_p.add_argument("--host", default=os.environ.get("HUB_HOST", "127.0.0.1"),
                         help="address to listen on (HUB_HOST, default 127.0.0.1: this machine "
                              "only; --host 0.0.0.0 serves the room's devices)")
    relay_p.add_argument("--port", type=int, help="port (HUB_PORT, default 8080; 0: any free)")
    relay_p.add_argument("--data", default=os.environ.get("HUB_DATA", "./relay-data"),
                         help="the relay's state directory (default ./relay-data)")
    relay_p.add_argument("--public-url", help="how the room's devices reach the relay")
    relay_p.add_argument("--web", help="the pages' folder (HUB_WEB_DIR, default: the hub's own)")
    relay_p.add_argument("--log-level", default=os.environ.get("HUB_LOG_LEVEL", "INFO"))
    relay_p.add_argument("--log-format", choices=["text", "json"],
                         default=os.environ.get("HUB_LOG_FORMAT", "text"))
    janus_p = sub.add_parser("media-config", help="write the configuration of a Janus shared "
                             "by the hub's instances (deploy/README.md, \"Voice\")")
    janus_p.add_argument("folder", help="where to write it (e.g. /etc/hub/janus)")
    janus_p.add_argument("--ip", default="127.0.0.1",
                         help="address of its HTTP and WebSocket APIs (default 127.0.0.1)")
    janus_p.add_argument("--admin-ip", default="127.0.0.1",
                         help="address of its admin API (default 127.0.0.1: hub instances on "
                         "this host only)")
    janus_p.add_argument("--rtp-ports", default="20000-20999", help="its RTP/UDP port range")
    janus_p.add_argument("--ice-enforce", default="",
                         help="interfaces or addresses ICE may use (ice_enforce_list)")
    janus_p.add_argument("--lib", help="Janus's plugin folder parent (default: found)")
    janus_p.add_argument("--name", help="this Janus's name when the hub uses several (a "
                         "lowercase letter, then letters, digits or '-'): the settings printed "
                         "are its name=value entries")
    janus_p.add_argument("--ports", default="8088,7088,8188",
                         help="its HTTP API, admin API and WebSocket ports (default "
                         "8088,7088,8188; others for a second Janus on one host)")
    reindex_p = sub.add_parser("reindex", help="rebuild the search index from the event logs "
                               "(stop the hub first when it runs embedded)")
    reindex_p.add_argument("--data", help="state directory (HUB_DATA, default ./hub-data)")
    reindex_p.add_argument("--redis", help="Redis URL (HUB_REDIS_URL)")
    reindex_p.add_argument("--redis-prefix", help="Redis key prefix (HUB_REDIS_PREFIX)")
    reindex_p.add_argument("--archive", help="the search index's postgresql:// URL "
                           "(HUB_ARCHIVE_URL; default: SQLite in the data folder)")
    create = sub.add_parser("create", help="create a session on a running hub, print its links")
    create.add_argument("title")
    create.add_argument("--url", default="http://127.0.0.1:8080", help="the hub's address")
    create.add_argument("--admin-key", default=os.environ.get("HUB_ADMIN_KEY"),
                        required="HUB_ADMIN_KEY" not in os.environ,
                        help="the organizer's key (default: HUB_ADMIN_KEY)")
    create.add_argument("--languages", default="en", help="comma-separated, floor language first")
    create.add_argument("--live", action="store_true", help="start the session live")
    report_p = sub.add_parser("report", help="download a session's report from a running hub")
    report_p.add_argument("session")
    report_p.add_argument("--url", default="http://127.0.0.1:8080", help="the hub's address")
    report_p.add_argument("--admin-key", default=os.environ.get("HUB_ADMIN_KEY"),
                          required="HUB_ADMIN_KEY" not in os.environ,
                          help="the organizer's key (default: HUB_ADMIN_KEY)")
    report_p.add_argument("--format", default="md", choices=["md", "html", "json", "csv"])
    report_p.add_argument("--out", help="write to this file (default: standard output)")
    import_p = sub.add_parser("import", help="import an event's programme (CSV or iCalendar) "
                              "into a running hub, all or nothing")
    import_p.add_argument("file", help="the programme: .csv or .ics")
    import_p.add_argument("--event", required=True, help="the event's id")
    import_p.add_argument("--url", default="http://127.0.0.1:8080", help="the hub's address")
    import_p.add_argument("--admin-key", default=os.environ.get("HUB_ADMIN_KEY"),
                          required="HUB_ADMIN_KEY" not in os.environ,
                          help="the Secretariat's key (default: HUB_ADMIN_KEY)")
    import_p.add_argument("--dry-run", action="store_true",
                          help="check the file and say what would change, change nothing")
    args = parser.parse_args(argv)
    if args.command == "serve":
        logs.configure(args.log_level, args.log_format)
        config = Config.from_env(
            host=args.host, port=args.port, data=args.data, redis_url=args.redis,
            redis_prefix=args.redis_prefix, public_url=args.public_url, web_dir=args.web,
            history=args.history, media=args.media, archive_url=args.archive)
        worker = os.environ.pop(WORKER_ENV, None)
        ready_fd = os.environ.pop(READY_FD_ENV, None)
        if worker is not None and ready_fd is not None:  # a master's worker (hub/workers.py)
            return start(config, "hub", worker=(int(worker), int(ready_fd)))
        return serve_workers(config, args.workers,
                             sys.argv[1:] if argv is None else list(argv))
    if args.command == "reindex":
        logs.configure("INFO", "text")
        config = Config.from_env(data=args.data, redis_url=args.redis,
                                 redis_prefix=args.redis_prefix, archive_url=args.archive)
        return reindex(config)
    if args.command == "relay":
        return run_relay(args)
    if args.command == "report":
        return download_report(args)
    if args.command == "media-config":
        return media_config(args)
    if args.command == "import":
        return import_programme(args)
    return create_session(args)


def media_config(args: argparse.Namespace) -> int:
    """Write a shared Janus's configuration (the private one's, on ports 8088, 7088 and 8188
    unless --ports) and print the hub settings that reach it (`name=` entries with --name);
    the admin secret stays in the folder's `admin-secret` (0600), never printed."""
    if args.name is not None and (not MEDIA_NAME.fullmatch(args.name) or args.name == "info"):
        print(f"hub media-config: --name {args.name!r}: a lowercase letter, then letters, "
              "digits or '-' (at most 32), not 'info'", file=sys.stderr)
        return 2
    try:
        http_port, admin_port, ws_port = (int(p) for p in args.ports.split(","))
        if not all(0 < p < 65536 for p in (http_port, admin_port, ws_port)):
            raise ValueError
    except ValueError:
        print(f"hub media-config: --ports takes three ports, HTTP,ADMIN,WS (8088,7088,8188), "
              f"not {args.ports!r}", file=sys.stderr)
        return 2
    lib = Path(args.lib) if args.lib else None
    if lib is None:
        binary = find_janus()
        lib = janus_lib_dir(binary) if binary else None
    if lib is None:
        print("hub media-config: no Janus found: apt-get install janus janus-tools, or give "
              "--lib", file=sys.stderr)
        return 1
    os.umask(0o077)
    made = write_config(Path(args.folder), lib, rtp_ports=args.rtp_ports,
                        ice_enforce=args.ice_enforce, ports=(http_port, admin_port, ws_port),
                        ip=args.ip, admin_ip=args.admin_ip)
    print(f"wrote {made.folder}; run: janus -F {made.folder} -C {made.folder}/janus.jcfg")
    named = f"{args.name}=" if args.name else ""
    if args.name:
        print(f"hub settings (hub.env) for Janus {args.name!r}: join each variable's entries "
              "of every Janus with commas (deploy/README.md, \"Several Janus\"):")
    else:
        print("hub settings (hub.env):")
    print(f"HUB_MEDIA_URL={named}http://{args.ip}:{http_port}/janus")
    print(f"HUB_MEDIA_ADMIN_URL={named}http://{args.admin_ip}:{admin_port}/admin")
    print(f"HUB_MEDIA_ADMIN_SECRET={named}<the content of {made.folder}/admin-secret>")
    print(f"HUB_MEDIA_RECORDINGS={named}{made.recordings} (where the hub reads it)")
    return 0


def serve_workers(config: Config, workers: str, argv: list[str]) -> int:
    """`hub serve`: one process as always with one worker; a master and its workers
    (hub/workers.py) with more. Exit status 2 for a --workers value that is not one."""
    try:
        count = parse_workers(workers)
    except ValueError as exc:
        print(f"hub serve: {exc}", file=sys.stderr, flush=True)
        return 2
    if count == 1:
        return start(config, "hub")
    problems = config.weak_secrets()
    if problems:
        for problem in problems:
            print(f"hub cannot start: {problem}", file=sys.stderr, flush=True)
        return 2
    return Master(config, count, argv).run()


def start(config: Config, name: str, relay_of: Upstream | None = None,
          worker: tuple[int, int] | None = None) -> int:
    """Check the secrets, make the data folder owner-only, then serve until stopped.
    Exit status 2 when a secret is unfit (nothing is opened then), 1 when storage fails."""
    problems = config.weak_secrets()
    if problems:
        for problem in problems:
            print(f"{name} cannot start: {problem}", file=sys.stderr, flush=True)
        return 2
    for change in secure_data_dir(config.data):
        log.warning("data folder was readable by others, now owner only: %s", change)
    try:
        asyncio.run(serve(config, relay_of, worker))
    except WeakSecret as exc:
        for problem in str(exc).splitlines():
            print(f"{name} cannot start: {problem}", file=sys.stderr, flush=True)
        return 2
    except (LogUnavailable, IndexUnavailable) as exc:
        log.error("%s cannot start: %s", name, exc)
        return 1
    return 0


def reindex(config: Config) -> int:
    """`hub reindex`: every session indexed again from the event logs, sessions no log holds
    any more dropped. Exit status 1 when the log or the index cannot be reached."""
    async def run() -> tuple[int, int]:
        event_log = open_log(config.redis_url, config.data, config.redis_prefix,
                             config.history)
        await event_log.start()
        try:
            index = open_index(config.archive_url, config.data)
            await index.start()
            try:
                return await rebuild(event_log, index)
            finally:
                await index.close()
        finally:
            await event_log.close()

    if not config.redis_url:
        secure_data_dir(config.data)
    try:
        sessions, documents = asyncio.run(run())
    except (LogUnavailable, IndexUnavailable) as exc:
        print(f"hub reindex: {exc}", file=sys.stderr)
        return 1
    where = (logs.redact(config.archive_url) if config.archive_url
             else f"{config.data}/search.sqlite")
    print(f"hub reindex: {documents} documents of {sessions} public sessions in {where}")
    return 0


TOKEN_NOT_HERE = ("the hub's token does not go on the command line (every user of this "
                  "machine can read it in the process list): put it in HUB_RELAY_TOKEN, or "
                  "in a file given with --token-file FILE (the token, or the hub's whole link)")


def run_relay(args: argparse.Namespace) -> int:
    logs.configure(args.log_level, args.log_format)
    if args.token is not None or (args.upstream and token_in(args.upstream)):
        print(f"hub relay: {TOKEN_NOT_HERE}", file=sys.stderr)
        return 2
    token = os.environ.get("HUB_RELAY_TOKEN") or None
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as held:
                token = held.read().strip()
        except OSError as exc:
            print(f"hub relay: cannot read the token file: {exc}", file=sys.stderr)
            return 2
    try:
        upstream = Upstream.parse(args.upstream or os.environ.get("HUB_RELAY_UPSTREAM"), token,
                                  insecure=args.insecure)
    except HubError as exc:
        print(f"hub relay: {exc.message}", file=sys.stderr)
        return 2
    config = Config.from_env(host=args.host, port=args.port, data=args.data,
                             public_url=args.public_url, web_dir=args.web)
    # A relay is one process, embedded; its pages reach the meeting's media server directly.
    config = dataclasses.replace(config, redis_url=None, media="off")
    return start(config, "relay", upstream)


async def serve(config: Config, relay_of: Upstream | None = None,
                worker: tuple[int, int] | None = None) -> None:
    """Run until SIGTERM or SIGINT, then say goodbye to clients and flush.

    `worker`: this process is a master's worker (its number, and the pipe it says it
    listens on): its socket shares the port with the other workers' (SO_REUSEPORT), and
    the master, not the worker, logs `hub ready on`."""
    app = create_app(config)
    relay = None
    if relay_of is not None:
        relay = add_relay(app, relay_of)
    # Request lines up to 32 KiB (aiohttp's default is 8 KiB): a long search query reaches
    # the hub and gets its JSON 400 saying the limit, not the HTTP parser's bare refusal.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0,
                           max_line_size=32768)
    await runner.setup()
    # A join storm (thousands of readers when a session starts) overflows the default
    # backlog of 128: refused SYNs are retried by clients only after a second.
    site = web.TCPSite(runner, config.host, config.port, backlog=4096,
                       reuse_port=worker is not None)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = config.port
    sockets = getattr(site._server, "sockets", None)
    if sockets:  # --port 0: say which port the system chose
        port = sockets[0].getsockname()[1]
    backend = (f"redis {logs.redact(config.redis_url)}" if config.redis_url
               else f"embedded, data {config.data}")
    if relay is not None:
        log.info("%s", relay.describe())
        relay.announce(port)  # the links, with their tokens: terminal and 0600 file only
        asyncio.get_running_loop().create_task(_stop_when(relay.ended, stop))
    if worker is None:
        log.info("hub ready on http://%s:%s (%s)", config.host, port, backend)
    else:
        number, ready_fd = worker
        log.info("hub worker %d (pid %d) listening on http://%s:%s", number, os.getpid(),
                 config.host, port)
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    await stop.wait()
    who = "hub" if worker is None else f"hub worker {worker[0]}"
    log.info("%s stopping: telling clients to reconnect", who)
    await runner.cleanup()
    log.info("%s stopped", who)


async def _stop_when(ended: asyncio.Event, stop: asyncio.Event) -> None:
    await ended.wait()
    stop.set()


def create_session(args: argparse.Namespace) -> int:
    body = json.dumps({
        "title": args.title,
        "languages": [lang.strip() for lang in args.languages.split(",") if lang.strip()],
        "state": "live" if args.live else "scheduled",
    }).encode()
    request = urllib.request.Request(
        f"{args.url.rstrip('/')}/api/sessions", data=body, method="POST",
        headers={"Authorization": f"Bearer {args.admin_key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            created = json.load(response)
    except urllib.error.HTTPError as exc:
        print(f"hub create: {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"hub create: cannot reach {args.url}: {exc.reason}", file=sys.stderr)
        return 1
    print(f"session {created['id']}: {args.title}")
    for role, link in created["links"].items():
        print(f"  {role:12} {link}")
    print(f"  caption ingest {created['captions_url']}")
    return 0


def download_report(args: argparse.Namespace) -> int:
    url = f"{args.url.rstrip('/')}/api/sessions/{args.session}/report?format={args.format}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {args.admin_key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        print(f"hub report: {exc.code} {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"hub report: cannot reach {args.url}: {exc.reason}", file=sys.stderr)
        return 1
    if args.out:
        with open(args.out, "wb") as out:
            out.write(body)
    else:
        sys.stdout.buffer.write(body)
    return 0


def import_programme(args: argparse.Namespace) -> int:
    """POST the file to `/api/events/{event}/programme`; print what changed, or every
    line-numbered problem (exit 1: nothing was imported)."""
    try:
        with open(args.file, "rb") as source:
            data = source.read(programme.MAX_BYTES + 1)
    except OSError as exc:
        print(f"hub import: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    name = os.path.basename(args.file)
    query = urllib.parse.urlencode({"filename": name, **({"dry_run": "1"} if args.dry_run
                                                          else {})})
    url = (f"{args.url.rstrip('/')}/api/events/{urllib.parse.quote(args.event, safe='')}"
           f"/programme?{query}")
    kind = "text/calendar" if name.lower().endswith((".ics", ".ical")) else "text/csv"
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Authorization": f"Bearer {args.admin_key}", "Content-Type": kind})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raw = exc.read().decode(errors="replace")
        try:
            error = json.loads(raw)["error"]
        except (ValueError, KeyError, TypeError):
            print(f"hub import: {exc.code} {raw}", file=sys.stderr)
            return 1
        print(f"hub import: {error['message']}", file=sys.stderr)
        for problem in error.get("problems", []):
            where = f"{name}:{problem['line']}: " if problem.get("line") else f"{name}: "
            field = f"{problem['field']}: " if problem.get("field") else ""
            print(f"  {where}{field}{problem['message']}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"hub import: cannot reach {args.url}: {exc.reason}", file=sys.stderr)
        return 1
    verb = "would import" if answer["dry_run"] else "imported"
    print(f"{verb} {answer['rows']} sessions into event {args.event}: {answer['created']} "
          f"new, {answer['updated']} changed, {answer['unchanged']} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
