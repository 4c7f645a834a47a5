"""The report review: a session organizer edits the report's draft (prefilled from the
generated report), publishes it once the session is closed, and withdraws it; bad input is
refused naming its field; every instance serves the same published report."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp
from tests.support.inprocess import HubFactory, RunningHub
from tests.support.review_helpers import REPORT, organizer_token, programme_event, set_state

TAKEAWAYS = ["Spectrum for community networks", "Local content first",
             "Skills before devices", "Open data on coverage"]
CALLS = ["Publish spectrum maps", "Fund last-mile pilots", "Count women online"]


@pytest.fixture
async def event(hub: RunningHub) -> dict[str, Any]:
    a, b = await programme_event(hub.app)
    return {"a": a, "b": b, "token": await organizer_token(hub.base, a),
            "token_b": await organizer_token(hub.base, b)}


async def review(hub: RunningHub, method: str, session_id: str, token: str | None,
                 body: Any = None, publish: bool = False) -> tuple[int, Any]:
    path = f"{hub.base}/api/sessions/{session_id}/review" + ("/publish" if publish else "")
    status, answer, _ = await ahttp(method, path, body, token=token)
    return status, answer


async def test_the_draft_is_prefilled_from_the_generated_report(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    a, token = event["a"], event["token"]
    await set_state(hub.base, a, "live", token)
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{a}",
                               {"settings": {"room_count": 40}}, token=token)
    assert status == 200
    # The session organizer flags takeaways and calls to action on the websocket.
    organizer = Client(hub.ws_base, a, token, name="Amina Diallo")
    await organizer.connect()
    for text in TAKEAWAYS:
        await organizer.ok({"type": "flag", "kind": "takeaway", "text": text})
    for text in CALLS:
        await organizer.ok({"type": "flag", "kind": "call_to_action", "text": text})
    await organizer.close()
    status, body = await review(hub, "GET", a, token)
    assert status == 200, body
    assert body["status"] == "none" and body["saved"] is False and body["published"] is None
    assert body["closed"] is False and body["state"] == "live"
    assert body["event"] == "igf26" and body["title"].startswith("Workshop 0")
    draft = body["draft"]
    assert draft["takeaways"] == TAKEAWAYS[:3] and draft["calls"] == CALLS[:2]
    assert draft["summary"] == ""
    assert draft["gender"] == {"participants": 40, "women": None, "discussed": None, "how": ""}
    assert body["flagged"] == {"takeaways": TAKEAWAYS, "calls": CALLS}
    assert body["limits"] == {"takeaways": 3, "calls": 2, "point": 600, "summary": 3000,
                              "how": 1500}
    # The Secretariat reads the same.
    status, same = await review(hub, "GET", a, ADMIN_KEY)
    assert status == 200 and same["draft"] == draft


async def test_save_publish_after_close_and_withdraw(
    hub: RunningHub, event: dict[str, Any]
) -> None:
    a, token = event["a"], event["token"]
    status, body = await review(hub, "PUT", a, token, REPORT)
    assert status == 200, body
    assert body["status"] == "draft" and body["saved"] is True
    assert body["draft"]["takeaways"] == REPORT["takeaways"]
    assert body["draft"]["gender"] == REPORT["gender"] and body["draft"]["by"]
    # A part saved alone keeps the rest.
    status, body = await review(hub, "PUT", a, token, {"summary": "  Shorter.  "})
    assert status == 200 and body["draft"]["summary"] == "Shorter."
    assert body["draft"]["calls"] == REPORT["calls"]
    # Not before the session is closed; nothing published.
    status, body = await review(hub, "POST", a, token, {}, publish=True)
    assert status == 409 and "not closed" in body["error"]["message"]
    status, body = await review(hub, "GET", a, token)
    assert body["status"] == "draft" and body["published"] is None
    await set_state(hub.base, a, "closed", token)
    status, body = await review(hub, "POST", a, token, {"summary": REPORT["summary"]},
                                publish=True)
    assert status == 200, body
    assert body["status"] == "published" and body["closed"] is True
    published = body["published"]
    assert published["takeaways"] == REPORT["takeaways"]
    assert published["summary"] == REPORT["summary"] and body["first_published"]
    # The event lists it published; the public event API too.
    status, shown, _ = await ahttp("GET", f"{hub.base}/api/events/igf26")
    assert [s["report"] for s in shown["programme"]] == ["published", "none"]
    # Edits after publishing are a draft until published again.
    status, body = await review(hub, "PUT", a, token, {"calls": []})
    assert body["draft"]["calls"] == [] and body["published"]["calls"] == REPORT["calls"]
    status, body = await review(hub, "DELETE", a, token, publish=True)
    assert status == 200 and body["status"] == "draft" and body["published"] is None
    assert body["draft"]["calls"] == [] and body["first_published"]
    status, body = await review(hub, "DELETE", a, token, publish=True)
    assert status == 409 and "not published" in body["error"]["message"]
    status, shown, _ = await ahttp("GET", f"{hub.base}/api/events/igf26")
    assert [s["report"] for s in shown["programme"]] == ["draft", "none"]


async def test_publishing_needs_a_key_takeaway(hub: RunningHub, event: dict[str, Any]) -> None:
    a, token = event["a"], event["token"]
    await set_state(hub.base, a, "closed")
    status, body = await review(hub, "POST", a, token, {"takeaways": ["  "]}, publish=True)
    assert status == 400 and "at least one key takeaway" in body["error"]["message"]
    status, body = await review(hub, "GET", a, token)
    assert body["status"] == "none"


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"takeaways": ["a", "b", "c", "d"]}, "takeaways", "at most 3 takeaways"),
    ({"takeaways": ["x" * 601]}, "takeaways", "the limit is 600"),
    ({"takeaways": "one"}, "takeaways", "list of texts"),
    ({"calls": ["a", "b", "c"]}, "calls", "at most 2 calls"),
    ({"summary": "s" * 3001}, "summary", "at most 3000"),
    ({"summary": 5}, "summary", "`summary` takes a text"),
    ({"gender": {"participants": 10, "women": 12}}, "gender", "more than"),
    ({"gender": {"participants": -1}}, "gender", "gender.participants"),
    ({"gender": {"discussed": "yes"}}, "gender", "true, false or null"),
    ({"gender": {"colour": 1}}, "gender", "takes participants"),
    ({"gender": {"how": "h" * 1501}}, "gender", "at most 1500"),
    ({"colour": "red"}, "colour", "unknown field 'colour'"),
])
async def test_bad_input_is_refused_naming_its_field(
    hub: RunningHub, event: dict[str, Any], body: dict[str, Any], field: str, words: str
) -> None:
    a, token = event["a"], event["token"]
    await review(hub, "PUT", a, token, REPORT)
    for publish in (False, True):
        status, answer = await review(hub, "POST" if publish else "PUT", a, token,
                                      {**REPORT, **body}, publish=publish)
        assert status == 400, answer
        assert answer["error"]["field"] == field and words in answer["error"]["message"]
    status, answer = await review(hub, "GET", a, token)
    assert answer["draft"]["takeaways"] == REPORT["takeaways"]  # nothing lost
    assert answer["status"] == "draft"


async def test_bodies_that_are_not_objects(hub: RunningHub, event: dict[str, Any]) -> None:
    a, token = event["a"], event["token"]
    for raw in ("[1, 2]", "{not json"):
        status, answer = await review(hub, "PUT", a, token, raw)
        assert status == 400, answer


async def test_who_may_review(hub: RunningHub, event: dict[str, Any]) -> None:
    a = event["a"]
    status, body = await review(hub, "PUT", a, event["token_b"], {"summary": "Not mine"})
    assert status == 401 and "another session" in body["error"]["message"]
    _, links, _ = await ahttp("GET", f"{hub.base}/api/sessions/{a}/links", token=ADMIN_KEY)
    for role in ("moderator", "captioner", "participant", "hub", "screen", "desk"):
        status, body = await review(hub, "GET", a, links["tokens"][role])
        assert status == 403, (role, body)
    status, body = await review(hub, "GET", a, None)
    assert status == 401
    # The Secretariat may.
    status, body = await review(hub, "PUT", a, ADMIN_KEY, {"summary": "By the Secretariat"})
    assert status == 200 and body["draft"]["by"] == "organizer"
    status, body = await review(hub, "PUT", a, event["token"], {"summary": "By Amina"})
    assert status == 200 and body["draft"]["by"] == "organizer-link"


async def test_a_session_in_no_event_has_no_review(hub: RunningHub) -> None:
    created = await hub.session(title="A session of its own")
    token = await organizer_token(hub.base, created["id"])
    for method, body, publish in (("GET", None, False), ("PUT", REPORT, False),
                                  ("POST", REPORT, True), ("DELETE", None, True)):
        status, answer = await review(hub, method, created["id"], token, body, publish)
        assert status == 404, answer
        assert "in no event's programme" in answer["error"]["message"]


async def test_review_writes_are_rate_limited_as_staff_writes(hub_factory: HubFactory) -> None:
    hub = await hub_factory(staff_per_minute=3)
    a, _ = await programme_event(hub.app)
    token = await organizer_token(hub.base, a)
    for n in range(3):
        status, _ = await review(hub, "PUT", a, token, {"summary": f"Version {n}"})
        assert status == 200
    status, body = await review(hub, "PUT", a, token, {"summary": "One too many"})
    assert status == 429 and body["error"]["retry_after"] > 0
    status, body = await review(hub, "GET", a, token)
    assert status == 200 and body["draft"]["summary"] == "Version 2"


# -- several instances ------------------------------------------------------------------


async def until(check: Any, timeout: float = 10.0) -> Any:
    """Poll `check()` (a coroutine function) until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)


