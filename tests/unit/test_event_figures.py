"""Event-wide participation figures: per session, day, track and event, and their privacy.
Sessions are run through the real domain (tests/support/event_figures_helpers.py);
every privacy test ends with the attacker: all relations between the published figures
solved together, which must pin no suppressed figure."""

from __future__ import annotations

import csv
import io
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.domain import commands, linked_tables, meeting
from hub.domain.event_figures import (
    DIMENSIONS,
    SECTIONS,
    CutFigures,
    EventFigures,
    FigureSource,
    event_figures,
    kept_cells,
    remote_share,
)
from hub.domain.event_figures_render import (
    CSV_HEAD,
    charts,
    comparison_html,
    english,
    to_csv,
    to_html,
    to_json,
)
from hub.domain.session import GENDERS, STAKEHOLDERS, SessionState
from hub.domain.stats import K, Table, suppression
from tests.support.domain_helpers import run
from tests.support.event_figures_helpers import (
    MINUTE,
    T0,
    Person,
    build_session,
    determined,
    equations,
    people,
    source,
)

AFTER = T0 + 120 * MINUTE  # a cut-off after every fixture session closed
DAYS = ("2026-06-23", "2026-06-24")


def crowd(women: int) -> list[Person]:
    return [
        *people(6, stakeholder="government", gender="man", country="KE", speaks=30),
        *people(7, in_room=True, stakeholder="civil_society", gender="man", country="BR"),
        *people(women, stakeholder="academia", gender="woman", country="FR"),
    ]


def ten_sessions(small: int = 3, small_session: int = 3) -> list[FigureSource]:
    """Ten sessions over two days and two tracks; session `small_session` has `small` women,
    every other one six."""
    sources = []
    for n in range(10):
        state = build_session(f"s{n}", crowd(small if n == small_session else 6),
                              room_count=40 if n % 2 else None,
                              hubs={"Accra": 12} if n % 3 == 0 else None)
        sources.append(source(state, DAYS[n % 2], "Access" if n < 5 else "Rights"))
    return sources


def pinned(figures: EventFigures, sources: list[FigureSource]) -> dict[Any, Any]:
    return determined(equations(figures, sources))


def published_cells(figures: EventFigures) -> list[tuple[CutFigures, str, Table]]:
    return [(c, s, t) for kind in ("session", "day", "track", "event")
            for c in figures.cuts(kind) for s, t in c.tables()]


# -- the figures ----------------------------------------------------------------------------


def test_every_cut_has_every_table() -> None:
    figures = event_figures(ten_sessions(), AFTER)
    assert [c.cut.key for c in figures.sessions] == [f"s{n}" for n in range(10)]
    assert [c.cut.key for c in figures.days] == list(DAYS)
    assert [c.cut.key for c in figures.tracks] == ["Access", "Rights"]
    assert figures.event.cut.sessions == 10 and figures.days[0].cut.sessions == 5
    assert figures.as_of == AFTER
    for cut in (*figures.sessions, *figures.days, *figures.tracks, figures.event):
        assert [s for s, _ in cut.tables()] == [
            "attendance", *["participants"] * 6, *["speakers"] * 6, *["speaking_time"] * 6,
            "remote", "remote"]
        assert [t.dimension for t in cut.participants] == list(DIMENSIONS)
    assert figures.cut("session", "s4").cut.title == "Session s4"
    with pytest.raises(KeyError):
        figures.cut("day", "2026-06-25")
    with pytest.raises(KeyError):
        figures.cuts("room")
    with pytest.raises(KeyError):
        figures.event.table("participants", "shoe_size")
    with pytest.raises(KeyError):
        figures.event.table("votes", "gender")


