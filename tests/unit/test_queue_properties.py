"""Property tests of the queue: random command sequences never break its invariants."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain import commands
from hub.domain.fact_kinds import apply
from hub.domain.items import APPROVED, LIVE, TRANSITIONS
from hub.domain.session import SessionState
from hub.errors import HubError
from tests.support.domain_helpers import ALICE, BOB, MOD, NAIROBI, make_session

ACTORS = (ALICE, BOB, NAIROBI)
LEGAL = {(src, dst) for sources, dst in TRANSITIONS.values() for src in sources}
LEGAL.add(("live", "done"))  # putting another item live ends the current one

item_ref = st.integers(min_value=1, max_value=8).map(lambda n: f"i{n}")
operation = st.one_of(
    st.tuples(st.just("ask"), st.sampled_from(ACTORS), st.sampled_from(["question", "floor"]),
              st.sampled_from(["a", "b", "c", "d"])),
    st.tuples(st.just("vote"), st.sampled_from(ACTORS), item_ref, st.booleans()),
    st.tuples(st.just("withdraw"), st.sampled_from(ACTORS), item_ref),
    st.tuples(st.just("moderate"), item_ref,
              st.sampled_from(["approve", "reject", "edit", "merge", "move", "live", "done"]),
              item_ref, st.one_of(st.none(), item_ref)),
)


def decide(state: SessionState, op: tuple) -> commands.Decision:  # type: ignore[type-arg]
    match op:
        case ("ask", actor, kind, key):
            return commands.ask(state, actor, kind=kind, text=f"text {key}", key=key, lang=None,
                                anonymous=False, on_behalf=None, now=1)
        case ("vote", actor, item, undo):
            return commands.vote(state, actor, item, undo)
        case ("withdraw", actor, item):
            return commands.withdraw(state, actor, item)
        case ("moderate", item, action, other, before):
            return commands.moderate(state, MOD, item, action, text="edited", into=other,
                                     before=before, now=2)
    raise AssertionError(op)


def check_invariants(state: SessionState) -> None:
    approved = [i.id for i in state.items.values() if i.status == APPROVED]
    assert sorted(state.order) == sorted(approved), "order is a permutation of approved items"
    assert len(set(state.order)) == len(state.order)
    live = [i.id for i in state.items.values() if i.status == LIVE]
    assert len(live) <= 1 and state.live == (live[0] if live else None)
    for item in state.items.values():
        if item.status == APPROVED:
            assert item.votes == len(state.voters.get(item.id, set()))
        assert item.public or item.status in ("pending", "rejected", "withdrawn", "merged")


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=60), st.booleans())
def test_random_commands_keep_the_queue_consistent(ops: list, premoderation: bool) -> None:  # type: ignore[type-arg]
    state = make_session(premoderation=premoderation)
    for op in ops:
        before = copy.deepcopy(state)
        try:
            decision = decide(state, op)
        except HubError:
            assert state == before, "a refused command changes nothing"
            continue
        if decision.fact is not None:
            apply(state, decision.fact)
        for item_id, item in state.items.items():
            old = before.items.get(item_id)
            if old is not None and old.status != item.status:
                assert (old.status, item.status) in LEGAL, (op, old.status, item.status)
        check_invariants(state)
