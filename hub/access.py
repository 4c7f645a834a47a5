"""Who a token lets into a session: the one check every transport makes (HTTP, websocket
`hello`, SSE).

A session's own tokens are checked by their signature alone (`Signer.verify`). An event's
hub link is one signed token for every session a registered hub follows (docs/protocol.md
§24): its `s` is the event's log id (`forum.<event>`), its identity the hub's id, its `g`
the hub's generation. Whether it opens a session depends on the event's state, so it is
checked here, against `Forums`: the session is in the event's programme, the hub is still
registered and follows it, and the link is the hub's current one. In the session the hub
is then the registered hub (its id, name, city and country), whichever session it joins,
so its attendance and inputs add up across the event.
"""

from __future__ import annotations

from .domain import forum as domain
from .domain.roles import HUB
from .errors import NOT_FOUND, UNAUTHORIZED, HubError
from .forums import Forum, Forums
from .ratelimit import RateLimits
from .tokens import Grant, Signer


async def verify(signer: Signer, limits: RateLimits, forums: Forums, token: object,
                 session_id: str, address: str) -> Grant:
    """The grant of `token` in session `session_id`, checked the one way every transport
    checks it (refusals count towards the address's failed checks: `RateLimits.verify`).
    The caller still checks the person's standing in the session (`check_standing`)."""
    grant = limits.verify(signer, token, session_id, address, events=True)
    if grant.forum is None:
        return grant
    try:
        forum = await _forum(forums, grant.forum)
        hub = domain.check_hub_link(forum.state, grant.identity or "", grant.generation,
                                    session_id)
    except HubError as exc:
        if exc.code == UNAUTHORIZED:
            limits.failed(address)
        raise
    return Grant(session=session_id, role=HUB, identity=hub.id, name=hub.name,
                 expires=grant.expires, place=domain.hub_place(hub) or None,
                 forum=forum.id)


async def event_hub(signer: Signer, limits: RateLimits, forums: Forums, token: object,
                    event_id: str, address: str) -> tuple[Forum, domain.ForumHub]:
    """The event and the registered hub whose current link `token` is (the hub's event
    page); `unauthorized` for any other token."""
    grant = limits.verify(signer, token, None, address, events=True)
    try:
        if grant.forum is None or grant.forum != event_id:
            raise HubError(UNAUTHORIZED, f"this is not a hub link of event {event_id!r}")
        forum = await _forum(forums, event_id)
        return forum, domain.check_hub_link(forum.state, grant.identity or "", grant.generation)
    except HubError as exc:
        if exc.code == UNAUTHORIZED:
            limits.failed(address)
        raise


def mint_link(signer: Signer, state: domain.ForumState, hub: domain.ForumHub) -> tuple[str, int]:
    """The hub's current event hub link (token, expiry): minted again it is the same link
    for the event's state (same generation), until the Secretariat replaces it."""
    expires = domain.hub_link_expiry(state)
    token = signer.mint(domain.log_id(state.id), HUB, identity=hub.id, expires=expires,
                        generation=hub.generation)
    return token, expires


async def _forum(forums: Forums, event_id: str) -> Forum:
    try:
        return await forums.get(event_id)
    except HubError as exc:
        if exc.code == NOT_FOUND:  # the event was deleted: its links go with it
            raise HubError(UNAUTHORIZED, "this hub link was retired: its event is gone",
                           reason=domain.RETIRED_LINK) from exc
        raise
