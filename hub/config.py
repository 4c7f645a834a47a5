"""Settings for one server process, from command-line options and HUB_* variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

MIN_SECRET_LENGTH = 32
# Values from our own examples and the usual stand-ins: refused whatever their length.
PLACEHOLDERS = frozenset({
    "changeme", "changemetoo", "change", "secret", "admin", "password", "passw0rd", "default",
    "example", "test", "token", "key", "adminkey", "hubsecret", "hubadminkey", "metricstoken",
    "scrapeme", "replaceme", "yoursecret", "youradminkey", "xxx", "todo", "fixme",
})
# Words no generated secret contains: a value holding one was typed from an example.
PLACEHOLDER_WORDS = ("changeme", "replaceme", "placeholder", "example", "yoursecret", "yourkey")
HOW_TO_MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class WeakSecret(Exception):
    """A secret unfit to run with; the message names it and says how to make a good one."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything `create_app` needs. Defaults are the embedded single-process set-up."""

    host: str = "127.0.0.1"
    port: int = 8080
    data: str = "./hub-data"
    redis_url: str | None = None
    redis_prefix: str = "hub"  # every Redis key starts with it: several hubs can share a Redis
    # The search index (hub/search): a postgresql:// URL shared by every instance; None:
    # SQLite FTS5 in the data folder (search.sqlite).
    archive_url: str | None = None
    history: int = 10_000  # events kept per channel in Redis for resumes (closed: archived)
    admin_key: str | None = None
    secret: str | None = None  # signs tokens; when unset, generated once and kept in the store
    public_url: str | None = None  # how clients reach this hub, for links (else from the request)
    allowed_origins: tuple[str, ...] = ()
    # Websocket limits and fan-out.
    max_frame: int = 256 * 1024  # transport limit; larger frames are closed with 1009
    outbox_frames: int = 2048  # a reader further behind than this is disconnected (slow)
    heartbeat: float = 30.0
    hello_timeout: float = 10.0
    # Abuse: errors a connection may cause per minute before it is closed with 1008.
    max_errors_per_minute: int = 30
    ask_per_10min: int = 20
    vote_per_minute: int = 60
    caption_per_10s: int = 300  # per captioner identity (partial lines come word by word)
    hello_per_minute: int = 300  # per client address (a hub's room shares one address)
    ingest_per_10s: int = 100  # caption ingest posts per client address
    ingest_lines_per_post: int = 100  # caption lines in one ingest post (more: 413)
    max_connections_per_address: int = 1000
    # Failed token and admin-key checks per client address per minute; past it, every
    # request from that address is `rate_limited` until the oldest failure is a minute old.
    auth_failures_per_minute: int = 20
    # Commands that store something, per identity (ask, vote and caption above).
    withdraw_per_minute: int = 30
    hub_status_per_minute: int = 60  # a relay reports at most about once a second
    hub_queue_per_minute: int = 120  # a hub's forward and decline
    staff_per_minute: int = 600  # moderate, session, note, flag, floor, ban together
    # One join link makes an identity per `hello`: budgets per source (hub/domain/sources.py).
    new_identities_per_address: int = 100  # per 10 minutes
    votes_per_address: int = 20  # on one item
    # Venue or hub NATs (addresses or CIDRs): a larger budget, and no address bans. Loopback
    # by default: behind a local proxy without HUB_TRUST_PROXY, every client is loopback.
    shared_addresses: tuple[str, ...] = ("127.0.0.0/8", "::1")
    shared_new_identities: int = 2000  # per 10 minutes, per shared address or hub link
    shared_votes: int = 2000  # on one item, per shared address or hub link
    max_attendees: int = 10_000  # the most one hub may report
    attendee_jump: int = 200  # a report this many above the last (and over 2x) is marked
    trust_proxy: bool = False  # take the client address from X-Forwarded-For (behind nginx)
    metrics_token: str | None = None  # when set, /metrics wants it as a bearer token
    # Token lifetimes (docs/protocol.md, "Token expiry"): join links, named tokens and hub
    # attendee links live `token_ttl_days` unless `POST …/tokens` asks for another `ttl`, at
    # most `token_max_ttl_days`; a personal token outlives its join link by `token_grace_hours`.
    token_ttl_days: float = 30.0
    token_max_ttl_days: float = 180.0
    token_grace_hours: float = 24.0
    # Participation figures are computed as of the start of each period of this many seconds
    # (figures that move on each join single out who joined). 1 to 3600.
    figures_every: int = 300
    web_dir: str | None = None
    # Sessions closed and untouched for this many days are deleted (0: kept forever). A
    # year: long enough for the report and transcript to serve the next edition of a
    # yearly meeting, short enough that people's data is not kept without an end.
    retention_days: float = 365.0
    retention_sweep: float = 3600.0  # seconds between sweeps (each at a random moment)
    # The media plane (docs/protocol.md §19): "auto" (`hub serve`'s default) runs a private
    # Janus when `janus` is on PATH; a Janus API URL uses that one; "off" runs without voice
    # (the default of an app made in code, as tests make them).
    # Several Janus: `name=URL,name=URL` (each session is assigned to one of them, see
    # `media_servers`); the admin URL, admin secret, public URL and recordings then take
    # `name=value` lists too (a secret or recordings folder may also be one value for all).
    media: str = "off"
    media_admin_url: str | None = None  # with a Janus URL: its admin API
    media_admin_secret: str | None = None
    media_public_url: str | None = None  # the Janus API URL browsers are given
    media_host: str = "127.0.0.1"  # where a private Janus's HTTP and WebSocket APIs listen
    media_rtp_ports: str = "20000-20999"  # a private Janus's RTP port range
    media_ice_enforce: str = ""  # a private Janus's ice_enforce_list (interfaces, addresses)
    media_recordings: str | None = None  # a Janus URL's recording folder, when shared
    ice_servers: tuple[str, ...] = ()  # stun:/turn:/turns: URLs given to browsers
    turn_secret: str | None = None  # coturn's static-auth-secret
    turn_ttl: int = 43_200  # seconds a TURN credential is valid
    media_per_minute: int = 30  # `media` requests per identity
    # Searches (GET /api/search, public) per client address; a shared address (a venue's
    # NAT, HUB_SHARED_ADDRESSES) gets 20 times as many. A search of a common word costs a
    # core up to 0.2 s (docs/performance.md §11).
    search_per_minute: int = 120
    extra: dict[str, str] = field(default_factory=dict)

    def weak_secrets(self) -> list[str]:
        """Why each secret set here is unfit (empty: all are fine, or generated)."""
        named: tuple[tuple[str, str | None], ...] = (
            ("HUB_SECRET", self.secret), ("HUB_ADMIN_KEY", self.admin_key),
            ("HUB_METRICS_TOKEN", self.metrics_token), ("HUB_TURN_SECRET", self.turn_secret))
        servers = media_servers(self)
        several = len(servers) > 1
        named += tuple((f"HUB_MEDIA_ADMIN_SECRET ({s.name})" if several
                        else "HUB_MEDIA_ADMIN_SECRET", s.admin_secret) for s in servers
                        ) or (("HUB_MEDIA_ADMIN_SECRET", self.media_admin_secret),)
        return [problem for name, value in named
                if value is not None and (problem := secret_problem(name, value)) is not None]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Config:
        """Settings from HUB_* environment variables, then explicit overrides (CLI options)."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if "HUB_HOST" in env:
            values["host"] = env["HUB_HOST"]
        if "HUB_PORT" in env:
            values["port"] = int(env["HUB_PORT"])
        if "HUB_DATA" in env:
            values["data"] = env["HUB_DATA"]
        if env.get("HUB_REDIS_URL"):
            values["redis_url"] = env["HUB_REDIS_URL"]
        if env.get("HUB_REDIS_PREFIX"):
            values["redis_prefix"] = env["HUB_REDIS_PREFIX"]
        if env.get("HUB_ARCHIVE_URL"):
            values["archive_url"] = env["HUB_ARCHIVE_URL"]
        if env.get("HUB_HISTORY"):
            values["history"] = int(env["HUB_HISTORY"])
        for name, key in (("HUB_ASK_PER_10MIN", "ask_per_10min"),
                          ("HUB_VOTE_PER_MINUTE", "vote_per_minute"),
                          ("HUB_CAPTION_PER_10S", "caption_per_10s"),
                          ("HUB_HELLO_PER_MINUTE", "hello_per_minute"),
                          ("HUB_INGEST_PER_10S", "ingest_per_10s"),
                          ("HUB_INGEST_LINES_PER_POST", "ingest_lines_per_post"),
                          ("HUB_MAX_CONNECTIONS_PER_ADDRESS", "max_connections_per_address"),
                          ("HUB_AUTH_FAILURES_PER_MINUTE", "auth_failures_per_minute"),
                          ("HUB_OUTBOX_FRAMES", "outbox_frames"),
                          ("HUB_FIGURES_EVERY", "figures_every"),
                          ("HUB_WITHDRAW_PER_MINUTE", "withdraw_per_minute"),
                          ("HUB_HUB_STATUS_PER_MINUTE", "hub_status_per_minute"),
                          ("HUB_HUB_QUEUE_PER_MINUTE", "hub_queue_per_minute"),
                          ("HUB_STAFF_PER_MINUTE", "staff_per_minute"),
                          ("HUB_NEW_IDENTITIES_PER_ADDRESS", "new_identities_per_address"),
                          ("HUB_VOTES_PER_ADDRESS", "votes_per_address"),
                          ("HUB_SHARED_NEW_IDENTITIES", "shared_new_identities"),
                          ("HUB_SHARED_VOTES", "shared_votes"),
                          ("HUB_MAX_ATTENDEES", "max_attendees"),
                          ("HUB_ATTENDEE_JUMP", "attendee_jump")):
            if env.get(name):
                values[key] = int(env[name])
        if env.get("HUB_SHARED_ADDRESSES"):
            values["shared_addresses"] = tuple(
                a.strip() for a in env["HUB_SHARED_ADDRESSES"].split(",") if a.strip())
        for name, key in (("HUB_RETENTION_DAYS", "retention_days"),
                          ("HUB_RETENTION_SWEEP_SECONDS", "retention_sweep")):
            if env.get(name):
                values[key] = float(env[name])
        if env.get("HUB_TRUST_PROXY", "").lower() in ("1", "true", "yes"):
            values["trust_proxy"] = True
        if env.get("HUB_WEB_DIR"):
            values["web_dir"] = env["HUB_WEB_DIR"]
        if env.get("HUB_METRICS_TOKEN"):
            values["metrics_token"] = env["HUB_METRICS_TOKEN"]
        if env.get("HUB_SECRET"):
            values["secret"] = env["HUB_SECRET"]
        if env.get("HUB_ADMIN_KEY"):
            values["admin_key"] = env["HUB_ADMIN_KEY"]
        values["media"] = env.get("HUB_MEDIA_URL") or "auto"
        for name, key in (("HUB_MEDIA_ADMIN_URL", "media_admin_url"),
                          ("HUB_MEDIA_ADMIN_SECRET", "media_admin_secret"),
                          ("HUB_MEDIA_PUBLIC_URL", "media_public_url"),
                          ("HUB_MEDIA_HOST", "media_host"),
                          ("HUB_MEDIA_RTP_PORTS", "media_rtp_ports"),
                          ("HUB_MEDIA_ICE_ENFORCE", "media_ice_enforce"),
                          ("HUB_MEDIA_RECORDINGS", "media_recordings"),
                          ("HUB_TURN_SECRET", "turn_secret")):
            if env.get(name):
                values[key] = env[name]
        if env.get("HUB_ICE_SERVERS"):
            values["ice_servers"] = tuple(
                u.strip() for u in env["HUB_ICE_SERVERS"].split(",") if u.strip())
        if env.get("HUB_SEARCH_PER_MINUTE"):
            values["search_per_minute"] = int(env["HUB_SEARCH_PER_MINUTE"])
        if env.get("HUB_MEDIA_PER_MINUTE"):
            values["media_per_minute"] = int(env["HUB_MEDIA_PER_MINUTE"])
        if env.get("HUB_TURN_TTL"):
            values["turn_ttl"] = int(env["HUB_TURN_TTL"])
        if env.get("HUB_PUBLIC_URL"):
            values["public_url"] = env["HUB_PUBLIC_URL"].rstrip("/")
        if env.get("HUB_ALLOWED_ORIGINS"):
            values["allowed_origins"] = tuple(
                o.strip().rstrip("/") for o in env["HUB_ALLOWED_ORIGINS"].split(",") if o.strip()
            )
        for name, key in (("HUB_TOKEN_TTL_DAYS", "token_ttl_days"),
                          ("HUB_TOKEN_MAX_TTL_DAYS", "token_max_ttl_days"),
                          ("HUB_TOKEN_GRACE_HOURS", "token_grace_hours")):
            if env.get(name):
                values[key] = float(env[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        """Refuse settings that make no sense, naming the variable."""
        if not 0 < self.token_ttl_days <= self.token_max_ttl_days:
            raise ValueError("HUB_TOKEN_TTL_DAYS must be above 0 and at most "
                             f"HUB_TOKEN_MAX_TTL_DAYS ({self.token_max_ttl_days:g})")
        if not 0 <= self.token_grace_hours <= 24 * 7:
            raise ValueError("HUB_TOKEN_GRACE_HOURS must be from 0 to 168")
        if not 1 <= self.figures_every <= 3600:
            raise ValueError(
                f"HUB_FIGURES_EVERY takes 1 to 3600 seconds, not {self.figures_every}")
        media_servers(self)  # raises ValueError naming the variable
        if self.archive_url and not self.archive_url.startswith(("postgresql://",
                                                                   "postgres://")):
            raise ValueError("HUB_ARCHIVE_URL (--archive) takes a postgresql:// URL (the "
                             "shared search index); leave it unset for SQLite in the data "
                             "folder")
        bad = [u for u in self.ice_servers if not u.startswith(("stun:", "turn:", "turns:"))]
        if bad:
            raise ValueError(f"HUB_ICE_SERVERS takes stun:, turn: and turns: URLs, not {bad[0]!r}")
        if any(u.startswith("turn") for u in self.ice_servers) and not self.turn_secret:
            raise ValueError("HUB_ICE_SERVERS has a TURN server: set HUB_TURN_SECRET (coturn's "
                             "static-auth-secret) so the hub can give time-limited credentials")
        if not 60 <= self.turn_ttl <= 7 * 86400:
            raise ValueError("HUB_TURN_TTL takes 60 to 604800 seconds")

@dataclass(frozen=True, slots=True)
class MediaServer:
    """One shared Janus as HUB_MEDIA_URL and its companions name it."""

    name: str  # "main" when HUB_MEDIA_URL is one URL
    api_url: str
    admin_url: str
    admin_secret: str
    public_url: str | None = None
    recordings: str | None = None


MEDIA_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
ONE_JANUS = "main"  # the name of the only Janus (one URL, or the private one)


def _named(variable: str, text: str) -> dict[str, str]:
    """`name=value,name=value` into a dict; ValueError naming the variable."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        name, eq, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not value or not MEDIA_NAME.fullmatch(name) or name == "info":
            raise ValueError(
                f"{variable} takes name=value entries separated by commas (a name: a lowercase "
                f"letter, then letters, digits or '-', at most 32, not 'info'), not {part!r}")
        if name in out:
            raise ValueError(f"{variable} names {name!r} twice")
        out[name] = value
    return out


