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

from collections.abc import Callable

from . import protocol
from .domain import forum as domain
from .domain.facts import ForumFact
from .domain.roles import HUB
from .errors import NOT_FOUND, UNAUTHORIZED, HubError
from .forums import Forum, Forums
from .ratelimit import RateLimits
from .session import Sessions
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


def cut_off_retired(sessions: Sessions) -> Callable[[Forum], None]:
    """A `Forums.on_load` hook: when a hub's link is replaced or the hub removed, its open
    pages in the event's sessions held here are closed (`unauthorized`, not to reconnect:
    the old link is refused from then on); when a session is taken off its list, its page
    there. Every instance applies the fact, so every instance cuts its own connections."""

    def watch(forum: Forum) -> None:
        generations = {h.id: h.generation for h in forum.state.hubs.values()}

        def on_fact(fact: ForumFact) -> None:
            if fact["kind"] == "forum_hub_removed":
                hub_id, why = fact["hub"], "the hub is no longer registered for the event"
                generations.pop(hub_id, None)
                closed = set(forum.state.sessions)
            elif fact["kind"] == "forum_hub":
                hub_id = fact["hub"]["id"]
                hub = forum.state.hubs[hub_id]
                replaced = generations.get(hub_id, hub.generation) != hub.generation
                generations[hub_id] = hub.generation
                why = ("the Secretariat replaced it" if replaced
                       else "the hub no longer follows this session")
                closed = {s for s in forum.state.sessions if replaced or not hub.follows(s)}
            else:
                return
            for session_id in closed:
                session = sessions.held_one(session_id)
                if session is None:
                    continue
                for conn in list(session.connections):
                    if conn.identity == hub_id and conn.role == HUB:
                        conn.kick(protocol.CLOSE_UNAUTHORIZED,
                                  f"this hub link was retired: {why}", reconnect=False)

        forum.watchers.append(on_fact)

    return watch


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
