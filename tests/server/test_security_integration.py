"""Where the parts of the security hardening meet: each test pins one place where a fact
field, a state field or a rule one part added was missed by another part."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from typing import Any

import orjson
import pytest

from hub import keys
from hub.domain.captions import CaptionLine
from hub.domain.fact_kinds import apply
from hub.domain.items import Item
from hub.domain.session import (
    Flag,
    HubState,
    Identity,
    LiveSpan,
    NamedToken,
    RelayState,
    SessionState,
    Settings,
    new_session,
    note_arrival,
)
from hub.domain.snapshot import dump_state
from hub.domain.voice import Intervention, VoiceState
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import HubFactory, RunningHub


def _full_state() -> SessionState:
    """A state with every field set to something other than its default."""
    state = new_session("s1")
    state.title, state.state, state.languages = "T", "live", ["en", "fr"]
    state.settings = Settings(premoderation=False, room_count=12)
    state.created = 1000
    state.identities = {
        "p1": Identity("p1", "participant", "Alice", {"gender": "woman"}, True, 2000,
                       counted=2500, source="a:abc"),
        "p2": Identity("p2", "participant", "Bob", {}, False, 2100, hub="h1",
                       counted=None, source="h:h1"),
        "h1": Identity("h1", "hub", "Nairobi", {}, False, 1500, place={"city": "Nairobi"},
                       counted=1600, source=""),
    }
    for identity in sorted(state.identities.values(), key=lambda i: i.joined):
        if identity.source:
            note_arrival(state, identity.source, identity.joined)
    item = Item(id="i1", kind="question", text="Q?", status="approved", origin="hub:Nairobi",
                author_id="h1", author="Attendee", anonymous=False, lang="en", created=3000,
                public=True, hub="h1", on_behalf=True, backing=4)
    state.items = {"i1": item}
    state.order = ["i1"]
    state.live, state.live_since, state.live_limit = "i1", 4000, 60
    state.keys = {("h1", "k1"): "i1"}
    state.voters = {"i1": {"p1"}}
    state.caption_seq = {"en": 3}
    state.captions = [CaptionLine(ts=5000, text="hello", lang="en", final=True, seq=3,
                                  item="i1", speaker="Attendee")]
    state.partial = {"fr": CaptionLine(ts=5100, text="bon", lang="fr", final=False)}
    state.hubs = {"h1": HubState(attendees=40, connected=True, last_seen=4500, jump=3,
                                 peak=45)}
    state.closed_at = 4900  # closed once, then reopened and live again
    state.banned = {"p2": "spam"}
    state.tokens = {"m9": NamedToken("m9", "moderator", "Mo", 9_999_999, "o1", 1200)}
    state.notes = {"p1": [{"text": "hi", "from": "Mo", "ts": 4100}]}
    state.links = {"participant": 2}
    state.turns = [LiveSpan("i1", 4000)]
    state.flags = {"f1": Flag("f1", "takeaway", "note", "Mo", 4200, item="i1")}
    state.floor = {"ordering": "balanced", "weights": {"region": 2}}
    state.relay = RelayState(upstream="https://m.example", hub="h1", hub_name="Nairobi",
                             positions={"public": ["e", 3]}, linked=True, since=10,
                             sent={"i1": "u1"}, caption_ts={"en": 5000}, refused="x")
    state.erased = {"gone1", "gone2"}
    state.voice = VoiceState(desk="d1", desk_gen=2, desk_since=3900, turn=1, since=4010,
                             muted=True, cut=False,
                             interventions=[Intervention(1, "i1", "p1", "remote", None, 4010,
                                                         4400, end=4300, turn=1)])
    return state


def _public_fields(state: SessionState) -> dict[str, Any]:
    skip = {"offset", "epoch", "tops", "id"}
    return {f.name: getattr(state, f.name) for f in fields(state) if f.name not in skip}


def test_dump_and_restore_keep_every_state_field() -> None:
    """A `restored` fact (Redis came back empty) carries every field the parts added:
    sources, counted, arrivals, hub jump marks, named tokens, the erased set."""
    state = _full_state()
    for f in fields(state):
        if f.name not in ("offset", "epoch", "tops", "id"):
            assert getattr(state, f.name) != getattr(SessionState("x"), f.name), f.name
    fact = orjson.loads(orjson.dumps({"kind": "restored", "state": dump_state(state),
                                      "ts": 6000}))
    again = new_session("s1")
    apply(again, fact)
    assert _public_fields(again) == _public_fields(state)


def test_a_relay_keeps_the_label_of_a_name_a_hub_declared() -> None:
    """A hub-declared name is labelled on every page: a hub's relay mirrors
    the meeting's queue, so its pages (and its report) must say so too, and an item the
    meeting's own moderators added for a room speaker must not."""
    from hub.domain import relay as relay_domain
    from hub.domain import views
    from hub.domain.report import _author
    from tests.support.relay_facts import event, public_item, relay_session

    state = relay_session()
    apply(state, relay_domain.resync(state, {"channels": {
        "public": {"epoch": "E1", "offset": 0, "recovered": False}}, "snapshot": {}},
        1000).fact)
    declared = public_item("i7", origin="hub:Lima", author="Amina", hub_attendee=True)
    by_mod = public_item("i8", origin="room", author="Wanjiru", hub_attendee=False)
    for offset, data in ((1, declared), (2, by_mod)):
        fact = relay_domain.mirror(state, "public", event("public", offset, "item", data)).fact
        assert fact is not None
        apply(state, fact)
    assert views.public_item(state.items["i7"])["hub_attendee"] is True
    assert views.public_item(state.items["i8"])["hub_attendee"] is False
    assert _author(state.items["i7"]) == "Amina (forwarded by Lima on behalf of an attendee)"
    assert _author(state.items["i8"]) == "Wanjiru"