def media_servers(config: Config) -> list[MediaServer]:
    """The shared Janus servers HUB_MEDIA_URL lists (empty for off and auto), each with its
    admin API, admin secret, public URL and recordings folder.

    One Janus: `HUB_MEDIA_URL=http://host:8088/janus` with plain companion values, as ever
    (its name is "main"). Several: `HUB_MEDIA_URL=a=http://j1:8088/janus,b=http://j2:8088/janus`,
    and `HUB_MEDIA_ADMIN_URL=a=http://j1:7088/admin,b=...` naming the same names;
    HUB_MEDIA_ADMIN_SECRET and HUB_MEDIA_RECORDINGS take either one value for all or
    `name=value` for each, HUB_MEDIA_PUBLIC_URL `name=value` for each (or nothing: pages go
    through the hub's `/janus/<name>`)."""
    mode = config.media
    if mode in ("off", "auto"):
        return []
    if mode.startswith(("http://", "https://")) and "," not in mode:
        if not (config.media_admin_url and config.media_admin_secret):
            raise ValueError("HUB_MEDIA_URL needs HUB_MEDIA_ADMIN_URL (the Janus admin API, "
                             "http://host:7088/admin) and HUB_MEDIA_ADMIN_SECRET")
        return [MediaServer(ONE_JANUS, mode, config.media_admin_url, config.media_admin_secret,
                            config.media_public_url, config.media_recordings)]
    if "=" not in mode:
        raise ValueError("HUB_MEDIA_URL takes off, auto, the http(s):// URL of a Janus HTTP API "
                         "(http://host:8088/janus), or several as name=URL,name=URL, not "
                         f"{mode!r}")
    apis = _named("HUB_MEDIA_URL", mode)
    names = sorted(apis)

    def each(variable: str, value: str | None, shared: bool) -> dict[str, str | None]:
        if value is None:
            return dict.fromkeys(names)
        if shared and "=" not in value:
            return dict.fromkeys(names, value)
        given = _named(variable, value)
        if sorted(given) != names:
            raise ValueError(f"{variable} must name exactly the Janus servers of HUB_MEDIA_URL "
                             f"({', '.join(names)}), not {', '.join(sorted(given))}")
        return dict(given)

    admins = each("HUB_MEDIA_ADMIN_URL", config.media_admin_url, False)
    secrets_ = each("HUB_MEDIA_ADMIN_SECRET", config.media_admin_secret, True)
    publics = each("HUB_MEDIA_PUBLIC_URL", config.media_public_url, False)
    folders = each("HUB_MEDIA_RECORDINGS", config.media_recordings, True)
    out = []
    for name in names:
        api, admin, secret = apis[name], admins[name], secrets_[name]
        if not api.startswith(("http://", "https://")):
            raise ValueError(f"HUB_MEDIA_URL: {name}'s Janus HTTP API is an http(s):// URL "
                             f"(http://host:8088/janus), not {api!r}")
        if not admin or not secret:
            raise ValueError(f"HUB_MEDIA_URL lists {name}: HUB_MEDIA_ADMIN_URL and "
                             f"HUB_MEDIA_ADMIN_SECRET need {name}=... entries too")
        out.append(MediaServer(name, api, admin, secret, publics[name], folders[name]))
    return out


def secret_problem(name: str, value: str) -> str | None:
    """Why `value` is unfit as the secret `name`, with how to make a good one; None if fit.

    A known placeholder (any case, any punctuation) is refused whatever its length; so is
    anything shorter than MIN_SECRET_LENGTH characters or made of a handful of characters.
    """
    folded = re.sub(r"[^a-z0-9]", "", value.lower())
    if folded in PLACEHOLDERS or any(word in folded for word in PLACEHOLDER_WORDS):
        why = "is a known placeholder (from an example), which anyone can look up"
    elif len(value) < MIN_SECRET_LENGTH:
        why = f"is {len(value)} characters long: it needs at least {MIN_SECRET_LENGTH}"
    elif len(set(value)) < 8:
        why = "repeats a few characters: it must be random"
    else:
        return None
    return (f"{name} {why}. Leave it unset to have one generated and kept with the state, "
            f"or make one with: {HOW_TO_MAKE_ONE}")