def test_the_event_adds_up_its_sessions_where_published() -> None:
    figures = event_figures(ten_sessions(small=6), AFTER)
    gender = figures.event.table("participants", "gender")
    assert gender.value("woman") == 60 and gender.value("man") == 130
    assert gender.total == 190 and gender.value("nonbinary") == 0
    for day in figures.days:
        assert day.table("participants", "gender").value("woman") == 30
    stakeholder = figures.cut("track", "Access").table("participants", "stakeholder")
    assert stakeholder.value("government") == 30 and stakeholder.value("academia") == 30
    region = figures.event.table("participants", "region")
    assert region.value("african") == 60 and region.value("weog") == 60
    assert region.value("latin_american_caribbean") == 70
    economy = figures.event.table("participants", "economy")
    assert economy.value("developing") == 130 and economy.value("developed") == 60
    origin = figures.event.table("participants", "origin")
    assert [c.group for c in origin.cells] == ["room", "remote"]  # hubs count in attendance
    assert origin.value("room") == 70 and origin.value("remote") == 120


def test_a_session_alone_in_its_relations_shows_what_its_own_report_shows() -> None:
    state = build_session("solo", crowd(6))
    figures = event_figures([source(state, DAYS[0], "Access")], AFTER)
    own = meeting.participation(state, meeting.figures_cutoff(state, AFTER))
    for dimension in DIMENSIONS:
        ours = figures.cut("session", "solo").table("participants", dimension)
        theirs = own.table("participants", dimension)
        assert {c.group: c.value for c in ours.cells} == {
            c.group: c.value for c in theirs.cells if c.group != "hub"}
        assert ours.total == theirs.total
        # One session, one day, one track: all four cuts are the same figures.
        assert figures.event.table("participants", dimension) == ours


def test_attendance_is_the_room_count_the_remote_participants_and_the_hubs() -> None:
    figures = event_figures(ten_sessions(small=6), AFTER)
    counted = figures.cut("session", "s1").attendance  # room count 40, no hub
    assert (counted.value("room"), counted.value("remote"), counted.value("hubs")) == (40, 12, 0)
    uncounted = figures.cut("session", "s0").attendance  # no count: the room's participants
    assert (uncounted.value("room"), uncounted.value("hubs")) == (7, 12)
    event = figures.event.attendance
    assert event.value("room") == 5 * 40 + 5 * 7
    assert event.value("remote") == 120
    assert event.value("hubs") == 4 * 12  # s0, s3, s6, s9


def test_who_had_the_floor_and_for_how_long_add_up_across_sessions() -> None:
    figures = event_figures(ten_sessions(small=6), AFTER)
    speakers = figures.event.table("speakers", "stakeholder")
    assert speakers.value("government") == 60 and speakers.total == 60
    time = figures.event.table("speaking_time", "stakeholder")
    assert time.measure == "seconds"
    assert time.value("government") == 60 * 30 and time.total == 60 * 30
    session = figures.cut("session", "s2")
    assert session.table("speaking_time", "gender").value("man") == 6 * 30


def test_remote_share_by_region() -> None:
    figures = event_figures(ten_sessions(small=6), AFTER)
    shares = remote_share(figures.event, "region")
    assert shares["african"] == 1.0  # everyone from Kenya joined remotely
    assert shares["latin_american_caribbean"] == 0.0  # everyone from Brazil was in the room
    assert shares["weog"] == 1.0
    assert shares["asia_pacific"] is None  # nobody: no share
    remote = figures.event.table("remote", "region")
    assert remote.total == figures.event.table("participants", "origin").value("remote")
    assert remote_share(figures.event, "economy")["developing"] == pytest.approx(60 / 130)


def test_a_live_session_stands_at_the_cut_off_and_a_closed_one_as_closed() -> None:
    live = build_session("live", crowd(6), closed=False)
    closed = build_session("done", crowd(6))
    sources = [source(live, DAYS[0], "Access"), source(closed, DAYS[0], "Access")]
    cutoff = T0 + 60 * MINUTE
    before = event_figures(sources, cutoff)
    for state in (live, closed):  # people who join after the cut-off, or after the close
        for n in range(8):
            run(state, commands.join(state, f"late{n}", "participant", f"Late {n}",
                                     {"gender": "nonbinary"}, False, cutoff + MINUTE))
    assert event_figures(sources, cutoff) == before  # no differencing over time
    later = event_figures(sources, cutoff + 5 * MINUTE)
    assert later.cut("session", "live").table("participants", "gender").value("nonbinary") == 8
    assert later.cut("session", "done").table("participants", "gender").value("nonbinary") == 0


