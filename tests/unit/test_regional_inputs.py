"""Inputs from the regions, pure: what a hub brought to the sessions it followed, what the
meeting took up only, anonymous askers unnamed, attendance counts suppressed as figures."""

from __future__ import annotations

import json

from hub.domain import commands, regional_inputs
from hub.domain import forum as fdomain
from hub.domain.commands import Actor
from hub.domain.fact_kinds import apply
from hub.domain.forum import ForumState
from hub.domain.programme import ProgrammeRow
from hub.domain.session import SessionState, new_session
from tests.support.domain_helpers import MOD, ask, moderate, run

KENYA = Actor("hub-kenya", "hub", "Kenya IGF")
PACIFIC = Actor("hub-pacific", "hub", "Pacific hub")
WANJIRU = Actor("att-1", "participant", "Wanjiru")
OTIENO = Actor("att-2", "participant", "Otieno")
HOUR = 3_600_000
START = 1_800_000_000_000  # 2027-01-15 08:00 UTC


def event() -> ForumState:
    state = fdomain.new_forum("igf")
    fdomain.apply(state, fdomain.create({"title": "IGF 2027", "start": "2027-01-15",
                                         "timezone": "UTC"}, now=1))
    rows = [ProgrammeRow(n, f"WS{n}", f"Workshop {n}", START + n * HOUR,
                         START + (n + 1) * HOUR) for n in (1, 2, 3)]
    fdomain.apply(state, fdomain.import_programme(state, rows, source="csv", by="t", now=2))
    for actor, sessions in ((KENYA, ["igf-1", "igf-2"]), (PACIFIC, [])):
        fdomain.apply(state, fdomain.register_hub(
            state, {"name": actor.name, "kind": "nri", "city": "Nairobi", "country": "KE",
                    "sessions": sessions}, hub_id=actor.id, now=3))
    return state


def session(session_id: str) -> SessionState:
    state = new_session(session_id)
    apply(state, commands.create(title=session_id, languages=["en"], state="live",
                                 settings={"premoderation": True}, now=1000))
    for actor in (MOD, KENYA, PACIFIC):
        run(state, commands.join(state, actor.id, actor.role, actor.name, None, False, 1000))
    for attendee in (WANJIRU, OTIENO):
        run(state, commands.join(state, attendee.id, attendee.role, attendee.name, None,
                                 False, 1000, hub=KENYA.id))
    return state


def report(state: SessionState, hub: Actor, attendees: int) -> None:
    run(state, commands.hub_status(state, hub, attendees=attendees, now=3000))


def forwarded(state: SessionState, attendee: Actor, text: str, **kw: object) -> str:
    item = ask(state, attendee, text, key=text, **kw)
    run(state, commands.forward(state, KENYA, item, 3, 2500))
    return item


def two_sessions() -> dict[str, SessionState]:
    first, second = session("igf-1"), session("igf-2")
    report(first, KENYA, 12)
    report(first, KENYA, 8)
    report(second, KENYA, 30)
    report(second, PACIFIC, 2)
    approved = ask(first, KENYA, "What do the regions need?", key="a")
    moderate(first, approved, "approve")
    ask(first, KENYA, "Still pending", key="b")
    rejected = ask(first, KENYA, "Rejected text", key="c")
    moderate(first, rejected, "reject")
    anonymous = forwarded(first, WANJIRU, "Who pays for rural access?", anonymous=True)
    moderate(first, anonymous, "approve")
    withdrawn = ask(first, KENYA, "Withdrawn later", key="d")
    moderate(first, withdrawn, "approve")
    run(first, commands.withdraw(first, KENYA, withdrawn))
    declined = ask(first, OTIENO, "Declined by the hub", key="e")
    run(first, commands.decline(first, KENYA, declined, None))
    named = forwarded(second, OTIENO, "A named <b>comment</b>", kind="comment")
    moderate(second, named, "approve")
    moderate(second, named, "live")
    moderate(second, named, "done")
    other = ask(second, PACIFIC, "From the Pacific", key="p")
    moderate(second, other, "approve")
    return {"igf-1": first, "igf-2": second}


def test_a_hub_brings_what_the_meeting_took_up_grouped_by_session() -> None:
    digest = regional_inputs.build(event(), two_sessions(), now=5, hub_id=KENYA.id)
    (kenya,) = digest.hubs
    assert [(s.session, [i.text for i in s.inputs]) for s in kenya.sessions] == [
        ("igf-1", ["What do the regions need?", "Who pays for rural access?"]),
        ("igf-2", ["A named <b>comment</b>"]),
    ]
    first = kenya.sessions[0].inputs
    assert [(i.by_hub, i.author) for i in first] == [(True, None), (False, None)]
    assert kenya.sessions[1].inputs[0].author == "Otieno"
    assert kenya.sessions[1].inputs[0].status == "done"
    assert kenya.sessions[0].kinds() == {"question": 2} and kenya.inputs == 3
    assert [(a.session, a.connected, a.peak) for a in kenya.attendance] == [
        ("igf-1", True, 12), ("igf-2", True, 30)]
    assert kenya.peak_total == 42 and kenya.connected == 2 and kenya.followed == 2


def test_the_events_digest_has_every_hub_and_small_counts_hidden() -> None:
    digest = regional_inputs.build(event(), two_sessions(), now=5)
    assert [h.name for h in digest.hubs] == ["Kenya IGF", "Pacific hub"]
    pacific = digest.hubs[1]
    assert pacific.followed == 3  # `sessions: []`: the whole programme
    # 2 attendees in one session, none in the others: a total under 5 hides every cell.
    assert [(a.session, a.connected, a.peak, a.suppressed) for a in pacific.attendance] == [
        ("igf-1", True, None, True), ("igf-2", True, None, True), ("igf-3", False, None, True)]
    assert pacific.peak_total is None
    assert [(s.session, len(s.inputs)) for s in digest.sessions] == [("igf-1", 2), ("igf-2", 2)]
    assert digest.inputs == 4 and digest.kinds() == {"question": 3, "comment": 1}


def test_the_renderers_name_no_anonymous_asker_and_show_nothing_not_taken_up() -> None:
    digest = regional_inputs.build(event(), two_sessions(), now=5)
    markdown = regional_inputs.to_markdown(digest)
    html = regional_inputs.to_html(digest)
    data = regional_inputs.to_json(digest)
    text = json.dumps(data)
    for rendered in (markdown, html, text):
        assert "Wanjiru" not in rendered  # asked anonymously
        for hidden in ("Still pending", "Rejected text", "Withdrawn later", "Declined by"):
            assert hidden not in rendered
        assert "Who pays for rural access" in rendered
    assert "an anonymous attendee, forwarded by Kenya IGF" in markdown
    assert "A named \\<b\\>comment\\</b\\>" in markdown  # user text is inert
    assert "A named &lt;b&gt;comment&lt;/b&gt;" in html and "<b>comment" not in html
    assert data["counts"] == {"hubs": 2, "hubs_with_inputs": 2, "sessions": 2, "inputs": 4,
                              "kinds": {"question": 3, "comment": 1}}
    entry = data["sessions"][0]["inputs"][1]
    assert entry["from"] == "attendee" and entry["author"] is None and entry["backing"] == 3


def test_a_session_not_loaded_or_without_the_hub_counts_nothing() -> None:
    digest = regional_inputs.build(event(), {}, now=5, hub_id=KENYA.id)
    (kenya,) = digest.hubs
    assert kenya.sessions == () and kenya.connected == 0 and kenya.peak_total == 0
    assert "No input from the hubs has been taken up yet." in regional_inputs.to_markdown(digest)
