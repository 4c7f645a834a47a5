"""Orderings of the queue, the balanced ordering's fairness bound, and floor-time helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from hub.domain.ordering import (
    DIMENSIONS,
    ORDERINGS,
    POINT_OF_ORDER,
    SLOTS,
    Candidate,
    Reason,
    Suggestion,
    Turn,
    Weights,
    budget_left,
    describe,
    group_of,
    may_request,
    passed_over,
    suggest,
    time_by_group,
    time_by_item,
    time_left,
    turn_ms,
)
from hub.errors import HubError

T0 = 1_700_000_000_000
MIN = 60_000

GOV = {"stakeholder": "government"}
CS = {"stakeholder": "civil_society"}
PS = {"stakeholder": "private_sector"}
TECH = {"stakeholder": "technical"}
ACAD = {"stakeholder": "academia"}


def cand(
    item_id: str,
    created: int,
    *,
    origin: str = "room",
    author: str | None = None,
    kind: str = "question",
    votes: int = 0,
    profile: Mapping[str, Any] | None = None,
) -> Candidate:
    return Candidate(
        item_id=item_id,
        kind=kind,
        origin=origin,
        author_id=author or f"p-{item_id}",
        created_ms=T0 + created,
        votes=votes,
        profile=dict(profile or {}),
    )


def turn(
    item_id: str,
    start: int,
    end: int | None,
    *,
    origin: str = "room",
    author: str | None = None,
    profile: Mapping[str, Any] | None = None,
) -> Turn:
    return Turn(
        item_id=item_id,
        author_id=author or f"p-{item_id}",
        origin=origin,
        profile=dict(profile or {}),
        started_ms=T0 + start,
        ended_ms=None if end is None else T0 + end,
    )


def ids(suggestions: list[Suggestion]) -> list[str]:
    return [s.item_id for s in suggestions]


def codes(suggestion: Suggestion) -> list[str]:
    return [reason.code for reason in suggestion.reasons]


# -- every ordering -------------------------------------------------------------------------


def test_orderings_are_the_five_named_in_the_issue() -> None:
    assert set(ORDERINGS) == {"arrival", "votes", "balanced", "mics4_remote2", "alternate"}


def test_an_unknown_ordering_is_a_bad_request_naming_the_known_ones() -> None:
    with pytest.raises(HubError) as caught:
        suggest("loudest", [], [])
    assert caught.value.code == "bad_request"
    assert "balanced" in caught.value.message


@pytest.mark.parametrize("name", ORDERINGS)
def test_points_of_order_go_first_oldest_first_in_every_ordering(name: str) -> None:
    candidates = [
        cand("i1", 0, votes=9, profile=GOV),
        cand("i2", 1, kind=POINT_OF_ORDER, origin="remote"),
        cand("i3", 2, origin="remote", profile=CS),
        cand("i4", 3, kind=POINT_OF_ORDER),
    ]
    ranked = suggest(name, candidates, [], now_ms=T0 + 10)
    assert ids(ranked)[:2] == ["i2", "i4"]
    assert codes(ranked[0]) == [POINT_OF_ORDER]
    assert sorted(ids(ranked)) == ["i1", "i2", "i3", "i4"]
    scores = [s.score for s in ranked]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("name", ORDERINGS)
def test_an_empty_queue_suggests_nothing(name: str) -> None:
    assert suggest(name, [], [turn("i0", 0, 10)], now_ms=T0 + 20) == []


@pytest.mark.parametrize("name", ORDERINGS)
def test_every_ordering_ranks_each_candidate_once(name: str) -> None:
    candidates = [
        cand(
            f"i{n}",
            n,
            origin=("room", "remote", "hub:Accra")[n % 3],
            profile=(GOV, CS, PS, TECH, ACAD, {})[n % 6],
            votes=n % 4,
        )
        for n in range(1, 20)
    ]
    ranked = suggest(name, candidates, [turn("i0", 0, 5, profile=GOV)], now_ms=T0 + 100)
    assert sorted(ids(ranked)) == sorted(c.item_id for c in candidates)
    assert all(s.reasons for s in ranked)


def test_arrival_is_first_come_first_served_with_ties_by_id() -> None:
    candidates = [cand("i3", 5), cand("i1", 9), cand("i2", 5)]
    ranked = suggest("arrival", candidates, [], now_ms=T0 + 12 * MIN)
    assert ids(ranked) == ["i2", "i3", "i1"]
    assert ranked[0].reasons[0] == Reason("arrival", {"position": 1})
    assert describe(ranked[0].reasons[1]) == "waiting for 11 minutes"


def test_votes_puts_the_most_voted_first_and_ties_by_arrival() -> None:
    candidates = [cand("i1", 0, votes=2), cand("i2", 1, votes=7), cand("i3", 2, votes=2)]
    ranked = suggest("votes", candidates, [], now_ms=T0)
    assert ids(ranked) == ["i2", "i1", "i3"]
    assert describe(ranked[0].reasons[0]) == "7 votes"


# -- balanced -------------------------------------------------------------------------------

MAN_WEOG_GOV = {"stakeholder": "government", "gender": "man", "country": "FR", "youth": False}


def test_balanced_prefers_the_groups_not_heard_yet_and_says_why() -> None:
    history = [
        turn(f"h{n}", n * 5 * MIN, n * 5 * MIN + 4 * MIN, profile=MAN_WEOG_GOV) for n in range(3)
    ]
    candidates = [
        cand("old", 0, profile=MAN_WEOG_GOV),
        cand(
            "new",
            14 * MIN,
            origin="remote",
            profile={"stakeholder": "civil_society", "gender": "woman", "country": "KE"},
        ),
    ]
    ranked = suggest("balanced", candidates, history, now_ms=T0 + 15 * MIN)
    assert ids(ranked) == ["new", "old"]
    said = {describe(r) for r in ranked[0].reasons}
    assert {
        "no woman has spoken yet",
        "first speaker from Africa",
        "first remote speaker",
        "first speaker from civil society",
        "has not spoken yet",
    } <= said


def test_balanced_says_how_long_a_group_was_unheard() -> None:
    history = [
        turn("r", 0, 5 * MIN, origin="remote"),
        turn("a", 5 * MIN, 15 * MIN),
        turn("b", 15 * MIN, 25 * MIN),
    ]
    candidates = [cand("room", 1 * MIN), cand("far", 20 * MIN, origin="remote")]
    ranked = suggest("balanced", candidates, history, now_ms=T0 + 25 * MIN)
    assert ids(ranked)[0] == "far"
    heard = [r for r in ranked[0].reasons if r.code == "not_heard_for"]
    assert heard == [
        Reason("not_heard_for", {"dimension": "origin", "group": "remote", "minutes": 20})
    ]
    assert describe(heard[0]) == "first remote speaker in 20 minutes"


def test_balanced_prefers_someone_who_has_not_spoken_yet() -> None:
    history = [turn("h1", 0, MIN, author="alice")]
    candidates = [cand("again", 0, author="alice"), cand("fresh", 10, author="bob")]
    ranked = suggest("balanced", candidates, history, now_ms=T0 + 2 * MIN)
    assert ids(ranked) == ["fresh", "again"]
    assert "new_speaker" in codes(ranked[0])


def test_balanced_with_every_weight_zero_is_arrival_order() -> None:
    zero = Weights().merged({d: 0 for d in (*DIMENSIONS, "new_speaker", "waiting", "votes")})
    candidates = [cand("i2", 5, origin="remote", votes=5, profile=CS), cand("i1", 1, profile=GOV)]
    ranked = suggest("balanced", candidates, [turn("h", 0, 1, profile=GOV)], zero, T0 + 10)
    assert ids(ranked) == ["i1", "i2"]


def test_weights_organizer_can_set_are_checked() -> None:
    assert Weights().merged({"gender": 2, "patience": 5}).gender == 2.0
    for bad in (
        {"loudness": 1},
        {"gender": -1},
        {"gender": 11},
        {"gender": True},
        {"patience": 0},
        {"patience": 2.5},
        {"horizon_minutes": "30"},
    ):
        with pytest.raises(HubError) as caught:
            Weights().merged(bad)
        assert caught.value.code == "bad_request"


def test_a_group_passed_over_patience_times_gets_the_floor_next() -> None:
    # Every turn went to newcomers from the room; the remote item has waited through three.
    history = [turn(f"h{n}", n * MIN + MIN, n * MIN + 2 * MIN, profile=GOV) for n in range(3)]
    candidates = [
        cand("remote", 0, origin="remote", profile=GOV),
        cand("fresh", 3 * MIN, profile={"stakeholder": "civil_society", "gender": "woman"}),
    ]
    weights = Weights(patience=3)
    assert passed_over(candidates, history)[("origin", "remote")] == 3
    ranked = suggest("balanced", candidates, history, weights, T0 + 4 * MIN)
    assert ids(ranked)[0] == "remote"
    assert ranked[0].reasons[0] == Reason(
        "group_passed_over", {"dimension": "origin", "group": "remote", "turns": 3}
    )
    assert describe(ranked[0].reasons[0]) == "remote participants passed over 3 times in a row"
    # With more patience, the better score of the newcomer wins.
    assert (
        ids(suggest("balanced", candidates, history, Weights(patience=4), T0 + 4 * MIN))[0]
        == "fresh"
    )


def test_a_group_that_spent_its_budget_goes_last_in_every_ordering() -> None:
    history = [turn("h", 0, 5 * MIN, profile=CS)]
    candidates = [cand("cs", 0, profile=CS, votes=10), cand("gov", 1, profile=GOV)]
    for name in ORDERINGS:
        ranked = suggest(
            name, candidates, history, now_ms=T0 + 6 * MIN, budgets={"civil_society": 300}
        )
        assert ids(ranked) == ["gov", "cs"]
        assert ranked[-1].reasons == (Reason("budget_spent", {"group": "civil_society"}),)
        assert describe(ranked[-1].reasons[0]) == "civil society used up its speaking time"


# -- the fairness bound ---------------------------------------------------------------------

PROFILES = st.fixed_dictionaries(
    {},
    optional={
        "stakeholder": st.sampled_from(["government", "civil_society", "private_sector"]),
        "gender": st.sampled_from(["woman", "man"]),
        "country": st.sampled_from(["KE", "US", "BR", "CN"]),
        "youth": st.booleans(),
    },
)
ARRIVAL = st.tuples(
    st.sampled_from(["room", "remote", "hub:Accra"]),
    PROFILES,
    st.integers(0, 6),
    st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]),
)
WEIGHTS = st.builds(
    Weights,
    stakeholder=st.sampled_from([0.0, 0.5, 1.0, 4.0]),
    region=st.sampled_from([0.0, 1.0, 4.0]),
    gender=st.sampled_from([0.0, 1.0, 4.0]),
    youth=st.sampled_from([0.0, 0.5, 4.0]),
    origin=st.sampled_from([0.0, 1.0, 4.0]),
    new_speaker=st.sampled_from([0.0, 1.0, 8.0]),
    waiting=st.sampled_from([0.0, 0.5]),
    votes=st.sampled_from([0.0, 2.0]),
    patience=st.integers(1, 4),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.lists(ARRIVAL, min_size=1, max_size=10),
    later=st.lists(st.lists(ARRIVAL, max_size=2), max_size=24),
    weights=WEIGHTS,
)
def test_balanced_never_passes_a_group_over_more_than_patience_plus_groups_minus_one(
    first: list[tuple[str, dict[str, Any], int, str]],
    later: list[list[tuple[str, dict[str, Any], int, str]]],
    weights: Weights,
) -> None:
    """Bound: a group with waiting items is passed over at most P + M - 1 turns in a row.

    P is `weights.patience`; M is the number of distinct (dimension, group) pairs, over the
    dimensions with a weight above 0, among all candidates of the meeting ("not declared"
    counts as a group). A group is "passed over" by a turn given to an item outside it while
    it has items waiting; the moderator follows the first suggestion each time.

    Proof. Let s(g) be the number of turns g has been passed over in a row (what
    `passed_over` computes; the simulation below checks it against its own count). While
    s(g) < P, g can be passed over at most P times before s(g) reaches P. From then on the
    guard is active at every decision, because g itself is due: it serves a group h whose s(h)
    is the largest of all, so s(h) >= s(g). If h is g (or the chosen item is also in g), g is
    served. Otherwise h is served, s(h) drops to 0, and from then s(h) grows by at most 1 per
    turn while s(g) grows by exactly 1, so s(h) < s(g) until g is served: h cannot be chosen
    by the guard again before g. Each of the other M - 1 groups is thus chosen at most once
    after s(g) reached P, so s(g) <= P + (M - 1). Groups that appear later start at
    s = 0 < s(g) and never overtake g either.
    """
    dimensions = [d for d in DIMENSIONS if getattr(weights, d) > 0]
    now = T0
    serial = 0
    waiting: list[Candidate] = []
    history: list[Turn] = []
    seen_groups: set[tuple[str, str]] = set()
    streak: dict[tuple[str, str], int] = {}
    worst = 0

    def arrive(batch: list[tuple[str, dict[str, Any], int, str]]) -> None:
        nonlocal now, serial
        for origin, profile, votes, person in batch:
            now += 1
            serial += 1
            candidate = Candidate(f"i{serial}", "question", origin, person, now, votes, profile)
            waiting.append(candidate)
            seen_groups.update((d, group_of(d, origin, profile)) for d in dimensions)

    arrive(first)
    for batch in [*later, *([[]] * 30)]:
        arrive(batch)
        if not waiting:
            continue
        now += 1
        # The module's own count of pass-overs agrees with the simulation's.
        expected = passed_over(waiting, history, dimensions)
        assert {k: v for k, v in expected.items()} == {k: streak.get(k, 0) for k in expected}
        ranked = suggest("balanced", waiting, history, weights, now)
        assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
        chosen_id = ranked[0].item_id
        chosen = next(c for c in waiting if c.item_id == chosen_id)
        waiting_groups = {
            (d, group_of(d, c.origin, c.profile)) for c in waiting for d in dimensions
        }
        served = {(d, group_of(d, chosen.origin, chosen.profile)) for d in dimensions}
        streak = {key: 0 if key in served else streak.get(key, 0) + 1 for key in waiting_groups}
        worst = max([worst, *streak.values()])
        waiting.remove(chosen)
        history.append(
            Turn(
                chosen.item_id, chosen.author_id, chosen.origin, chosen.profile, now, now + 2 * MIN
            )
        )
        now += 2 * MIN
    if dimensions:
        bound = weights.patience + len(seen_groups) - 1
        target(float(worst - weights.patience), label="pass-overs beyond patience")
        event(f"worst streak beyond patience: {max(0, worst - weights.patience)}")
        assert worst <= bound


def test_without_the_guard_scores_alone_could_starve_a_group() -> None:
    """Why the guard exists: newcomers from the room outscore a remote veteran every time."""
    veteran = cand("old", 0, origin="remote", author="veteran", profile=GOV)
    history = [turn("h0", 1, MIN, origin="remote", author="veteran", profile=GOV)]
    newcomers_first = Weights(origin=0.1, new_speaker=8, waiting=0, patience=50)
    for step in range(1, 6):
        newcomer = cand(f"n{step}", step * 2 * MIN, author=f"new{step}", profile=GOV)
        now = T0 + step * 2 * MIN + 1
        ranked = suggest("balanced", [veteran, newcomer], history, newcomers_first, now)
        assert ids(ranked)[0] == newcomer.item_id
        history.append(
            turn(
                newcomer.item_id,
                step * 2 * MIN + 1,
                step * 2 * MIN + MIN,
                author=newcomer.author_id,
                profile=GOV,
            )
        )
    assert passed_over([veteran], history)[("origin", "remote")] == 5
    # The same meeting with patience 2: remote is overdue, so the veteran goes first.
    guarded = Weights(origin=0.1, new_speaker=8, waiting=0, patience=2)
    ranked = suggest(
        "balanced",
        [veteran, cand("n9", 11 * MIN, author="new9", profile=GOV)],
        history,
        guarded,
        T0 + 12 * MIN,
    )
    assert ids(ranked)[0] == "old"
    assert ranked[0].reasons[0] == Reason(
        "group_passed_over", {"dimension": "origin", "group": "remote", "turns": 5}
    )


def test_no_one_waits_forever_behind_newcomers_of_the_same_groups() -> None:
    """Groups cannot protect a person whose groups newcomers share; waiting time does."""
    history = [turn("h0", 0, MIN, author="veteran", profile=GOV)]
    veteran = cand("old", MIN, author="veteran", profile=GOV)
    soon = T0 + MIN + 50 * MIN
    later = T0 + MIN + 70 * MIN
    newcomer_soon = cand("new", 50 * MIN, author="fresh", profile=GOV)
    newcomer_later = cand("new", 70 * MIN, author="fresh", profile=GOV)
    assert ids(suggest("balanced", [veteran, newcomer_soon], history, now_ms=soon))[0] == "new"
    ranked = suggest("balanced", [veteran, newcomer_later], history, now_ms=later)
    assert ids(ranked)[0] == "old"
    assert Reason("waiting", {"minutes": 70}) in ranked[0].reasons


# -- presets --------------------------------------------------------------------------------


def test_mics4_remote2_runs_rounds_of_four_stakeholder_mics_and_two_remote_slots() -> None:
    candidates = [
        cand("r1", 0, origin="remote"),
        cand("r2", 1, origin="hub:Accra"),
        cand("r3", 2, origin="remote"),
        cand("gov1", 3, profile=GOV),
        cand("gov2", 4, profile={"stakeholder": "intergovernmental"}),
        cand("cs1", 5, profile=CS),
        cand("ps1", 6, profile=PS),
        cand("ta1", 7, profile=ACAD),
        cand("ta2", 8, profile=TECH),
    ]
    ranked = suggest("mics4_remote2", candidates, [], now_ms=T0 + 10)
    assert SLOTS == (
        "government",
        "civil_society",
        "remote",
        "private_sector",
        "technical_academic",
        "remote",
    )
    assert ids(ranked) == ["gov1", "cs1", "r1", "ps1", "ta1", "r2", "gov2", "r3", "ta2"]
    assert ranked[0].reasons == (Reason("slot", {"slot": "government", "round": 1}),)
    assert describe(ranked[6].reasons[0]) == "government microphone, round 2"


def test_mics4_remote2_continues_the_round_the_floor_history_is_in() -> None:
    history = [
        turn("h1", 0, 1, profile=GOV),
        turn("h2", 2, 3, profile=CS),
        turn("h3", 4, 5, origin="remote"),
    ]
    candidates = [
        cand("gov", 0, profile=GOV),
        cand("rem", 1, origin="remote"),
        cand("ps", 2, profile=PS),
    ]
    ranked = suggest("mics4_remote2", candidates, history, now_ms=T0 + 10)
    # Round 1 still has the private sector mic, the technical mic and one remote slot open.
    assert ids(ranked) == ["ps", "rem", "gov"]
    assert [r.reasons[0].params["round"] for r in ranked] == [1, 1, 2]


def test_mics4_remote2_lets_a_room_speaker_without_a_mic_take_an_open_one() -> None:
    candidates = [cand("media", 0, profile={"stakeholder": "media"}), cand("gov", 1, profile=GOV)]
    ranked = suggest("mics4_remote2", candidates, [], now_ms=T0 + 10)
    assert ids(ranked) == ["gov", "media"]
    assert ranked[1].reasons[0].params == {"slot": "civil_society", "round": 1}


def test_a_full_round_in_the_history_starts_the_next_one() -> None:
    profiles: list[tuple[str, Mapping[str, Any]]] = [
        ("room", GOV),
        ("room", CS),
        ("remote", {}),
        ("room", PS),
        ("room", TECH),
        ("remote", {}),
    ]
    history = [turn(f"h{n}", n, n + 1, origin=o, profile=p) for n, (o, p) in enumerate(profiles)]
    ranked = suggest("mics4_remote2", [cand("cs", 0, profile=CS)], history, now_ms=T0 + 10)
    assert ranked[0].reasons[0].params == {"slot": "civil_society", "round": 2}


def test_alternate_switches_room_and_remote_one_to_one_starting_with_the_room() -> None:
    candidates = [
        cand("m1", 0),
        cand("m2", 1),
        cand("m3", 2),
        cand("r1", 3, origin="remote"),
        cand("h1", 4, origin="hub:Lagos"),
    ]
    ranked = suggest("alternate", candidates, [], now_ms=T0 + 10)
    assert ids(ranked) == ["m1", "r1", "m2", "h1", "m3"]
    assert describe(ranked[1].reasons[0]) == "remote turn (room and remote alternate)"


def test_alternate_follows_on_from_the_last_turn() -> None:
    candidates = [cand("m1", 0), cand("r1", 1, origin="remote")]
    assert ids(suggest("alternate", candidates, [turn("h", 0, 1)], now_ms=T0 + 5)) == ["r1", "m1"]
    assert ids(
        suggest("alternate", candidates, [turn("h", 0, 1, origin="hub:Lagos")], now_ms=T0 + 5)
    ) == ["m1", "r1"]


# -- floor time -----------------------------------------------------------------------------


def test_speaking_time_per_turn_item_and_group() -> None:
    history = [
        turn("i1", 0, 90_000, profile=GOV),
        turn("i2", 90_000, 150_000, origin="remote", profile=CS),
        turn("i1", 200_000, 230_000, profile=GOV),
        turn("i3", 240_000, None, profile=CS),
    ]
    now = T0 + 300_000
    assert turn_ms(history[3], now) == 60_000
    assert turn_ms(turn("x", 10, 5), now) == 0
    assert time_by_item(history, now) == {"i1": 120_000, "i2": 60_000, "i3": 60_000}
    assert time_by_group(history, "stakeholder", now) == {
        "government": 120_000,
        "civil_society": 120_000,
    }
    assert time_by_group(history, "origin", now) == {"room": 180_000, "remote": 60_000}


def test_budget_left_per_stakeholder_group() -> None:
    history = [turn("i1", 0, 90_000, profile=GOV), turn("i2", 90_000, None, profile=CS)]
    budgets = {"government": 60, "civil_society": 600}
    now = T0 + 150_000
    assert budget_left("government", history, budgets, now) == -30_000
    assert budget_left("civil_society", history, budgets, now) == 540_000
    assert budget_left("private_sector", history, budgets, now) is None


def test_time_left_on_a_turn() -> None:
    live = turn("i1", 0, None)
    assert time_left(live, 120, T0 + 90_000) == 30_000
    assert time_left(live, 60, T0 + 90_000) == -30_000
    assert time_left(live, None, T0 + 90_000) is None
    assert time_left(live, 0, T0 + 90_000) is None


def test_a_closed_list_takes_only_points_of_order() -> None:
    assert may_request("question", list_closed=False)
    assert not may_request("question", list_closed=True)
    assert not may_request("floor", list_closed=True)
    assert may_request(POINT_OF_ORDER, list_closed=True)


# -- reasons --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "english"),
    [
        (("first_speaker", {"dimension": "gender", "group": "woman"}), "no woman has spoken yet"),
        (
            ("first_speaker", {"dimension": "region", "group": "african"}),
            "first speaker from Africa",
        ),
        (("first_speaker", {"dimension": "origin", "group": "hub"}), "first speaker from a hub"),
        (("first_speaker", {"dimension": "youth", "group": "youth"}), "first young speaker"),
        (
            ("first_speaker", {"dimension": "stakeholder", "group": "private_sector"}),
            "first speaker from the private sector",
        ),
        (
            ("not_heard_for", {"dimension": "gender", "group": "man", "minutes": 12}),
            "no man has spoken for 12 minutes",
        ),
        (
            (
                "not_heard_for",
                {"dimension": "region", "group": "latin_american_caribbean", "minutes": 25},
            ),
            "first speaker from Latin America and the Caribbean in 25 minutes",
        ),
        (
            ("group_passed_over", {"dimension": "gender", "group": "woman", "turns": 4}),
            "women passed over 4 times in a row",
        ),
        (
            (
                "group_passed_over",
                {"dimension": "stakeholder", "group": "not_declared", "turns": 3},
            ),
            "people who gave no stakeholder group passed over 3 times in a row",
        ),
        (
            ("group_passed_over", {"dimension": "region", "group": "asia_pacific", "turns": 5}),
            "speakers from Asia-Pacific passed over 5 times in a row",
        ),
        ((POINT_OF_ORDER, {}), "point of order"),
        (("new_speaker", {}), "has not spoken yet"),
        (("votes", {"votes": 1}), "1 vote"),
        (("slot", {"slot": "remote", "round": 3}), "remote slot, round 3"),
        (("alternate", {"side": "room"}), "room turn (room and remote alternate)"),
        (("mystery_code", {}), "mystery code"),
    ],
)
def test_describe_says_each_reason_in_english(
    reason: tuple[str, dict[str, Any]], english: str
) -> None:
    assert describe(reason) == english