def test_a_closed_sessions_cell_hidden_at_one_cut_off_stays_hidden_at_the_next() -> None:
    sources = [source(build_session(f"s{n}", crowd(3 if n == 0 else 6 + n)), DAYS[0], "A")
               for n in range(5)]
    live = build_session("z", crowd(0), closed=False)
    sources.append(source(live, DAYS[0], "A"))
    first_cut = T0 + 60 * MINUTE
    first = event_figures(sources, first_cut)

    def women(figures: EventFigures, session: str = "") -> int | None:
        cut = figures.cut("session", session) if session else figures.event
        return cut.table("participants", "gender").value("woman")

    assert women(first, "s0") is None and women(first, "s1") is None  # s1 protects s0
    for n in range(2):  # two women join the live session: its small cell joins the relation
        run(live, commands.join(live, f"w{n}", "participant", f"W {n}", {"gender": "woman"},
                                False, first_cut + MINUTE))
    second_cut = first_cut + 5 * MINUTE
    # Computed afresh, s1 is no longer needed and published: the first cut-off's leftover
    # (s0 + s1) minus s1 now gives s0's three women.
    fresh = event_figures(sources, second_cut)
    leftover = (women(first) or 0) - sum(women(first, s.session) or 0 for s in sources)
    assert women(fresh, "s1") is not None and leftover - (women(fresh, "s1") or 0) == 3
    # Given the first cut-off's figures, every closed session's suppressed cell stays so.
    second = event_figures(sources, second_cut, previous=first)
    assert women(second, "s0") is None and women(second, "s1") is None
    assert women(second) == women(first) + 2
    assert pinned(second, sources) == {}
    # After a restart or on another instance there is no `previous` in memory: the cells
    # recorded from the first cut-off (the event's `figures_kept`) do the same.
    recorded = kept_cells(sources, first)
    assert any(cell[3] == "s1" for cell in recorded)
    restarted = event_figures(sources, second_cut, kept=recorded)
    assert restarted == second


# -- privacy --------------------------------------------------------------------------------


def test_three_women_in_one_session_are_neither_its_cell_nor_a_total_minus_the_others() -> None:
    sources = ten_sessions(small=3, small_session=3)
    figures = event_figures(sources, AFTER)
    small = figures.cut("session", "s3").table("participants", "gender")
    assert small.is_suppressed("woman") and small.value("woman") is None
    assert small.total is not None  # 16 people: the table stands, the small cell does not
    # The differencing attack on every relation the session is in: its day, its track and
    # the event, each minus the other sessions' published cells.
    for kind, key in (("day", DAYS[1]), ("track", "Access"), ("event", "")):
        whole = figures.cut(kind, key).table("participants", "gender").value("woman")
        members = [s for s in sources if (kind == "event" or key in (s.day, s.track))]
        others = [figures.cut("session", s.session).table("participants", "gender")
                  for s in members if s.session != "s3"]
        hidden = [t for t in others if t.is_suppressed("woman")]
        if whole is not None:
            assert hidden, f"{kind} {key}: women minus the others would be 3"
            leftover = whole - sum(t.value("woman") or 0 for t in others)
            assert leftover != 3 and leftover >= K
    assert pinned(figures, sources) == {}


