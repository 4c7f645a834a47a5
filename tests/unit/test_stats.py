"""Participation figures with small-cell suppression, and the region table behind them."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain import regions
from hub.domain.ordering import Turn
from hub.domain.stats import (
    DIMENSIONS,
    OTHER_COUNTRIES,
    K,
    Participant,
    Table,
    count_table,
    participation,
    suppression,
    time_table,
)

T0 = 1_700_000_000_000


def published(table: Table) -> dict[str, int]:
    return {c.group: c.value for c in table.cells if c.value is not None}


def hidden(table: Table) -> list[str]:
    return [c.group for c in table.cells if c.suppressed]


def possible_values(table: Table, group: str) -> set[int]:
    """Every value an attacker could give `group`, knowing the published cells and total.

    Suppressed cells hold at least 1 (zeros are published); their sum is the total minus the
    published cells. With the total suppressed, nothing bounds them: answer two values.
    """
    secret = hidden(table)
    if table.total is None:
        return {1, 2}
    remaining = table.total - sum(published(table).values())
    values: set[int] = set()
    for assignment in itertools.product(range(1, remaining + 1), repeat=len(secret)):
        if sum(assignment) == remaining:
            values.add(assignment[secret.index(group)])
    return values


# -- the rule -------------------------------------------------------------------------------


def test_a_cell_under_five_is_suppressed_with_the_next_smallest_so_totals_do_not_reveal_it() -> (
    None
):
    table = count_table("gender", {"woman": 12, "man": 9, "nonbinary": 1})
    assert table.total == 22
    assert table.value("woman") == 12
    assert table.is_suppressed("nonbinary") and table.value("nonbinary") is None
    # The subtraction attack: total minus every published cell.
    leftover = table.total - sum(published(table).values())
    assert leftover != 1
    assert table.is_suppressed("man")  # secondary suppression
    assert leftover == 10  # only the sum of two suppressed cells, at least K
    assert table.value("undisclosed") == 0  # zero names nobody and stays published
    assert possible_values(table, "nonbinary") == set(range(1, 10))


def test_a_total_under_five_suppresses_the_whole_table_zeros_included() -> None:
    table = count_table("gender", {"woman": 3})
    assert table.total is None and table.total_suppressed
    assert all(c.suppressed and c.value is None for c in table.cells)


def test_suppressed_cells_are_never_pinned_by_how_many_they_are() -> None:
    # Five cells of one person each: their sum (5) would pin each to exactly 1.
    counts = {
        "government": 1,
        "civil_society": 1,
        "private_sector": 1,
        "technical": 1,
        "academia": 1,
        "media": 10,
    }
    table = count_table("stakeholder", counts)
    assert table.is_suppressed("media")
    assert possible_values(table, "government") != {1}
    # With nothing left to add, the total goes instead.
    only_ones = count_table("stakeholder", {g: 1 for g in list(counts)[:5]})
    assert only_ones.total is None


def test_nothing_is_suppressed_when_every_cell_is_zero_or_five_and_more() -> None:
    table = count_table("youth", {"youth": 5, "not_youth": 30})
    assert hidden(table) == []
    assert table.total == 35
    assert published(table) == {"youth": 5, "not_youth": 30, "not_declared": 0}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefg"), st.integers(0, 12), min_size=1))
def test_no_suppressed_cell_can_be_recovered_from_the_published_figures(
    counts: dict[str, int],
) -> None:
    table = count_table("anything", counts)
    figures = published(table)
    assert all(value == 0 or value >= K for value in figures.values())
    assert table.total is None or table.total == 0 or table.total >= K
    secret = hidden(table)
    if table.total is not None and secret:
        leftover = table.total - sum(figures.values())
        assert len(secret) >= 2
        assert leftover >= K
        assert leftover == sum(counts.get(g, 0) for g in secret)
        if len(secret) <= 4:
            for group in secret:
                assert len(possible_values(table, group)) >= 2


def test_suppression_works_on_plain_counts() -> None:
    assert suppression({"a": 7, "b": 0}) == (frozenset(), False)
    assert suppression({"a": 7, "b": 2, "c": 6}) == (frozenset({"b", "c"}), False)
    assert suppression({"a": 2, "b": 1}) == (frozenset({"a", "b"}), True)
    assert suppression({}) == (frozenset(), False)


def test_time_is_published_only_where_the_speaker_count_is() -> None:
    speakers = count_table("stakeholder", {"government": 6, "civil_society": 5, "academia": 2})
    time = time_table(
        "stakeholder", {"government": 600, "civil_society": 300, "academia": 50}, speakers
    )
    assert time.measure == "seconds"
    assert hidden(time) == hidden(speakers) == ["civil_society", "academia"]
    assert time.value("government") == 600
    assert time.total == 950
    # Total time minus published time is the time of two groups, at least five people.
    assert time.total - sum(published(time).values()) == 350


# -- the figures of a meeting ---------------------------------------------------------------


def people(count: int, origin: str = "remote", **profile: Any) -> list[Participant]:
    return [Participant(origin, dict(profile)) for _ in range(count)]


def test_participation_figures_by_every_cut() -> None:
    participants = [
        *people(6, "room", stakeholder="government", country="KE", gender="woman"),
        *people(5, "remote", stakeholder="civil_society", country="BR", gender="man", youth=True),
        *people(2, "remote", stakeholder="civil_society", country="TV", gender="woman"),
        *people(1, "remote", stakeholder="academia", country="DE", gender="nonbinary"),
        *people(4, "remote"),
    ]
    stats = participation(participants, hub_attendees={"Accra": 12, "Lima": 8}, room_count=30)
    assert [t.dimension for t in stats.participants] == list(DIMENSIONS)
    assert published(stats.attendance) == {"room": 30, "remote": 12, "hubs": 20}
    assert stats.attendance.total == 62
    assert published(stats.hubs) == {"Accra": 12, "Lima": 8}

    stakeholder = stats.table("participants", "stakeholder")
    assert stakeholder.total == 18
    assert stakeholder.value("government") == 6
    assert stakeholder.value("civil_society") == 7
    assert stakeholder.is_suppressed("academia") and stakeholder.is_suppressed("not_declared")

    region = stats.table("participants", "region")
    assert region.value("african") == 6
    assert region.value("latin_american_caribbean") == 5
    assert region.is_suppressed("asia_pacific")  # Tuvalu, 2 people

    economy = stats.table("participants", "economy")
    assert economy.value("developing") == 13
    assert economy.is_suppressed("developed")

    country = stats.table("participants", "country")
    groups = [c.group for c in country.cells]
    assert "TV" not in groups and "DE" not in groups  # a rare country is never named
    assert country.value("KE") == 6 and country.value("BR") == 5
    assert country.is_suppressed(OTHER_COUNTRIES)  # TV + DE = 3 people

    assert stats.table("participants", "youth").value("youth") == 5
    assert stats.table("participants", "origin").value("room") == 6


def test_room_attendance_without_the_organizers_count_is_the_room_participants() -> None:
    stats = participation([*people(7, "room"), *people(5, "remote")])
    assert published(stats.attendance) == {"room": 7, "remote": 5, "hubs": 0}


def test_a_hub_under_five_attendees_is_suppressed_and_cannot_be_subtracted() -> None:
    stats = participation([], hub_attendees={"Accra": 12, "Lima": 3, "Dhaka": 20})
    hubs = stats.hubs
    assert hubs.is_suppressed("Lima") and hubs.is_suppressed("Accra")
    assert hubs.value("Dhaka") == 20
    assert hubs.total == 35
    assert hubs.total - sum(published(hubs).values()) == 15


def floor(author: str, start_s: int, seconds: int, origin: str = "room", **profile: Any) -> Turn:
    return Turn(
        f"i-{author}-{start_s}",
        author,
        origin,
        dict(profile),
        T0 + start_s * 1000,
        T0 + (start_s + seconds) * 1000,
    )


def test_who_got_the_floor_counts_each_speaker_once_and_sums_their_time() -> None:
    turns = [
        *[floor(f"gov{n}", n * 100, 60, stakeholder="government") for n in range(7)],
        floor("gov0", 900, 30, stakeholder="government"),  # spoke twice
        *[
            floor(f"cs{n}", 1000 + n * 100, 120, "remote", stakeholder="civil_society")
            for n in range(5)
        ],
        floor("solo", 2000, 300, "hub:Accra", stakeholder="academia"),
    ]
    stats = participation([], turns, now_ms=T0 + 3000 * 1000)
    speakers = stats.table("speakers", "stakeholder")
    assert speakers.total == 13
    assert speakers.value("government") == 7
    assert speakers.is_suppressed("academia")
    assert speakers.is_suppressed("civil_society")  # the next smallest, so 1 stays hidden
    time = stats.table("speaking_time", "stakeholder")
    assert time.total == 7 * 60 + 30 + 5 * 120 + 300
    assert time.value("government") == 450
    assert time.is_suppressed("academia") and time.value("academia") is None
    # Subtracting gives academia and civil society together, never academia's 300 s.
    assert time.total - sum(published(time).values()) == 300 + 600
    origin = stats.table("speakers", "origin")
    assert origin.value("room") == 7
    assert origin.is_suppressed("hub") and origin.is_suppressed("remote")


def test_a_live_turn_counts_until_now() -> None:
    turns = [Turn(f"i{n}", f"p{n}", "room", {}, T0, None) for n in range(5)]
    stats = participation([], turns, now_ms=T0 + 10_000)
    assert stats.table("speaking_time", "origin").value("room") == 50


def test_one_unusual_participant_is_never_visible_in_any_table() -> None:
    participants = [
        *people(20, "room", stakeholder="government", country="FR", gender="man", youth=False),
        Participant(
            "remote",
            {"stakeholder": "media", "country": "TV", "gender": "nonbinary", "youth": True},
        ),
    ]
    stats = participation(participants)
    for table in stats.participants:
        for cell in table.cells:
            assert cell.value is None or cell.value == 0 or cell.value >= K
        assert table.total is None or table.total >= K


@pytest.mark.parametrize("section", ["participants", "speakers", "speaking_time"])
def test_an_unknown_table_is_a_key_error(section: str) -> None:
    with pytest.raises(KeyError):
        participation([]).table(section, "shoe_size")


# -- regions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "group", "economy"),
    [
        ("KE", "african", "developing"),
        ("ke", "african", "developing"),
        ("EG", "african", "developing"),
        ("BR", "latin_american_caribbean", "developing"),
        ("CN", "asia_pacific", "developing"),
        ("JP", "asia_pacific", "developed"),
        ("KR", "asia_pacific", "developing"),
        ("CY", "asia_pacific", "developed"),
        ("RU", "eastern_european", "developed"),
        ("GE", "eastern_european", "developing"),
        ("US", "weog", "developed"),
        ("TR", "weog", "developing"),
        ("IL", "weog", "developed"),
        ("AU", "weog", "developed"),
        ("KI", "asia_pacific", "developing"),
        ("PS", "asia_pacific", "developing"),
        ("VA", "weog", "developed"),
        ("PR", "latin_american_caribbean", "developing"),
        ("RE", "african", "developing"),
        ("GL", "weog", "developed"),
        ("HK", "asia_pacific", "developing"),
        ("TW", "asia_pacific", "unknown"),
        ("XK", "eastern_european", "unknown"),
        ("AQ", "unknown", "unknown"),
        ("ZZ", "unknown", "unknown"),
        ("", "unknown", "unknown"),
        (None, "unknown", "unknown"),
    ],
)
def test_region_lookup(code: str | None, group: str, economy: str) -> None:
    assert regions.un_group(code) == group
    assert regions.economy(code) == economy


def test_the_region_table_covers_every_un_member_state_in_its_group() -> None:
    rows = regions.countries().values()
    members = [c for c in rows if c.status == "member"]
    assert len(members) == 193
    sizes = Counter(c.un_group for c in members)
    # Kiribati (no group) is counted with Asia-Pacific; the United States with WEOG.
    assert sizes == {
        "african": 54,
        "asia_pacific": 54,
        "eastern_european": 23,
        "latin_american_caribbean": 33,
        "weog": 29,
    }
    assert len(regions.countries()) >= 249  # every ISO 3166-1 code, plus XK
    assert all(c.un_group in (*regions.UN_GROUPS, "unknown") for c in rows)
    # Developed: 43 in Europe, Canada and the United States, Australia, New Zealand, Japan,
    # Israel and Cyprus.
    assert Counter(c.economy for c in members)["developed"] == 50
    assert regions.m49_region("NG") == "Africa"
    assert regions.m49_region("nowhere") == "unknown"
    lookup = regions.lookup(" fr ")
    assert lookup is not None and lookup.name == "France"


def test_the_region_table_names_its_sources() -> None:
    source = regions.source()
    assert "M49" in source and "Regional Groups of Member States" in source
    assert "Developed / Developing Countries" in source


def test_a_malformed_region_row_is_refused_with_its_code() -> None:
    text = (
        "# header\nalpha2,name,status,un_group,m49_region,m49_subregion,economy\n"
        "QQ,Nowhere,member,atlantis,Europe,Northern Europe,developed\n"
    )
    with pytest.raises(ValueError, match="QQ"):
        regions._parse(text)
