"""The HTTP API: sessions, tokens, caption ingest, transcripts, health and metrics."""

from __future__ import annotations

import asyncio
import io
import urllib.error
import urllib.request
from typing import Any

import pytest
import srt
import webvtt

from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub


async def test_create_session_returns_links_and_tokens(hub: RunningHub) -> None:
    status, body, headers = await ahttp(
        "POST", f"{hub.base}/api/sessions",
        {"title": "Digital inclusion", "languages": ["en", "fr", "ar"], "id": "ws-42",
         "settings": {"premoderation": False, "anonymous": False}}, token=ADMIN_KEY)
    assert status == 201, body
    assert body["id"] == "ws-42" and body["session"]["state"] == "scheduled"
    assert set(body["links"]) == set(body["tokens"]) == {
        "moderator", "captioner", "participant", "hub", "screen", "desk"}
    assert body["links"]["participant"].startswith(f"{hub.base}/s/ws-42/participant#token=")
    assert body["session"]["settings"]["premoderation"] is False
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    status, body, _ = await ahttp("POST", f"{hub.base}/api/sessions", {"title": "Again",
                                                                       "id": "ws-42"},
                                  token=ADMIN_KEY)
    assert status == 409 and body["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"title": 5}, 400), ({"title": "T", "languages": "en"}, 400),
     ({"title": "T", "state": "running"}, 400), ({"title": "T", "settings": {"x": 1}}, 400),
     ({"title": "T", "id": "bad id!"}, 400)],
)
async def test_create_session_validates(hub: RunningHub, body: dict[str, Any],
                                        status: int) -> None:
    got, reply, _ = await ahttp("POST", f"{hub.base}/api/sessions", body, token=ADMIN_KEY)
    assert got == status and reply["error"]["message"]


async def test_tokens_and_roles_on_http(hub: RunningHub) -> None:
    created = await hub.session()
    sid, tokens = created["id"], created["tokens"]
    url = f"{hub.base}/api/sessions"
    assert (await ahttp("POST", url, {"title": "x"}))[0] == 401
    assert (await ahttp("POST", url, {"title": "x"}, token="nonsense"))[0] == 401
    assert (await ahttp("POST", url, {"title": "x"}, token=tokens["moderator"]))[0] == 403
    assert (await ahttp("PATCH", f"{url}/{sid}", {"title": "y"}, token=tokens["moderator"]))[0] \
        == 403
    assert (await ahttp("GET", f"{url}/{sid}", token=tokens["screen"]))[0] == 200
    other = await hub.session(title="Other")
    assert (await ahttp("GET", f"{url}/{sid}", token=other["tokens"]["screen"]))[0] == 401
    assert (await ahttp("GET", f"{url}/nosuch", token=ADMIN_KEY))[0] == 404
    status, body, _ = await ahttp("GET", f"{url}/{sid}?token={tokens['participant']}")
    assert status == 200 and body["title"] == "Workshop" and "presence" in body
    status, listing, _ = await ahttp("GET", url, token=ADMIN_KEY)
    assert {s["id"] for s in listing["sessions"]} >= {sid, other["id"]}


async def test_patch_session_changes_state_and_settings(hub: RunningHub) -> None:
    created = await hub.session()
    sid = created["id"]
    screen = hub.client(created, "screen")
    await screen.connect()
    status, body, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}",
                                  {"state": "closed", "settings": {"item_max": 300}},
                                  token=ADMIN_KEY)
    assert status == 200 and body["state"] == "closed" and body["settings"]["item_max"] == 300
    event = await screen.wait_for(lambda c: c.kinds("session"))
    assert event[0]["data"]["state"] == "closed"
    status, body, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}", {"colour": "red"},
                                  token=ADMIN_KEY)
    assert status == 400
    await screen.close()


async def test_named_hub_token_is_one_identity(hub: RunningHub) -> None:
    created = await hub.session()
    sid = created["id"]
    status, body, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens",
                                  {"role": "hub", "name": "Nairobi hub"},
                                  token=created["tokens"]["moderator"])
    assert status == 201 and body["link"].startswith(f"{hub.base}/s/{sid}/hub#token=")
    first = Client(hub.ws_base, sid, body["token"], name="ignored")
    second = Client(hub.ws_base, sid, body["token"])
    w1, w2 = await first.connect(), await second.connect()
    assert w1["you"]["id"] == w2["you"]["id"] and w1["you"]["name"] == "Nairobi hub"
    item = await first.ok({"type": "ask", "kind": "question", "text": "From Nairobi",
                           "key": "n1"})
    mine = await second.wait_for(lambda c: c.kinds("item", "private"))
    assert mine[0]["data"]["id"] == item["item"]
    assert mine[0]["data"]["origin"] == "hub:Nairobi hub"
    for bad in ({"role": "organizer", "name": "x"}, {"role": "hub"}, {"role": "king", "name": "x"}):
        status, _, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens", bad,
                                   token=ADMIN_KEY)
        assert status == 400
    status, _, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens",
                               {"role": "hub", "name": "x"}, token=created["tokens"]["participant"])
    assert status == 403
    await first.close()
    await second.close()