def test_a_session_too_small_for_any_figure_is_not_its_day_minus_the_others() -> None:
    sources = ten_sessions(small=6)
    tiny = build_session("tiny", people(3, stakeholder="media", gender="nonbinary",
                                        country="TV", youth=True))
    sources.append(source(tiny, DAYS[0], "Access"))
    figures = event_figures(sources, AFTER)
    session = figures.cut("session", "tiny")
    for _, table in session.tables():
        assert table.total is None or table.total == 0
        assert all(c.value in (None, 0) for c in table.cells)
    gender = session.table("participants", "gender")
    assert gender.total_suppressed and all(c.suppressed for c in gender.cells)
    day = figures.cut("day", DAYS[0]).table("participants", "gender")
    assert day.value("nonbinary") is None  # 3 across the day: under K
    totals = [figures.cut("session", s.session).table("participants", "gender").total
              for s in sources if s.day == DAYS[0] and s.session != "tiny"]
    if day.total is not None:
        assert None in totals, "the day's total minus the others' would be 3"
    assert pinned(figures, sources) == {}


def test_cells_suppressed_to_protect_another_session_are_protected_in_their_own_table() -> None:
    sources = ten_sessions(small=3, small_session=3)
    figures = event_figures(sources, AFTER)
    for cut, _section, table in published_cells(figures):
        hidden = [c for c in table.cells if c.suppressed]
        if table.total is not None and hidden:
            assert len(hidden) >= 2, (cut.cut, table)
            assert table.total - sum(c.value or 0 for c in table.cells) >= K


def test_a_cell_hidden_for_another_relation_is_never_alone_in_its_table() -> None:
    # "government" (9) was suppressed across sessions: alone it is the total minus the rest.
    assert suppression({"government": 9, "media": 7, "academia": 6}, hidden=["government"]) == (
        frozenset({"government", "academia"}), False)
    assert suppression({"government": 9, "media": 0}, hidden=["government"]) == (
        frozenset({"government", "media"}), True)
    assert suppression({"a": 9}, hidden=["elsewhere"]) == (frozenset(), False)


def test_relations_safe_one_at_a_time_can_pin_a_cell_together_and_then_one_more_is_hidden() -> (
    None
):
    grid = linked_tables.Grid()
    grid.values.update({("a",): 3, ("b",): 4, ("c",): 6, ("d",): 9, ("t1",): 7, ("t2",): 22})
    grid.line([("a",), ("b",)], ("t1",), own=False)  # a + b = 7
    grid.line([("a",), ("b",), ("c",), ("d",)], ("t2",), own=False)  # a + b + c + d = 22
    # With a, b and c suppressed each relation alone is safe; together t2 - t1 - d = c.
    assert linked_tables.pinned(grid, {("a",), ("b",), ("c",)}) == {("c",)}
    hidden = linked_tables.protect(grid)
    assert {("a",), ("b",)} <= hidden
    assert linked_tables.pinned(grid, hidden) == set()


def no_small_figure(figures: EventFigures) -> None:
    for _cut, section, table in published_cells(figures):
        if section == "speaking_time":
            continue
        for value in (*(c.value for c in table.cells), table.total):
            assert value is None or value == 0 or value >= K


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_suppressed_figure_of_a_random_event_can_be_worked_out(data: st.DataObject) -> None:
    count = data.draw(st.integers(2, 6))
    sources = []
    for n in range(count):
        size = data.draw(st.integers(0, 14))
        crowd = [
            Person(
                data.draw(st.fixed_dictionaries({}, optional={
                    "stakeholder": st.sampled_from(STAKEHOLDERS[:3]),
                    "gender": st.sampled_from(GENDERS[:3]),
                    "country": st.sampled_from(["KE", "FR", "BR"]),
                    "youth": st.booleans(),
                })),
                data.draw(st.booleans()),
                data.draw(st.sampled_from([0, 0, 20])),
            )
            for _ in range(size)
        ]
        room = data.draw(st.sampled_from([None, 3, 30]))
        hubs = data.draw(st.sampled_from([None, {"Accra": 2}, {"Lima": 9}]))
        state = build_session(f"s{n}", crowd, room_count=room, hubs=hubs)
        sources.append(source(state, DAYS[data.draw(st.integers(0, 1))],
                              data.draw(st.sampled_from(["A", "B", ""]))))
    figures = event_figures(sources, AFTER)
    no_small_figure(figures)
    assert pinned(figures, sources) == {}


