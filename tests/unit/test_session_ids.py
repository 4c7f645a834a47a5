"""New session ids: valid, unguessable, and never read as a command-line option."""

from __future__ import annotations

from hub.domain.session import valid_session_id
from hub.tokens import new_session_id


def test_new_session_ids_are_valid_and_never_start_with_a_dash() -> None:
    made = [new_session_id() for _ in range(20_000)]
    # One id in 64 would start with "-" if nothing prevented it: 20,000 draws meet it.
    assert all(valid_session_id(each) and len(each) == 8 for each in made)
    assert not [each for each in made if each.startswith("-")]
    assert len(set(made)) == len(made)
    assert any("-" in each[1:] or "_" in each for each in made)  # the alphabet is kept
