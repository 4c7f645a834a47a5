"""Roles, the channels each role reads, and what each role may do."""

from __future__ import annotations

from ..errors import HubError, forbidden

ORGANIZER = "organizer"
MODERATOR = "moderator"
CAPTIONER = "captioner"
PARTICIPANT = "participant"
HUB = "hub"
SCREEN = "screen"

ROLES = (ORGANIZER, MODERATOR, CAPTIONER, PARTICIPANT, HUB, SCREEN)
# Roles that join links are minted for (the organizer holds the admin key instead).
LINK_ROLES = (MODERATOR, CAPTIONER, PARTICIPANT, HUB, SCREEN)
STAFF = frozenset({ORGANIZER, MODERATOR})

PUBLIC = "public"
MODERATION = "moderation"
PRIVATE = "private"

# Which command each role may send; `ping` and `hello` are open to all.
COMMAND_ROLES: dict[str, frozenset[str]] = {
    "caption": frozenset({CAPTIONER}),
    "ask": frozenset({PARTICIPANT, HUB, MODERATOR, ORGANIZER}),
    "vote": frozenset({PARTICIPANT, HUB}),
    "withdraw": frozenset({PARTICIPANT, HUB, MODERATOR, ORGANIZER}),
    "moderate": STAFF,
    "session": STAFF,
    "note": STAFF,
    "hub_status": frozenset({HUB}),
    "flag": STAFF,
    "floor": STAFF,
    "forward": frozenset({HUB}),
    "decline": frozenset({HUB}),
    "ban": STAFF,
    "ping": frozenset(ROLES),
}


def private_channel(identity_id: str) -> str:
    """The channel key of one identity's private channel."""
    return f"{PRIVATE}:{identity_id}"


def has_private(role: str) -> bool:
    """Participants and hubs have a private channel; other roles do not."""
    return role in (PARTICIPANT, HUB)


def channels_for(role: str, identity_id: str) -> list[str]:
    """The channel keys a role reads, in the order `welcome` lists them."""
    if role in STAFF:
        return [PUBLIC, MODERATION]
    if has_private(role):
        return [PUBLIC, private_channel(identity_id)]
    return [PUBLIC]


def wire_name(channel_key: str) -> str:
    """The name a channel has on the wire: `public`, `moderation` or `private`."""
    return PRIVATE if channel_key.startswith(PRIVATE + ":") else channel_key


def check_allowed(role: str, command: str) -> None:
    """Raise `forbidden` unless `role` may send `command`."""
    allowed = COMMAND_ROLES.get(command)
    if allowed is None:
        raise HubError("bad_request", f"unknown command {command!r}")
    if role not in allowed:
        who = ", ".join(sorted(allowed))
        raise forbidden(f"a {role} may not send {command!r} (allowed: {who})")
