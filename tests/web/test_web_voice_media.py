"""The product's voice pages carry real audio: a remote listener's page hears the room the
audio desk page publishes; a remote participant given the floor speaks from the
participant page and the desk page plays them to the loudspeakers, then silence once the
turn ends; after Janus is killed -9 the pages join again by themselves and the listener
hears the room again. Runs tests/support/media_pages.py in a fresh network
namespace (tests/support/media_netns.py); levels are relative to the silence floor measured in the
same run, no timing is asserted. Needs root, janus, janus.js, sox, flite or espeak-ng and
Chromium (scripts/test-deps.sh); elsewhere it skips and says why."""

from __future__ import annotations

import uuid

import pytest

from tests.support.media_netns import VETH_ADDRESS, namespace_unavailable, run_in_namespace

pytestmark = [pytest.mark.media, pytest.mark.timeout(240)]


def test_the_pages_carry_the_room_and_the_speaker_and_survive_a_reset() -> None:
    reason = namespace_unavailable()
    if reason:
        pytest.skip(reason)
    result = run_in_namespace("tests.support.media_pages", ["--tag", uuid.uuid4().hex[:8]], 200)
    assert result["address"] == VETH_ADDRESS and result["voice"] == "on", result
    assert result["page_errors"] == [], result
    # The desk started from its page, and the participant went live from the prompt.
    assert result["desk_state"] == "live" and result["speak_state"] == "live", result
    # The desk's loudspeaker meter (0-100 on -60..0 dBFS): silence, then the speaker well
    # above it, then silence again once the moderator ended the turn.
    assert result["floor"] < 10, result
    assert result["heard"] and result["speaking"] > result["floor"] + 20, result
    assert result["mic_level"] > 10, result  # the speaker's own level meter moved
    assert result["speak_after_done"] == "off", result  # the page switched the mic off
    assert result["quiet_again"] and result["after"] < result["floor"] + 5, result
    # The listener heard the room, and heard it again after the media server was killed.
    assert result["listen_state"] == "listening" and result["listen_floor"] < 10, result
    assert result["listener_heard_room"], result
    assert result["listen_room"] > result["listen_floor"] + 20, result
    assert result["janus_found"] and result["listener_back"], result
    assert result["desk_after_reset"] == "live", result
    assert result["listen_after_reset"] == "listening", result
    print(f"listener hears the room again {result['listener_back_s']} s after kill -9")