def test_erasing_a_moderator_reaches_their_name_in_a_restored_state() -> None:
    """A `restored` fact keeps flags and notes by the author's name only (no id): erasing
    a moderator must reach those names too, as it does in `flag` and `note` facts."""
    from hub.domain import commands
    from hub.domain.erasure import ERASED_NAME, LogEntry, scrub
    from tests.support.person_traces import BOB, NAME, Recorder, traces

    rec = Recorder()
    mod = commands.Actor("m7", "moderator", NAME)
    rec.join(mod)
    rec.join(BOB)
    rec.run(commands.flag(rec.state, mod, kind="takeaway", text="Budgets matter", item=None,
                          caption=None, flag_id=None, delete=False, now=rec.now))
    rec.run(commands.note(rec.state, mod, BOB.id, "Please wait", rec.now))
    live = scrub(rec.entries, mod.id, "alias-1")
    assert traces(live) == []  # the facts themselves were always scrubbed
    restored = [LogEntry(5, {"kind": "restored", "state": dump_state(rec.state), "ts": 5})]
    assert traces(restored)
    scrubbed = scrub(restored, mod.id, "alias-1")
    assert traces(scrubbed) == []
    state = new_session("s1")
    apply(state, scrubbed[0].fact)
    assert [f.by for f in state.flags.values()] == [ERASED_NAME]
    assert [n["from"] for n in state.notes[BOB.id]] == [ERASED_NAME]
    assert [f.text for f in state.flags.values()] == ["Budgets matter"]


