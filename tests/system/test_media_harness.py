"""The media harness proves itself: real speech through a real Janus to a real Chromium.

Each case runs a scenario of tests/support/media_scenarios.py in a fresh network namespace
(tests/support/media_netns.py) and asserts on the figures it printed. Thresholds are relative to
the silence floor measured in the same run; no timing is asserted. Needs root (the
namespace), janus, janus.js, sox, flite or espeak-ng and Chromium: scripts/test-deps.sh
installs them; elsewhere the cases skip and say why.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.media_leftovers import wait_no_leftovers
from tests.support.media_netns import (
    VETH_ADDRESS,
    ScenarioFailed,
    namespace_unavailable,
    run_in_namespace,
)

pytestmark = [pytest.mark.media, pytest.mark.timeout(240)]

SCENARIOS = "tests.support.media_scenarios"


@pytest.fixture(scope="module")
def media_ready() -> None:
    reason = namespace_unavailable()
    if reason:
        pytest.skip(reason)






def check_heard_then_quiet(result: dict[str, Any]) -> None:
    floor, speaking, after = result["floor"], result["speaking"], result["after"]
    figures = f"floor {floor:.6f}, speaking {speaking:.6f}, after {after:.6f}"
    assert result["address"] == VETH_ADDRESS
    assert result["metered"], "the listener's page never metered the received track"
    # The speaker's fake microphone really played the speech file.
    assert result["sent"] > 0.01, f"the speaker's captured level is {result['sent']}"
    assert result["heard"], f"the listener never heard the speaker ({figures})"
    assert speaking > max(10 * floor, floor + 0.01), figures
    assert result["quiet_again"], f"the listener still hears sound after the leave ({figures})"
    assert after < floor + 0.1 * (speaking - floor), figures
    # Media went between the namespace's address and Janus, on host candidates.
    for stats in (result["stats_before"], result["stats_speaking"]):
        assert stats["local"]["address"] == VETH_ADDRESS, stats
        assert stats["remote"]["address"] == VETH_ADDRESS, stats
    assert result["stats_speaking"]["codec"]["mimeType"] == "audio/opus"


@pytest.mark.parametrize(("kind", "transport"), [("bridge", "ws"), ("stream", "http")])
def test_speech_is_heard_while_the_speaker_is_live_and_not_after(
    media_ready: None, kind: str, transport: str
) -> None:
    """bridge: A and B in one AudioBridge room. stream: the room's mix forwarded to a
    Streaming mountpoint that B watches. The pages reach Janus over its WebSocket API in
    one case and its HTTP API in the other."""
    tag = uuid.uuid4().hex[:12]
    result = run_in_namespace(SCENARIOS, [kind, "--transport", transport, "--tag", tag],
                              timeout=200)
    assert (result["kind"], result["transport"]) == (kind, transport)
    check_heard_then_quiet(result)
    # A's recording: one .mjr, at least as long as the stretch measured while A spoke,
    # and not silent.
    assert len(result["recordings"]) == 1, result["recordings"]
    recording = result["recordings"][0]
    assert recording["seconds"] >= result["spoken_s"], recording
    assert recording["rms"] > 0.01, recording
    assert wait_no_leftovers(tag) == []


def test_a_scenario_killed_on_timeout_leaves_no_process_behind(media_ready: None) -> None:
    """Janus and both Chromiums are running when the bound runs out; all of them go."""
    tag = uuid.uuid4().hex[:12]
    with pytest.raises(ScenarioFailed, match="ran past"):
        run_in_namespace(SCENARIOS, ["bridge", "--tag", tag], timeout=7)
    assert wait_no_leftovers(tag) == []
