"""The moderator console and the desk page show the live speaker's talking state: the
product pages in Chromium, the speaker's real audio through the hub's private Janus, in a
fresh network namespace (tests/support/voice_levels_scenario.py, `console`).

Checked: the "Speaking now" / "Not speaking" line is a polite live region, hidden while
nobody is on air; it says "Speaking now" while she speaks, "Not speaking" in her pause,
"Speaking now" again, and disappears when her turn ends; its text changes only on those
transitions (what a screen reader announces: no chatter at the level's rate); the level
meter moves while she speaks. No time is asserted. Needs root, janus, janus.js, sox,
flite or espeak-ng and Chromium (scripts/test-deps.sh); elsewhere it skips.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest

from tests.support.media_leftovers import wait_no_leftovers
from tests.support.media_netns import namespace_unavailable, run_in_namespace

pytestmark = [pytest.mark.media, pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def shown() -> dict[str, Any]:
    reason = namespace_unavailable()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:12]
    result = run_in_namespace("tests.support.voice_levels_scenario", ["console", "--tag", tag],
                              timeout=260)
    result["leftovers"] = wait_no_leftovers(tag)
    return result


def test_the_console_says_who_speaks_now(shown: dict[str, Any]) -> None:
    assert shown["page_errors"] == [], shown["page_errors"]
    assert shown["aria_live"] == "polite" and shown["desk_aria_live"] == "polite"
    assert shown["hidden_before"]
    assert shown["speaking"] and shown["desk_speaking"], shown
    assert shown["paused"] and shown["again"], shown
    assert shown["hidden_after"], shown


@pytest.mark.parametrize("page", ["", "desk_"])
def test_the_live_line_changes_only_when_talking_starts_or_stops(
        shown: dict[str, Any], page: str) -> None:
    texts = shown[f"{page}texts"]
    # Every change of the polite live region is an announcement: one per transition.
    assert all(a != b for a, b in itertools.pairwise(texts)), texts
    spoken = [t for t in texts if t]
    assert spoken[:1] in (["Speaking now"], ["Not speaking"]), texts
    assert spoken.count("Speaking now") <= 4 and spoken.count("Not speaking") <= 4, texts
    assert texts[-1] == "", texts  # the turn ended: the line is emptied and hidden


@pytest.mark.parametrize("page", ["", "desk_"])
def test_the_meter_moves_while_she_speaks(shown: dict[str, Any], page: str) -> None:
    levels = shown[f"{page}levels"]
    assert levels[0] == 0, levels[:10]
    assert max(levels) >= 2, levels
    assert levels[-1] == 0, levels[-10:]


def test_nothing_is_left_running(shown: dict[str, Any]) -> None:
    assert shown["leftovers"] == []