async def test_the_organizer_erases_the_name_on_a_named_token_never_used(
    hub: RunningHub,
) -> None:
    """Named tokens (staff revocation) are recorded with a person's name even before anyone
    joins with them: the organizer's export and erasure must reach that record, and the
    erased token is refused."""
    from tests.support.person_traces import NAME, stored_bytes, traces

    created = await hub.session(title="Named token erasure")
    sid = created["id"]
    url = f"{hub.base}/api/sessions/{sid}"
    status, minted, _ = await ahttp("POST", f"{url}/tokens",
                                    {"role": "captioner", "name": NAME}, token=ADMIN_KEY)
    assert status == 201, minted
    who = minted["identity"]
    status, export, _ = await ahttp("GET", f"{url}/people/{who}", token=ADMIN_KEY)
    assert status == 200, export
    assert export["identity"]["name"] == NAME and export["token"]["role"] == "captioner"
    status, mine, _ = await ahttp("GET", f"{url}/me", token=minted["token"])
    assert status == 200 and mine == export  # the holder's own copy, before ever joining
    assert traces(await stored_bytes(hub, sid))
    status, answer, _ = await ahttp("DELETE", f"{url}/people/{who}", token=ADMIN_KEY)
    assert status == 200, answer
    assert traces(await stored_bytes(hub, sid)) == []
    status, listed, _ = await ahttp("GET", f"{url}/tokens", token=ADMIN_KEY)
    assert status == 200 and traces(listed) == []
    with pytest.raises(RuntimeError, match="erased"):
        await Client(hub.ws_base, sid, minted["token"]).connect()


async def test_a_removed_hub_s_attendee_link_makes_no_more_identities(hub: RunningHub) -> None:
    """Revoking a hub (a ban) must take its attendee links with it: otherwise they keep
    making identities, each with the shared budgets (2,000 votes on one item)."""
    created = await hub.session(title="Hub revoked")
    sid = created["id"]
    url = f"{hub.base}/api/sessions/{sid}"
    status, named, _ = await ahttp("POST", f"{url}/tokens",
                                   {"role": "hub", "name": "Nairobi hub"}, token=ADMIN_KEY)
    assert status == 201, named
    nairobi = Client(hub.ws_base, sid, named["token"])
    await nairobi.connect()
    status, link, _ = await ahttp("POST", f"{url}/tokens", {"role": "participant"},
                                  token=nairobi.welcome["you"]["token"])
    assert status == 201, link
    before = Client(hub.ws_base, sid, link["token"], name="Wanjiru")
    await before.connect()
    await before.close()
    status, body, _ = await ahttp("DELETE", f"{url}/tokens/{named['identity']}",
                                  token=created["tokens"]["moderator"])
    assert status == 200, body
    with pytest.raises(RuntimeError, match="banned"):
        await Client(hub.ws_base, sid, link["token"], name="Another").connect()
    status, body, _ = await ahttp("GET", f"{hub.base}/sse/{sid}?token={link['token']}")
    assert status == 403 and body["error"]["reason"] == "banned"
    await nairobi.close()


async def test_storing_requests_over_http_count_against_the_staff_budget(
    hub_factory: HubFactory,
) -> None:
    """Minting a named token stores a `token` fact and a revocation over HTTP is a `ban`:
    both count against the staff budget the websocket commands have, so a moderator's
    link cannot grow the log without bound over HTTP."""
    hub = await hub_factory(staff_per_minute=3)
    created = await hub.session(title="Staff budget over HTTP")
    sid, moderator = created["id"], created["tokens"]["moderator"]
    url = f"{hub.base}/api/sessions/{sid}/tokens"
    minted = []
    for n in range(3):
        status, body, _ = await ahttp("POST", url, {"role": "participant", "name": f"P {n}"},
                                      token=moderator)
        assert status == 201, body
        minted.append(body["identity"])
    status, body, headers = await ahttp("POST", url, {"role": "participant", "name": "P 4"},
                                        token=moderator)
    assert status == 429 and body["error"]["code"] == "rate_limited", body
    assert "Retry-After" in headers
    status, body, _ = await ahttp("DELETE", f"{url}/{minted[0]}", token=moderator)
    assert status == 429, body
    status, body, _ = await ahttp("DELETE", f"{url}/{minted[0]}", token=ADMIN_KEY)
    assert status == 200, body  # the organizer's budget is its own
    status, listed, _ = await ahttp("GET", url, token=ADMIN_KEY)
    assert status == 200
    assert {t["minted_by"] for t in listed["tokens"] if t["named"]} == {"moderator-link"}