async def test_two_hub_processes_serve_the_same_published_report(
    hub_factory: HubFactory, redis_url: str, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    setup = await hub_factory(redis_url=redis_url, redis_prefix=prefix)
    a, _ = await programme_event(setup.app)
    assert setup.app[keys.FORUMS] is not None
    one, two = (HubProcess(tmp_path / f"data{n}", redis_url=redis_url,
                           redis_prefix=prefix).start() for n in range(2))
    try:
        _, links, _ = await ahttp("GET", f"{one.url}/api/sessions/{a}/links", token=ADMIN_KEY)
        token = links["tokens"]["organizer"]
        status, body, _ = await ahttp("PUT", f"{one.url}/api/sessions/{a}/review", REPORT,
                                      token=token)
        assert status == 200, body
        status, body, _ = await ahttp("PATCH", f"{two.url}/api/sessions/{a}",
                                      {"state": "closed"}, token=token)
        assert status == 200, body
        # Closed on the other process a moment ago: publishing here sees it closed.
        status, body, _ = await ahttp("POST", f"{one.url}/api/sessions/{a}/review/publish",
                                      {}, token=token)
        assert status == 200, body
        # The other process answers the published report at once (a read catches up) ...
        status, seen, _ = await ahttp("GET", f"{two.url}/api/sessions/{a}/review", token=token)
        assert status == 200 and seen["status"] == "published"
        assert seen["published"]["takeaways"] == REPORT["takeaways"]
        assert seen["published"]["gender"] == REPORT["gender"]

        # ... and its event follows (the public listing), also after a kill -9 and restart.
        async def listed_on_two() -> bool:
            _, shown, _ = await ahttp("GET", f"{two.url}/api/events/igf26")
            return bool(shown["programme"][0]["report"] == "published")

        await until(listed_on_two)
        two.kill()
        two.start()
        await until(listed_on_two)
        status, seen, _ = await ahttp("GET", f"{two.url}/api/sessions/{a}/review", token=token)
        assert seen["published"]["summary"] == REPORT["summary"]
    finally:
        one.kill()
        two.kill()
