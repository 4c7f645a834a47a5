"""The live speaker's talking state and level reach the moderators and the desk, from
Janus, with real audio: tests/support/voice_levels_scenario.py (`talking`) runs a turn in a fresh
network namespace with the hub, its private Janus and a Chromium speaker whose fake
microphone speaks, pauses and speaks again; this file asserts on what the moderator's and
the desk's websocket clients received.

No time is asserted: each step waits (bounded) for its frame. Needs root, janus, janus.js,
sox, flite or espeak-ng and Chromium (scripts/test-deps.sh); elsewhere it skips.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest

from tests.support.media_leftovers import wait_no_leftovers
from tests.support.media_netns import namespace_unavailable, run_in_namespace

pytestmark = [pytest.mark.media, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def turn() -> dict[str, Any]:
    reason = namespace_unavailable()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:12]
    result = run_in_namespace("tests.support.voice_levels_scenario", ["talking", "--tag", tag],
                              timeout=260)
    result["leftovers"] = wait_no_leftovers(tag)
    frames = result.get("frames", [])
    print(f"{len(frames)} talking frames to the moderator over the turn; "
          f"levels while speaking {result.get('levels_while_speaking')}")
    return result


def test_nothing_is_said_while_nobody_is_on_air(turn: dict[str, Any]) -> None:
    assert turn["voice"] == "on"
    assert turn["before"] == [], turn["before"]


def test_the_moderator_and_the_desk_hear_that_she_speaks_with_a_level(
        turn: dict[str, Any]) -> None:
    for key in ("speaking", "desk_speaking"):
        frame = turn[key]
        assert frame is not None, f"{key}: no talking=true frame"
        assert frame["talking"] is True and frame["level"] >= 1, frame
    # The level comes from Janus's own reading of her audio (the admin API's handle_info
    # of her handle), not only from the talking flag: louder than "faint" at times.
    assert turn["handle_found"], turn
    assert max(turn["levels_while_speaking"]) >= 2, turn["levels_while_speaking"]
    assert turn["late"] is not None and turn["late"]["talking"], turn["late"]


def test_a_pause_and_the_end_of_the_turn_say_she_stopped(turn: dict[str, Any]) -> None:
    paused = turn["paused"]
    assert paused is not None and paused["talking"] is False, turn
    assert turn["still_live_when_paused"], "the pause was the end of the turn"
    assert turn["again"] is not None and turn["again"]["talking"], turn
    for key in ("ended", "desk_ended"):
        assert turn[key] == {"type": "talking", "item": None, "talking": False,
                             "level": 0}, (key, turn[key])


def test_frames_are_transient_coarse_and_for_staff_and_the_desk_only(
        turn: dict[str, Any]) -> None:
    frames = turn["frames"]
    assert all(f["level"] in range(4) for f in frames), frames
    # A frame only when what is shown changes: never twice the same in a row.
    shown = [(f["item"], f["talking"], f["level"]) for f in frames]
    assert all(a != b for a, b in itertools.pairwise(shown)), shown
    assert turn["participant_frames"] == []
    assert turn["talking_in_log"] == []  # never a channel event: not in the log


def test_nothing_is_left_running(turn: dict[str, Any]) -> None:
    assert turn["leftovers"] == []
