"""Settings for one server process, from command-line options and HUB_* variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Config:
    """Everything `create_app` needs. Defaults are the embedded single-process set-up."""

    host: str = "127.0.0.1"
    port: int = 8080
    data: str = "./hub-data"
    redis_url: str | None = None
    redis_prefix: str = "hub"  # every Redis key starts with it: several hubs can share a Redis
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
    max_connections_per_address: int = 1000
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
    web_dir: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

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
        if env.get("HUB_HISTORY"):
            values["history"] = int(env["HUB_HISTORY"])
        for name, key in (("HUB_ASK_PER_10MIN", "ask_per_10min"),
                          ("HUB_VOTE_PER_MINUTE", "vote_per_minute"),
                          ("HUB_CAPTION_PER_10S", "caption_per_10s"),
                          ("HUB_HELLO_PER_MINUTE", "hello_per_minute"),
                          ("HUB_INGEST_PER_10S", "ingest_per_10s"),
                          ("HUB_MAX_CONNECTIONS_PER_ADDRESS", "max_connections_per_address"),
                          ("HUB_OUTBOX_FRAMES", "outbox_frames"),
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
        if env.get("HUB_PUBLIC_URL"):
            values["public_url"] = env["HUB_PUBLIC_URL"].rstrip("/")
        if env.get("HUB_ALLOWED_ORIGINS"):
            values["allowed_origins"] = tuple(
                o.strip().rstrip("/") for o in env["HUB_ALLOWED_ORIGINS"].split(",") if o.strip()
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
