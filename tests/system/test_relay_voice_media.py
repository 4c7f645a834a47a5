"""Real audio across a hub's relay: an attendee's page on the relay hears the meeting's
room, the relay's hub page given the floor by the meeting is heard at the meeting's desk,
and silence follows the end of the turn. Runs tests/support/relay_media_pages.py in a fresh
network namespace (tests/support/media_netns.py); levels are relative to the silence floor
measured in the same run, no timing is asserted. Needs root, janus, janus.js, sox, flite
or espeak-ng and Chromium (scripts/test-deps.sh); elsewhere it skips and says why."""

from __future__ import annotations

import uuid

import pytest

from tests.support.media_netns import VETH_ADDRESS, namespace_unavailable, run_in_namespace

pytestmark = [pytest.mark.media, pytest.mark.timeout(240)]


def test_the_relays_pages_hear_the_meeting_and_the_hub_is_heard_there() -> None:
    reason = namespace_unavailable()
    if reason:
        pytest.skip(reason)
    result = run_in_namespace("tests.support.relay_media_pages",
                              ["--tag", uuid.uuid4().hex[:8]], 200)
    assert result["address"] == VETH_ADDRESS and result["voice"] == "on", result
    assert result["page_errors"] == [], result
    # The relay's pages reach Janus only through the relay's own /janus.
    assert result["relay_pages_janus"] == [result["relay_url"]], result
    assert result["desk_state"] == "live" and result["floor"] < 10, result
    # The attendee on the relay hears the meeting's room (the desk's sound).
    assert result["listen_state"] == "listening", result
    assert result["listener_heard_room"] and result["listen_room"] > 25, result
    # The hub's page on the relay, given the floor at the meeting, is heard at the desk...
    assert result["speak_state"] == "live", result
    assert result["heard"] and result["speaking"] > result["floor"] + 20, result
    # ...and not after the meeting ends the turn.
    assert result["speak_after_done"] == "off", result
    assert result["quiet_again"], result
    print(f"relay listener {result['listen_room']:.0f}, hub heard at the desk "
          f"{result['speaking']:.0f} over a floor of {result['floor']:.0f} (meter 0-100)")