def test_a_name_a_hub_declares_may_not_pass_for_the_staff() -> None:
    """The name rules refuse a participant's name that passes for a role; a hub forwarding
    an attendee's item declares a name that attendee chose, so the same rule holds (the
    captions show it as the speaker's name). A moderator naming a room speaker may."""
    from hub.domain import commands
    from hub.errors import HubError
    from tests.support.domain_helpers import MOD, NAIROBI, make_session, run

    state = make_session()
    run(state, commands.hub_status(state, NAIROBI, attendees=10, now=1500))
    for name in ("Moderator", "Организатор", "主持人"):
        with pytest.raises(HubError) as err:
            commands.ask(state, NAIROBI, kind="question", text="Q?", key=f"k-{name}",
                         lang=None, anonymous=False, on_behalf={"name": name}, now=2000)
        assert err.value.extra.get("reason") == "name_role", err.value.message
    ok = commands.ask(state, NAIROBI, kind="question", text="Q?", key="k-ok", lang=None,
                      anonymous=False, on_behalf={"name": "Amina"}, now=2000)
    assert ok.fact is not None
    by_mod = commands.ask(state, MOD, kind="question", text="Q?", key="k-m", lang=None,
                          anonymous=False, on_behalf={"name": "Chair of the panel"}, now=2000)
    assert by_mod.fact is not None


def test_a_state_dumped_before_counted_existed_still_counts_its_people() -> None:
    """A `restored` fact written before identities had `counted` (and `source`): the people
    who declared a profile, asked or voted still count in the figures; the others do not."""
    state = _full_state()
    data = orjson.loads(orjson.dumps(dump_state(state)))
    for raw in data["identities"]:
        del raw["counted"], raw["source"]
    again = new_session("s1")
    apply(again, {"kind": "restored", "state": data, "ts": 6000})
    counted = {i.id: i.counted for i in again.identities.values()}
    # p1 declared a profile and voted, h1 asked; p2 only joined.
    assert counted == {"p1": 2000, "p2": None, "h1": 1500}


def test_a_relay_refuses_a_token_whose_session_id_is_not_one() -> None:
    """Every route checks session ids, and the archive refuses a path: the relay, which
    takes its session id from the hub's token, refuses a malformed one at start too."""
    import base64
    import json

    from hub.errors import HubError
    from hub.relay import Upstream

    def token(session: str) -> str:
        body = {"s": session, "r": "hub", "i": "h1", "n": "Nairobi", "x": 2**40}
        raw = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
        return f"{raw}.sig"

    assert Upstream.parse("https://m.example", token("Z_cQsjgg")).session == "Z_cQsjgg"
    for bad in ("../../etc", "a/b", "x" * 65, "ok\n"):
        with pytest.raises(HubError, match="session id"):
            Upstream.parse("https://m.example", token(bad))


async def test_erasing_a_connected_hub_writes_nothing_of_it_back(hub: RunningHub) -> None:
    """An erased hub's connection is closed, and a hub's last connection closing records a
    `hub_status` (the roll call): that must not write the erased hub's id and name back
    into the history the erasure just rewrote."""
    from tests.support.person_traces import NAME, stored_bytes, traces

    created = await hub.session(title="Hub erasure")
    sid = created["id"]
    url = f"{hub.base}/api/sessions/{sid}"
    status, named, _ = await ahttp("POST", f"{url}/tokens", {"role": "hub", "name": NAME},
                                   token=ADMIN_KEY)
    assert status == 201, named
    who = named["identity"]
    nairobi = Client(hub.ws_base, sid, named["token"])
    await nairobi.connect()
    await nairobi.ok({"type": "hub_status", "attendees": 12})
    status, answer, _ = await ahttp("DELETE", f"{url}/people/{who}", token=ADMIN_KEY)
    assert status == 200, answer
    await asyncio.wait_for(nairobi.closed.wait(), 10)
    session = await hub.app[keys.SESSIONS].get(sid)
    for _ in range(50):  # the roll call's record of a hub leaving is written in the back
        await asyncio.sleep(0.02)
    assert who not in str(session.state.hubs) and who not in str(session.state.identities)
    data = await stored_bytes(hub, sid)
    assert traces(data) == [] and who.encode() in data.split(b'"kind":"erased"', 1)[1]
    assert data.count(who.encode()) == 1  # only in the `erased` fact