async def test_caption_ingest_like_a_push_api(hub: RunningHub) -> None:
    created = await hub.session(languages=["en", "fr"])
    sid, token = created["id"], created["tokens"]["captioner"]
    screen = hub.client(created, "screen")
    await screen.connect()
    ingest = f"{hub.base}/api/sessions/{sid}/captions"
    status, body, _ = await ahttp("GET", f"{ingest}/seq?token={token}")
    assert status == 200 and body == {"lang": "en", "seq": None}
    # The token in the query: the whole URL pasted into captioning software.
    status, stamp, _ = await ahttp(
        "POST", f"{ingest}?token={token}&seq=1&lang=en-US",
        "2026-11-27T09:00:00.000 region:reg1#cue1\nGood morning everyone\nWelcome to the session\n",
        content_type="text/plain; charset=utf-8")
    assert status == 200 and stamp.startswith("20")
    status, _, headers = await ahttp("POST", f"{ingest}?token={token}&seq=1",
                                     "Good morning everyone\n", content_type="text/plain")
    assert status == 200 and headers.get("X-Hub-Duplicate") == "1"
    await ahttp("POST", f"{ingest}?seq=1&lang=fr", "Bonjour à tous", token=token,
                content_type="text/plain")
    got = await screen.wait_for(lambda c: len(c.kinds("caption")) == 3 and c.kinds("caption"))
    assert [(e["data"]["text"], e["data"]["lang"]) for e in got] == [
        ("Good morning everyone", "en"), ("Welcome to the session", "en"), ("Bonjour à tous", "fr")]
    status, body, _ = await ahttp("GET", f"{ingest}/seq?lang=en&token={token}")
    assert body == {"lang": "en", "seq": 1}
    status, body, _ = await ahttp(
        "GET", f"{hub.base}/api/sessions/{sid}/transcript?format=json&token={token}")
    cue = body["cues"][0]  # the lines of one post are one cue, not 1 ms flashes
    assert cue["text"] == "Good morning everyone\nWelcome to the session"
    assert cue["end_ms"] - cue["start_ms"] >= 1500
    for query, payload, code in [
        ("seq=2&lang=de", "Hallo", 400),
        ("seq=x", "text", 400),
        ("seq=3", "   \n", 400),
    ]:
        status, _, _ = await ahttp("POST", f"{ingest}?{query}&token={token}", payload,
                                   content_type="text/plain")
        assert status == code, query
    status, _, _ = await ahttp("POST", f"{ingest}?seq=5", "x",
                               token=created["tokens"]["participant"], content_type="text/plain")
    assert status == 403
    await screen.close()


async def test_caption_ingest_refuses_invalid_utf8(hub: RunningHub) -> None:
    created = await hub.session()
    url = f"{hub.base}/api/sessions/{created['id']}/captions?token={created['tokens']['captioner']}"

    def post() -> int:
        req = urllib.request.Request(url, data=b"caf\xe9\n", method="POST",
                                     headers={"Content-Type": "text/plain"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    assert await asyncio.to_thread(post) == 400


async def test_transcript_exports_parse_back(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    sid, token = meeting["session"]["id"], meeting["session"]["tokens"]["participant"]
    cap, mod, alice = meeting["captioner"], meeting["moderator"], meeting["alice"]
    item = (await alice.ok({"type": "ask", "kind": "floor", "text": "May I speak?",
                            "key": "f"}))["item"]
    await mod.ok({"type": "moderate", "item": item, "action": "approve"})
    await cap.ok({"type": "caption", "text": "Welcome <all> & everyone", "seq": 1})
    await mod.ok({"type": "moderate", "item": item, "action": "live"})
    await cap.ok({"type": "caption", "text": "Thank you, chair", "seq": 2})
    await cap.ok({"type": "caption", "text": "partial li", "final": False})
    base = f"{hub.base}/api/sessions/{sid}/transcript"
    status, vtt, headers = await ahttp("GET", f"{base}?format=vtt", token=token)
    assert status == 200 and headers["Content-Type"].startswith("text/vtt")
    captions = webvtt.from_buffer(io.StringIO(vtt))
    assert [c.text for c in captions] == ["Welcome &lt;all&gt; &amp; everyone", "Thank you, chair"]
    assert captions[1].voice == "Alice"
    status, srt_text, _ = await ahttp("GET", f"{base}?format=srt", token=token)
    subs = list(srt.parse(srt_text))
    assert [s.content for s in subs] == ["Welcome <all> & everyone", "Alice: Thank you, chair"]
    status, txt, _ = await ahttp("GET", f"{base}?format=txt", token=token)
    assert "Alice: Thank you, chair" in txt
    status, body, _ = await ahttp("GET", f"{base}?format=json", token=token)
    assert [c["speaker"] for c in body["cues"]] == [None, "Alice"]
    assert body["cues"][1]["item"] == item
    assert (await ahttp("GET", f"{base}?format=doc", token=token))[0] == 400
    assert (await ahttp("GET", f"{base}?lang=xx", token=token))[0] == 400
    assert (await ahttp("GET", base))[0] == 401


async def test_health_readiness_and_metrics(meeting: dict[str, Any]) -> None:
    hub: RunningHub = meeting["server"]
    assert (await ahttp("GET", f"{hub.base}/healthz"))[0] == 200
    assert (await ahttp("GET", f"{hub.base}/readyz"))[0] == 200
    await meeting["captioner"].ok({"type": "caption", "text": "x", "seq": 1})
    status, text, headers = await ahttp("GET", f"{hub.base}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'hub_connections{role="participant",transport="ws"} 2.0' in text
    assert "hub_deliveries_total" in text and "hub_events_appended_total" in text
