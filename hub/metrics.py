"""Prometheus metrics, one registry per app (so tests can run several apps in a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Every metric the hub exports; see docs/architecture.md for what to alert on."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge(
            "hub_connections", "Open client connections by role and transport",
            ["role", "transport"], registry=r)
        self.events_appended = Counter(
            "hub_events_appended_total", "Channel events applied here (appended or received), "
            "by channel kind", ["channel"], registry=r)
        self.deliveries = Counter(
            "hub_deliveries_total", "Channel events queued to client connections, by channel kind",
            ["channel"], registry=r)
        self.delivery_lag = Histogram(
            "hub_delivery_lag_seconds", "From an event's append to its fan-out on this instance",
            registry=r, buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.append_seconds = Histogram(
            "hub_backend_append_seconds", "Round trip of one append to the backend (SQLite or "
            "Redis)", ["backend"], registry=r,
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5))
        self.resyncs = Counter(
            "hub_backend_resyncs_total", "Times the live feed was lost and sessions caught up "
            "from the log (Redis reconnects)", registry=r)
        self.backend_errors = Counter(
            "hub_backend_unavailable_total", "Commands refused because the backend was away",
            registry=r)
        self.frames_received = Counter(
            "hub_frames_received_total", "Client frames received, by type", ["type"], registry=r)
        self.errors = Counter(
            "hub_errors_total", "Error frames sent, by code", ["code"], registry=r)
        self.slow_disconnects = Counter(
            "hub_slow_disconnects_total", "Readers closed for falling too far behind", registry=r)
        self.resumes = Counter(
            "hub_resumes_total", "Joins by outcome (fresh, recovered, not_recovered)",
            ["outcome"], registry=r)
        self.append_conflicts = Counter(
            "hub_append_conflicts_total", "Appends refused because the head moved", registry=r)
        self.rate_limited = Counter(
            "hub_rate_limited_total", "Commands refused by a rate limit", ["command"], registry=r)
        self.command_seconds = Histogram(
            "hub_command_seconds", "Time to decide and append a command", ["type"], registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))

        # Labelled by Janus: "main" when there is one, else its name in HUB_MEDIA_URL.
        self.voice_up = Gauge(
            "hub_voice_up", "1 while this instance's media server answers (voice on), 0 when "
            "it is down; absent meaning: voice off", ["janus"], registry=r)
        self.media_resets = Counter(
            "hub_media_resets_total", "Times the media server was found restarted and the "
            "rooms were made again", ["janus"], registry=r)
        self.media_kicks = Counter(
            "hub_media_kicks_total", "Participants removed from an audio room on the media "
            "server (turn ended, desk taken over, unknown)", ["janus"], registry=r)
        self.media_grants = Counter(
            "hub_media_grants_total", "Voice grants made, by kind", ["want"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
