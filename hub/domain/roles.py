"""Roles, the channels each role reads, and what each role may do."""

from __future__ import annotations

from ..errors import HubError, forbidden

ORGANIZER = "organizer"
MODERATOR = "moderator"
CAPTIONER = "captioner"
PARTICIPANT = "participant"
HUB = "hub"
SCREEN = "screen"
DESK = "desk"  # the venue's audio desk: the room's sound to remote people, and back

ROLES = (ORGANIZER, MODERATOR, CAPTIONER, PARTICIPANT, HUB, SCREEN, DESK)
# Roles that join links are minted for (the organizer holds the admin key instead).
LINK_ROLES = (MODERATOR, CAPTIONER, PARTICIPANT, HUB, SCREEN, DESK)
STAFF = frozenset({ORGANIZER, MODERATOR})
# Roles whose tokens only the organizer mints and revokes: staff powers (moderation),
# words put in everyone's captions, or the room's sound (the desk publishes into the
# room's loudspeakers and to every remote listener). Moderators mint and revoke the other
# link roles.
PRIVILEGED = frozenset({MODERATOR, CAPTIONER, DESK})

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
    "media": frozenset(ROLES),
    # staff; the desk only `cut`, while it holds the desk (hub/domain/voice.py `control`)
    "voice": STAFF | {DESK},
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


def check_may_mint(actor_role: str, role: str) -> None:
    """Raise `forbidden` unless `actor_role` may mint a named token of `role`: the organizer
    any link role, a moderator participant, hub and screen tokens."""
    if actor_role == ORGANIZER or (actor_role == MODERATOR and role not in PRIVILEGED):
        return
    if actor_role == MODERATOR:
        raise forbidden(f"only the organizer mints {role} tokens (a moderator mints "
                        f"{', '.join(r for r in LINK_ROLES if r not in PRIVILEGED)} tokens)")
    raise forbidden("only moderators and the organizer mint named links")


def check_may_revoke(actor_role: str, target_role: str) -> None:
    """Raise `forbidden` unless `actor_role` may revoke (ban) an identity of `target_role`:
    the organizer anyone but itself, a moderator participants, hubs and screens."""
    if target_role == ORGANIZER:
        raise forbidden("the organizer cannot be removed: the admin key is changed on the "
                        "server (HUB_ADMIN_KEY), a session organizer's link is retired by "
                        "the Secretariat (PATCH rotate [\"organizer\"])")
    if actor_role == ORGANIZER or (actor_role == MODERATOR and target_role not in STAFF
                                   and target_role not in PRIVILEGED):
        return
    raise forbidden(f"only the organizer removes a {target_role}")
