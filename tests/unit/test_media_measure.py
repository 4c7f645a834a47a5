"""The figures of the media harness (tests/support/media_measure.py), on made-up level series."""

from __future__ import annotations

import pytest

from tests.support.media_measure import bitrate, energy, latencies, onsets, summary, window


def series(start: float, levels: list[float], every: float = 5.0) -> list[list[float]]:
    return [[start + i * every, v] for i, v in enumerate(levels)]


def bursts(start: float, period_ms: float, count: int, loud: float = 0.3) -> list[list[float]]:
    """A burst of 100 ms every period, silence in between, sampled every 5 ms."""
    per = int(period_ms / 5)
    levels = ([loud] * 20 + [0.0] * (per - 20)) * count
    return series(start, levels)


def test_energy_is_the_rms_of_the_samples_and_zero_when_empty() -> None:
    assert energy([]) == 0.0
    assert energy([0.3, 0.4]) == pytest.approx((0.125) ** 0.5)
    assert window(series(0, [1, 2, 3, 4]), 5, 15) == [2, 3]


def test_onsets_are_the_starts_of_bursts_after_quiet() -> None:
    levels = bursts(1000, 1000, 3)
    assert onsets(levels) == [1000 + 1000, 1000 + 2000]  # the first has no quiet before it
    assert onsets(series(0, [0.0] * 50) + series(250, [0.2] * 10)) == [250]


def test_onsets_ignore_a_dip_inside_a_burst_and_noise_below_the_floor() -> None:
    dip = series(0, [0.0] * 60 + [0.3] * 5 + [0.01] * 3 + [0.3] * 10 + [0.0] * 60)
    assert onsets(dip) == [300]
    noise = series(0, [0.0] * 50 + [0.05] * 20 + [0.3] * 5)
    assert onsets(noise) == []  # sound between the thresholds before the rise: no marker
    assert onsets(series(0, [0.0] * 50 + [0.05] + [0.3] * 5)) == [255]  # a clean rise


def test_latencies_pair_each_received_onset_with_the_last_sent_one() -> None:
    sent = [1000.0, 2000.0, 3000.0]
    received = [1180.0, 2210.0, 3190.0, 5000.0]  # the last one has no sender within 900 ms
    assert latencies(sent, received) == [180.0, 210.0, 190.0]
    assert latencies(sent, [900.0]) == []


def test_summary_of_figures() -> None:
    assert summary([]) == {"count": 0}
    figures = summary([float(v) for v in range(1, 11)])
    assert (figures["min"], figures["median"], figures["p90"], figures["max"]) == \
        (1.0, 5.5, 9.0, 10.0)


def test_bitrate_counts_payload_headers_and_the_wire() -> None:
    before = {"t": 0.0, "inbound": {"bytesReceived": 0, "headerBytesReceived": 0},
              "pair": {"bytesReceived": 0, "packetsReceived": 0}}
    after = {"t": 2000.0, "inbound": {"bytesReceived": 8000, "headerBytesReceived": 1200},
             "pair": {"bytesReceived": 10000, "packetsReceived": 100}}
    rates = bitrate(before, after)
    assert rates["payload"] == pytest.approx(32.0)
    assert rates["rtp"] == pytest.approx(36.8)
    assert rates["wire"] == pytest.approx((10000 + 2800) * 8 / 2 / 1000)
    with pytest.raises(ValueError):
        bitrate(after, before)
