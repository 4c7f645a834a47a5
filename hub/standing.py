"""A person's standing in a session: whether a token that verified may still be used there.

A token's signature and expiry say who it names (`hub.access.verify`); the session says
whether that person still stands in it: not banned, not erased, not holding a join link
the organizer retired. Every transport asks this before it lets a token in: the websocket
`hello` (`hub.client.join`), an SSE stream (`hub.sse`) and every HTTP API call
(`hub.api`).
"""

from __future__ import annotations

from .domain.roles import ORGANIZER, PRIVILEGED
from .domain.session import SessionState
from .errors import FORBIDDEN, UNAUTHORIZED, HubError
from .tokens import Grant


def check_standing(state: SessionState, grant: Grant) -> None:
    """Refuse a banned identity's token and a retired join link, on every transport."""
    if grant.identity is not None and grant.identity in state.erased:
        raise HubError(FORBIDDEN, "the organizer erased this identity's data from this session",
                       reason="erased")
    if grant.identity is not None and grant.identity in state.banned:
        who = "the organizer" if grant.role in PRIVILEGED else "the moderators"
        raise HubError(FORBIDDEN, f"{who} removed you from this session", reason="banned")
    if grant.identity is None and grant.hub is not None and (
        grant.hub in state.banned or grant.hub in state.erased
    ):  # a hub's attendee link goes with the hub: it makes no more identities
        raise HubError(FORBIDDEN, "the moderators removed the hub whose attendee link this "
                       "is", reason="banned")
    # Identities that joined by a retired link keep their personal tokens, except a session
    # organizer's: the Secretariat retires that link to take the session's powers back.
    by_link = grant.identity is None or grant.role == ORGANIZER
    if by_link and not grant.admin and grant.generation < state.links.get(grant.role, 0):
        who = "the Secretariat" if grant.role == ORGANIZER else "the organizer"
        raise HubError(UNAUTHORIZED, f"this link was retired: ask {who} for the new one",
                       reason="retired_link")
