"""Signed tokens: bound to one session and one role, checkable by every instance.

A token is `<payload>.<signature>`, both base64url; the payload is JSON with
`s` (session), `r` (role), optionally `i` (identity id: the token names one
identity), `n` (display name for a named identity) and `x` (expiry, seconds
since the Unix epoch). The signature is HMAC-SHA256 with the server secret.

Every token the hub mints carries `x`, and a token without one is refused: no link
works for good. A personal token, minted in `welcome` for a join link,
expires a grace period after that link (`Signer.personal`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson

from .domain.forum import LOG_PREFIX, is_forum_log
from .domain.roles import HUB, ROLES
from .errors import UNAUTHORIZED, HubError

DAY = 86_400
# Refusals of a token that is past (or without) its expiry; the pages tell these apart.
EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Grant:
    """What a verified token grants."""

    session: str
    role: str
    identity: str | None = None
    name: str | None = None
    expires: int | None = None
    admin: bool = False
    hub: str | None = None  # a participant link scoped to this remote hub
    place: dict[str, str] | None = None  # a hub's city and country
    generation: int = 0  # join links of a role are retired by raising the session's
    # An event's hub link (`s` is `forum.<event>`): the event it is for. Such a grant is
    # valid in a session only once `hub.access` checked the event's state.
    forum: str | None = None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_session_id() -> str:
    """A fresh session id: 8 random URL-safe characters, never a leading `-` (a command
    line such as `hub report <id>` would take it for an option)."""
    while (made := secrets.token_urlsafe(6)).startswith("-"):
        pass
    return made


def new_identity_id() -> str:
    """A fresh identity id: random, so ids cannot be guessed or enumerated."""
    return secrets.token_urlsafe(9)


class Signer:
    """Mints and checks tokens with one secret; also recognises the admin key."""

    def __init__(self, secret: str, admin_key: str, *, ttl: int = 30 * DAY,
                 grace: int = DAY) -> None:
        self._secret = secret.encode()
        self._admin_key = admin_key
        self.ttl = ttl  # seconds a token lives when its minter asks for nothing else
        self.grace = grace  # seconds a personal token outlives the join link it came from

    def mint(
        self,
        session: str,
        role: str,
        *,
        identity: str | None = None,
        name: str | None = None,
        ttl: int | None = None,
        expires: int | None = None,
        hub: str | None = None,
        place: dict[str, str] | None = None,
        generation: int = 0,
    ) -> str:
        """A token for `role` on `session`; with `identity`, every use is that identity.
        It expires at `expires` (seconds since the epoch), else `ttl` (else the default
        lifetime) seconds from now."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {ROLES}")
        body: dict[str, object] = {"s": session, "r": role}
        if identity is not None:
            body["i"] = identity
        if name is not None:
            body["n"] = name
        body["x"] = expires if expires is not None else self.expiry(ttl)
        if hub is not None:
            body["h"] = hub
        if place:
            body["p"] = place
        if generation:
            body["g"] = generation
        payload = _b64(orjson.dumps(body))
        return f"{payload}.{self._sign(payload)}"

    def expiry(self, ttl: int | None = None) -> int:
        """When a token minted now with `ttl` (else the default lifetime) expires."""
        return int(time.time()) + (self.ttl if ttl is None else ttl)

    def link_expiry(self) -> int:
        """The expiry of join links minted now: the end of the UTC day the default lifetime
        from now. Links minted on one day are the same link (a printed agenda, a QR code and
        the organizer's page agree), and a day later's are fresh."""
        return -(-self.expiry() // DAY) * DAY

    def personal(self, grant: Grant, identity: str) -> str:
        """The personal token of an identity that joined with the join link `grant`: it
        expires `grace` after that link, so a resume works a while after the link ran out,
        never for long (a join link always has an expiry: `verify` refuses it otherwise).
        It carries the link's generation: a retired session organizer link takes its
        personal tokens with it (hub.standing.check_standing)."""
        expires = (grant.expires if grant.expires is not None else self.expiry()) + self.grace
        return self.mint(grant.session, grant.role, identity=identity, expires=expires,
                         generation=grant.generation)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def digest(self, purpose: str, text: str) -> str:
        """A keyed hash of `text` (HMAC-SHA256 with the secret, 96 bits, base64url): stable
        on every instance, and no way back to `text` without the secret."""
        mac = hmac.new(self._secret, f"{purpose}\n{text}".encode(), hashlib.sha256)
        return _b64(mac.digest()[:12])

    def is_admin(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self._admin_key.encode())

    def verify(self, token: object, session: str | None, *, events: bool = False) -> Grant:
        """The grant of `token` for `session`; `unauthorized` for anything not valid there.

        An event's hub link (`s` is `forum.<event>`, see `hub.access`) names no session: it
        is refused here as another session's, unless `events`, when its grant comes back
        with `forum` set and its session still to be checked against the event's state."""
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise HubError(UNAUTHORIZED, "a token is required")
        if not token.isascii():  # tokens are base64url; compare_digest refuses other text
            raise HubError(UNAUTHORIZED, "this token is not valid")
        if self.is_admin(token):
            return Grant(
                session=session or "*",
                role="organizer",
                identity="organizer",
                name="Organizer",
                admin=True,
            )
        payload, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(signature, self._sign(payload)):
            raise HubError(
                UNAUTHORIZED, "this token is not valid: ask the organizer for a new link"
            )
        try:
            body = orjson.loads(_unb64(payload))
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise HubError(UNAUTHORIZED, "this token is not valid") from exc
        if not isinstance(body, dict):
            raise HubError(UNAUTHORIZED, "this token is not valid")
        expires = body.get("x")
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise HubError(UNAUTHORIZED, "this link has no expiry date (made by an older hub): "
                           "ask the organizer for a new link", reason=EXPIRED)
        if expires < time.time():
            raise HubError(UNAUTHORIZED, "this link has expired: ask the organizer for a new "
                           "link", reason=EXPIRED)
        scope = body.get("s")
        if events and isinstance(scope, str) and is_forum_log(scope):
            if body.get("r") != HUB or not isinstance(body.get("i"), str):
                raise HubError(UNAUTHORIZED, "this token is not valid")
            return Grant(session=scope, role=HUB, identity=body["i"], expires=expires,
                         generation=body.get("g", 0), forum=scope.removeprefix(LOG_PREFIX))
        if session is not None and scope != session:
            raise HubError(UNAUTHORIZED, "this token belongs to another session")
        return Grant(
            session=body["s"],
            role=body["r"],
            identity=body.get("i"),
            name=body.get("n"),
            expires=expires,
            hub=body.get("h"),
            place=body.get("p"),
            generation=body.get("g", 0),
        )
