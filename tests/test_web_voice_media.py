"""The product's voice pages carry real audio: a remote participant given the floor speaks
from the participant page and the audio desk page plays them to the loudspeakers; after
the turn ends the desk hears silence. Runs tests/media_pages.py in a fresh network
namespace (tests/media_netns.py); levels are relative to the silence floor measured in the
same run, no timing is asserted. Needs root, janus, janus.js, sox, flite or espeak-ng and
Chromium (scripts/test-deps.sh); elsewhere it skips and says why."""

from __future__ import annotations

import uuid

import pytest

from tests.media_netns import VETH_ADDRESS, namespace_unavailable, run_in_namespace

pytestmark = [pytest.mark.media, pytest.mark.timeout(240)]


def test_the_desk_page_hears_the_participant_page() -> None:
    reason = namespace_unavailable()
    if reason:
        pytest.skip(reason)
    result = run_in_namespace("tests.media_pages", ["--tag", uuid.uuid4().hex[:8]], 200)
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