def test_forty_sessions_of_random_people_leave_nothing_to_work_out() -> None:
    draw = random.Random(14)
    sources = []
    for n in range(40):
        crowd = []
        for _ in range(draw.randint(0, 30)):
            profile: dict[str, Any] = {}
            if draw.random() < 0.8:
                profile["stakeholder"] = draw.choice(STAKEHOLDERS)
            if draw.random() < 0.7:
                profile["country"] = draw.choice(["KE", "BR", "FR", "US", "CN", "IN", "TV"])
            if draw.random() < 0.7:
                profile["gender"] = draw.choice(GENDERS)
            if draw.random() < 0.5:
                profile["youth"] = draw.random() < 0.3
            crowd.append(Person(profile, draw.random() < 0.5, draw.choice([0, 0, 60])))
        state = build_session(f"s{n}", crowd, room_count=draw.choice([None, 30, 80]),
                              hubs={"Accra": draw.randint(0, 20)} if n % 5 == 0 else None)
        sources.append(source(state, f"2026-06-{23 + n % 5}", f"Track {n % 4}"))
    figures = event_figures(sources, AFTER)
    no_small_figure(figures)
    assert pinned(figures, sources) == {}
    # Still useful: the event's main figures are published.
    assert figures.event.table("participants", "gender").total is not None
    assert figures.event.table("participants", "gender").value("woman") is not None


# -- bad input ------------------------------------------------------------------------------


def some_state() -> SessionState:
    return build_session("s0", crowd(6))


