"""Logs and metrics an operator relies on."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from hub.logs import JsonFormatter
from tests.support.harness import ADMIN_KEY, HubProcess, ahttp, create_session
from tests.support.inprocess import RunningHub


def test_json_log_lines_carry_session_and_identity() -> None:
    record = logging.LogRecord("hub.ws", logging.INFO, __file__, 1, "joined", None, None)
    record.__dict__.update({"session": "s1", "identity": "abc", "role": "participant"})
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "joined" and line["session"] == "s1"
    assert line["identity"] == "abc" and line["level"] == "info" and line["ts"].endswith("Z")


async def test_process_logs_are_json_and_hold_no_token(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data", env={"HUB_LOG_FORMAT": "json"}).start()
    try:
        created = await create_session(hub.url, "Logs", state="live")
        from tests.support.harness import Client

        token = created["tokens"]["participant"]
        alice = Client(hub.ws_url, created["id"], token, name="Alice")
        await alice.connect()
        await ahttp("GET", f"{hub.url}/api/sessions/{created['id']}?token={token}")
        await alice.close()
        hub.terminate()
        lines = [json.loads(ln) for ln in hub.output().splitlines() if ln.startswith("{")]
        joined = [ln for ln in lines if ln["message"] == "joined"]
        assert joined and joined[0]["session"] == created["id"]
        assert joined[0]["identity"] == alice.welcome["you"]["id"]
        text = hub.output()
        for secret in (token, alice.welcome["you"]["token"], ADMIN_KEY):
            assert secret not in text
    finally:
        hub.kill()


@pytest.mark.parametrize("name", [
    "hub_connections", "hub_events_appended_total", "hub_deliveries_total",
    "hub_delivery_lag_seconds", "hub_backend_append_seconds", "hub_slow_disconnects_total",
    "hub_resumes_total", "hub_backend_resyncs_total", "hub_rate_limited_total",
    "hub_errors_total", "hub_backend_unavailable_total",
])
async def test_metrics_worth_alerting_on_are_exported(meeting: dict[str, Any], name: str) -> None:
    hub: RunningHub = meeting["server"]
    await meeting["captioner"].ok({"type": "caption", "text": "x", "seq": 1})
    await meeting["alice"].wait_for(lambda c: c.kinds("caption"))
    status, text, _ = await ahttp("GET", f"{hub.base}/metrics")
    assert status == 200 and f"# TYPE {name.removesuffix('_total')}" in text


async def test_metrics_can_require_a_token(hub_factory: Any) -> None:
    scrape = "scrape-me-with-this-long-metrics-token"
    hub: RunningHub = await hub_factory(metrics_token=scrape)
    assert (await ahttp("GET", f"{hub.base}/metrics"))[0] == 401
    assert (await ahttp("GET", f"{hub.base}/metrics", token=scrape))[0] == 200


def test_alert_rules_name_only_metrics_the_hub_exports() -> None:
    import re

    import yaml

    from hub.metrics import Metrics

    rules = yaml.safe_load((Path(__file__).parents[2] / "deploy/monitoring/alerts.yml")
                           .read_text())
    exported = {m.name for m in Metrics().registry.collect()}
    for rule in rules["groups"][0]["rules"]:
        assert {"alert", "expr", "labels", "annotations"} <= set(rule)
        for metric in re.findall(r"\bhub_[a-z_]+", rule["expr"]):
            base = re.sub(r"_(total|bucket|sum|count)$", "", metric)
            assert base in exported, (rule["alert"], metric)
