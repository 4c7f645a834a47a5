"""Events (forums), pure: creating one, importing its programme, hubs, reviewed reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.domain import forum
from hub.domain.facts import UnknownFact
from hub.domain.forum import ForumState
from hub.domain.programme import Organizer, ProgrammeRow
from hub.errors import HubError

OSLO = ZoneInfo("Europe/Oslo")


def at(day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2026, 6, day, hour, minute, tzinfo=OSLO).timestamp() * 1000)


def event(**extra: Any) -> ForumState:
    state = forum.new_forum("igf26")
    body = {"title": "IGF 2026", "start": "2026-06-22", "end": "2026-06-26",
            "timezone": "Europe/Oslo", **extra}
    fold(state, forum.create(body, now=1))
    return state


def fold(state: ForumState, fact: dict[str, Any] | None) -> None:
    assert fact is not None
    forum.apply(state, fact)
    state.offset += 1


def row(n: int, **extra: Any) -> ProgrammeRow:
    fields: dict[str, Any] = {
        "line": n + 1, "external_id": f"WS{n}", "title": f"Workshop {n}",
        "start": at(23, 9 + n), "end": at(23, 10 + n), "room": "Room A",
        "track": "Digital inclusion", "kind": "workshop",
        "organizers": (Organizer("Amina Diallo", "amina@example.org"),),
        "languages": ("en", "fr"), **extra}
    return ProgrammeRow(**fields)


@pytest.mark.parametrize(("body", "message"), [
    ({"title": "X", "start": "2026-06-22", "timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"title": "X", "start": "2026-06-22", "end": "2026-06-21", "timezone": "UTC"},
     "before `start`"),
    ({"title": "X", "start": "2026-06-01", "end": "2026-08-01", "timezone": "UTC"},
     "at most 31 days"),
    ({"title": "X", "start": "22/06/2026", "timezone": "UTC"}, "YYYY-MM-DD"),
    ({"title": "  ", "start": "2026-06-22", "timezone": "UTC"}, "the title is empty"),
    ({"start": "2026-06-22", "timezone": "UTC"}, "`title` is required"),
    ({"title": "X", "start": "2026-06-22", "timezone": "UTC", "colour": "red"},
     "unknown field 'colour'"),
    ({"title": "X", "start": "2026-06-22", "timezone": "UTC", "languages": ["en", "EN"]},
     "listed twice"),
])
def test_an_event_is_refused_with_the_reason(body: dict[str, Any], message: str) -> None:
    with pytest.raises(HubError) as refused:
        forum.create(body, now=1)
    assert message in refused.value.message


def test_a_one_day_event_ends_the_day_it_starts_and_lists_its_days() -> None:
    state = forum.new_forum("nri")
    fold(state, forum.create({"title": "Kenya IGF", "start": "2026-07-02",
                              "timezone": "Africa/Nairobi"}, now=5))
    assert (state.start, state.end, state.days()) == ("2026-07-02", "2026-07-02",
                                                      ["2026-07-02"])
    assert state.created == 5 and state.languages == ["en"]


def test_changing_an_event_keeps_its_dates_in_order_and_skips_no_change() -> None:
    state = event()
    assert forum.change(state, {"title": "IGF 2026"}, now=2) is None
    with pytest.raises(HubError, match="before"):
        forum.change(state, {"end": "2026-06-20"}, now=2)
    fold(state, forum.change(state, {"venue": "Lillestrøm", "end": "2026-06-27"}, now=2))
    assert (state.venue, state.end, len(state.days())) == ("Lillestrøm", "2026-06-27", 6)


def test_an_import_numbers_new_sessions_and_keeps_them_on_reimport() -> None:
    state = event()
    fact = forum.import_programme(state, [row(1), row(2)], source="csv", by="o", now=3)
    assert [r["session"] for r in fact["sessions"]] == ["igf26-1", "igf26-2"]
    assert len(forum.changed_sessions(state, fact)) == 2
    fold(state, fact)
    again = forum.import_programme(state, [row(1), row(2)], source="csv", by="o", now=4)
    assert forum.changed_sessions(state, again) == []
    moved = forum.import_programme(state, [row(2, room="Room B"), row(3), row(1)],
                                   source="csv", by="o", now=5)
    assert [r["session"] for r in forum.changed_sessions(state, moved)] == ["igf26-2",
                                                                            "igf26-3"]
    fold(state, moved)
    assert state.sessions["igf26-2"].room == "Room B"
    assert state.external == {"WS1": "igf26-1", "WS2": "igf26-2", "WS3": "igf26-3"}
    assert [s.session for s in state.programme()] == ["igf26-1", "igf26-2", "igf26-3"]
    assert state.imports == 2 and state.numbered == 3


def test_a_session_outside_the_event_days_fails_the_whole_import() -> None:
    state = event()
    late = row(2, start=at(28, 9), end=at(28, 10))
    with pytest.raises(HubError) as refused:
        forum.import_programme(state, [row(1), late], source="csv", by="o", now=3)
    assert "line 3" in refused.value.message
    assert refused.value.extra["problems"][0]["line"] == 3
    with pytest.raises(HubError, match="no sessions"):
        forum.import_programme(state, [], source="csv", by="o", now=3)


def test_the_day_of_a_session_is_the_event_local_day() -> None:
    state = event()
    assert state.day_of(at(23, 0, 30)) == "2026-06-23"  # 22:30 UTC the day before


def imported() -> ForumState:
    state = event()
    fold(state, forum.import_programme(state, [row(1), row(2)], source="csv", by="o", now=3))
    return state


def test_hubs_are_registered_with_the_sessions_they_follow() -> None:
    state = imported()
    fact = forum.register_hub(state, {"name": "Kenya IGF", "kind": "nri", "city": "Nairobi",
                                      "country": "ke", "sessions": ["igf26-2"]},
                              hub_id="h1", now=7)
    fold(state, fact)
    hub = state.hubs["h1"]
    assert (hub.country, hub.follows("igf26-2"), hub.follows("igf26-1")) == ("KE", True, False)
    for body, message in [({"name": "X", "kind": "club"}, "`kind`"),
                          ({"name": "X", "kind": "nri", "sessions": ["igf26-9"]}, "no session"),
                          ({"kind": "nri"}, "`name` is required")]:
        with pytest.raises(HubError) as refused:
            forum.register_hub(state, body, hub_id="h2", now=8)
        assert message in refused.value.message


def test_a_report_is_saved_then_published_after_the_session_closed() -> None:
    state = imported()
    assert state.report("igf26-1").status == forum.NONE
    body = {"takeaways": ["Connectivity is a right", " "], "calls": ["Fund community networks"],
            "summary": "We met.", "gender": {"participants": 40, "women": 22,
                                              "discussed": True, "how": "Panel parity"}}
    fold(state, forum.save_report(state, "igf26-1", body, publish=False, closed=False,
                                  by="so", now=10))
    report = state.report("igf26-1")
    assert report.status == forum.DRAFT and report.draft is not None
    assert report.draft.takeaways == ("Connectivity is a right",)
    with pytest.raises(HubError, match="not closed"):
        forum.save_report(state, "igf26-1", {}, publish=True, closed=False, by="so", now=11)
    fold(state, forum.save_report(state, "igf26-1", {"summary": "We met twice."}, publish=True,
                                  closed=True, by="so", now=12))
    report = state.report("igf26-1")
    assert report.status == forum.PUBLISHED and report.first_published == 12
    assert report.published is not None and report.published.gender.women == 22
    assert report.published.summary == "We met twice."
    fold(state, forum.withdraw_report(state, "igf26-1", by="sec", now=13))
    assert state.report("igf26-1").status == forum.DRAFT
    with pytest.raises(HubError, match="not published"):
        forum.withdraw_report(state, "igf26-1", by="sec", now=14)


@pytest.mark.parametrize(("body", "message"), [
    ({"takeaways": ["a", "b", "c", "d"]}, "at most 3 takeaways"),
    ({"calls": ["a", "b", "c"]}, "at most 2 calls"),
    ({"takeaways": ["x" * 601]}, "the limit is 600"),
    ({"gender": {"participants": 10, "women": 11}}, "more than"),
    ({"gender": {"participants": -1}}, "whole number"),
    ({"gender": {"discussed": "yes"}}, "true, false or null"),
    ({"gender": {"men": 3}}, "`gender` takes"),
    ({"summary": 5}, "`summary`"),
    ({"title": "x"}, "unknown field 'title'"),
])
def test_a_report_with_bad_fields_is_refused_and_nothing_is_saved(
    body: dict[str, Any], message: str
) -> None:
    state = imported()
    with pytest.raises(HubError) as refused:
        forum.save_report(state, "igf26-1", body, publish=False, closed=True, by="so", now=9)
    assert message in refused.value.message
    assert state.report("igf26-1").status == forum.NONE


def test_publishing_needs_a_takeaway_and_a_session_of_the_event() -> None:
    state = imported()
    with pytest.raises(HubError, match="at least one key takeaway"):
        forum.save_report(state, "igf26-1", {"summary": "s"}, publish=True, closed=True,
                          by="so", now=9)
    with pytest.raises(HubError, match="no session 'other'"):
        forum.save_report(state, "other", {}, publish=False, closed=True, by="so", now=9)


def test_a_fact_of_a_newer_version_is_a_clear_error() -> None:
    state = event()
    with pytest.raises(UnknownFact, match=r"fact kind 'forum_poll' .*unknown to this version; "
                       r"written by a newer hub\?"):
        forum.apply(state, {"kind": "forum_poll", "ts": 1})


def test_only_event_ids_that_make_session_ids_are_valid() -> None:
    assert forum.valid_forum_id("igf-2026")
    assert not forum.valid_forum_id("ig")
    assert not forum.valid_forum_id("x" * 41)
    assert not forum.valid_forum_id("igf.2026")
    assert forum.log_id("igf") == "forum.igf" and forum.is_forum_log("forum.igf")


def test_before_a_draft_is_saved_fields_not_sent_keep_the_prefill() -> None:
    state = imported()
    shown = forum.ReviewedReport(takeaways=("Flagged in the room",),
                                 gender=forum.Gender(participants=30))
    fact = forum.save_report(state, "igf26-1", {"calls": ["Act"]}, publish=True, closed=True,
                             by="so", now=9, prefill=shown)
    fold(state, fact)
    published = state.report("igf26-1").published
    assert published is not None
    assert (published.takeaways, published.calls, published.gender.participants) == (
        ("Flagged in the room",), ("Act",), 30)
    # once saved, the saved draft is the base, not the prefill
    fold(state, forum.save_report(state, "igf26-1", {"summary": "s"}, publish=False,
                                  closed=True, by="so", now=10,
                                  prefill=forum.ReviewedReport(takeaways=("Other",))))
    draft = state.report("igf26-1").draft
    assert draft is not None and draft.takeaways == ("Flagged in the room",)


def test_figures_cells_once_suppressed_are_kept_and_only_new_ones_are_recorded() -> None:
    state = imported()
    cells = [("participants", "gender", "session", "igf26-1", "woman")]
    fold(state, forum.keep_figures(state, cells, now=5))
    assert state.figures_kept == {cells[0]}
    assert forum.keep_figures(state, cells, now=6) is None  # nothing new: nothing appended
    more = [*cells, ("participants", "gender", "session", "igf26-2", "woman")]
    fact = forum.keep_figures(state, more, now=7)
    assert fact is not None and fact["cells"] == [list(more[1])]