@pytest.mark.parametrize(
    ("day", "session", "message"),
    [
        ("23/06/2026", "s0", "not a date"),
        ("2026-02-30", "s0", "not a date"),
        ("2026-06-23\n", "s0", "not a date"),
        ("2026-06-23", "", "session id is empty"),
    ],
)
def test_a_bad_source_is_refused_by_number(day: str, session: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        event_figures([FigureSource(session, "T", day, "", some_state())], AFTER)
    assert "source 1" in str(refused.value)


def test_a_session_listed_twice_is_refused() -> None:
    state = some_state()
    twice = [FigureSource("s0", "T", DAYS[0], "", state)] * 2
    with pytest.raises(ValueError, match="source 2: session 's0' is listed twice"):
        event_figures(twice, AFTER)


def test_an_event_without_sessions_has_empty_figures() -> None:
    figures = event_figures([], AFTER)
    assert figures.sessions == figures.days == figures.tracks == ()
    assert figures.event.table("participants", "gender").total == 0


# -- renderings -----------------------------------------------------------------------------


def rendered_event() -> EventFigures:
    sources = ten_sessions(small=3)
    hostile = build_session("evil", crowd(6), title='=HYPERLINK("http://x.example")<script>')
    sources.append(source(hostile, DAYS[0], "@SUM(A1) & <b>"))
    return event_figures(sources, AFTER)


def test_json_has_every_cut_and_no_value_for_a_suppressed_figure() -> None:
    figures = rendered_event()
    data = to_json(figures)
    assert data["as_of"] == AFTER and data["k"] == K
    assert len(data["sessions"]) == 11 and data["event"]["kind"] == "event"
    small = next(s for s in data["sessions"] if s["key"] == "s3")
    gender = next(t for t in small["participants"] if t["dimension"] == "gender")
    woman = next(c for c in gender["cells"] if c["group"] == "woman")
    assert woman == {"group": "woman", "value": None, "suppressed": True}
    assert data["event"]["remote_share"]["region"]["african"] == 1.0
    assert set(data["event"]) >= {"attendance", *SECTIONS, "remote_share"}


def test_csv_is_one_file_with_the_session_reports_marker_and_no_formulas() -> None:
    figures = rendered_event()
    rows = list(csv.reader(io.StringIO(to_csv(figures))))
    assert tuple(rows[0]) == CSV_HEAD
    body = [dict(zip(CSV_HEAD, row, strict=True)) for row in rows[1:]]
    small = [r for r in body if r["cut"] == "s3" and r["dimension"] == "gender"
             and r["section"] == "participants"]
    assert {r["group"]: r["value"] for r in small}["woman"] == "suppressed"
    assert {r["group"]: r["label"] for r in small}["woman"] == "Woman"
    assert {r["cut_kind"] for r in body} == {"session", "day", "track", "event"}
    evil = [r for r in body if r["cut"] == "evil"]
    assert evil[0]["cut_title"].startswith("'=HYPERLINK")
    tracks = {r["cut"] for r in body if r["cut_kind"] == "track"}
    assert "'@SUM(A1) & <b>" in tracks
    for row in rows[1:]:
        for field in row:
            assert not field.startswith(("=", "+", "-", "@")), field


def test_charts_are_accessible_svg_with_the_figures_in_words() -> None:
    figures = rendered_event()
    svg = charts(figures.event)
    assert svg.count('role="img"') == 6
    assert svg.count('<title id="chart-event-') == 6
    ids = re.findall(r'id="([^"]+)"', svg)
    assert len(ids) == len(set(ids))
    assert re.search(r"<desc id=\"[^\"]+\">[^<]*Woman: \d+", svg)
    small = charts(figures.cut("session", "s3"))
    assert "Woman: suppressed" in small
    track = charts(figures.cut("track", "@SUM(A1) & <b>"))
    assert "<b>" not in track and all(re.fullmatch(r"[A-Za-z0-9_-]+", i)
                                      for i in re.findall(r'id="([^"]+)"', track))


def test_html_fragment_has_captions_and_header_scopes_and_escapes_user_text() -> None:
    figures = rendered_event()
    html = to_html(figures, "session", "evil")
    assert html.startswith('<section class="event-figures"')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<caption>") == 1 + 6 + 6 + 2
    assert '<th scope="col">' in html and '<th scope="row">' in html
    assert "<h2 " in html and "Session: =HYPERLINK" in html
    assert "Figures as of " in html
    small = to_html(figures, "session", "s3", level=3)
    assert '<td class="suppressed">suppressed</td>' in small and "<h3 " in small
    with pytest.raises(KeyError):
        to_html(figures, "session", "nope")
    with pytest.raises(ValueError, match="heading level"):
        to_html(figures, level=7)


def test_comparison_table_lists_every_day() -> None:
    figures = rendered_event()
    table = comparison_html(figures, "day", "participants", "gender")
    assert table.count('<tr><th scope="row">') == 2
    assert "<caption>Participants by gender (Day)</caption>" in table
    assert comparison_html(figures, "track", "attendance", "attendance").count("<tr>") == 4


def test_every_text_comes_from_the_injected_label_function() -> None:
    figures = rendered_event()
    asked: list[str] = []

    def french(key: str) -> str:
        asked.append(key)
        english(key)  # every key the renderers ask for has an English text
        return "FR«" + key + "»" if key != "as_of" else "Chiffres au {moment} UTC."

    html = to_html(figures, label=french) + comparison_html(figures, "day", label=french)
    text = re.sub(r"<[^>]+>", "\n", html)
    for line in filter(None, (t.strip() for t in text.split("\n"))):
        assert "FR«" in line or "Chiffres au" in line or re.fullmatch(r"[\d:%-]+", line), line
    assert "FR«word:suppressed»" in to_html(figures, "session", "s3", label=french)
    rows = list(csv.reader(io.StringIO(to_csv(figures, label=french))))
    assert rows[1][6].startswith("FR«group:")
    assert rows[1][8] in ("suppressed", *map(str, range(1000)))  # the marker is not translated
    assert {k.split(":")[0] for k in asked} >= {"group", "title", "word", "cut", "note"}
