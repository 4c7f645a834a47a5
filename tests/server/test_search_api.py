"""GET /api/search on a real hub: indexing as sessions publish, privacy, deletion, erasure,
bad input, and `hub reindex` rebuilding the index from the event logs."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub import keys
from hub.cli import main
from hub.domain import commands
from hub.domain import forum as forum_domain
from hub.domain.commands import Actor
from hub.forums import Forums
from hub.log.embedded import EmbeddedLog
from hub.metrics import Metrics
from hub.search.base import Filters
from hub.search.postgres import PostgresIndex
from hub.search.query import parse
from hub.search.sqlite import SqliteIndex
from hub.session import Sessions, now_ms
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub
from tests.support.search_event import caption, programme, search, tokens, until

pytest_plugins = ["tests.support.postgres_server"]













@pytest.fixture(autouse=True)
def _umask_kept() -> Iterator[None]:
    """`hub reindex` run in this process makes the umask owner-only, as `hub serve` does:
    the tests after it get back the umask they had."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


@pytest.fixture
async def event_hub(hub: RunningHub) -> RunningHub:
    await programme(hub.app[keys.FORUMS])
    return hub


async def test_captions_items_and_the_published_report_are_found(event_hub: RunningHub) -> None:
    hub = event_hub
    first = await tokens(hub, "igf2025-1")
    await caption(hub, "igf2025-1", first["captioner"],
                  "Welcome to the workshop on meaningful connectivity", "en")
    await caption(hub, "igf2025-1", first["captioner"],
                  "La connectivité significative pour les écoles", "fr")
    second = await tokens(hub, "igf2025-2")
    await caption(hub, "igf2025-2", second["captioner"], "الذكاء الاصطناعي في القطاع العام", "ar")
    await caption(hub, "igf2025-2", second["captioner"], "人工智能在公共部门的应用", "zh")

    found = await until(hub, 1, q="connectivity", lang="en")
    (line,) = found["results"]
    assert line["kind"] == "transcript" and line["session"] == "igf2025-1"
    assert line["event"] == "igf2025" and line["title"] == "Meaningful connectivity"
    assert line["url"] == "/e/igf2025/s/igf2025-1?t=0"
    assert line["snippet"] == ("Welcome to the workshop on meaningful "
                               "<mark>connectivity</mark>")
    assert found["facets"]["type"] == {"workshop": 1} and found["facets"]["year"] == {"2025": 1}
    assert (await until(hub, 1, q="connectivité"))["results"][0]["lang"] == "fr"
    assert (await until(hub, 1, q="الاصطناعي"))["results"][0]["lang"] == "ar"
    chinese = await until(hub, 1, q="智能")  # two characters, inside a word
    assert chinese["results"][0]["snippet"] == "人工<mark>智能</mark>在公共部门的应用"

    # Questions and comments: the approved ones, without names.
    mod = Client(hub.ws_base, "igf2025-1", first["moderator"], name="Moderator")
    alice = Client(hub.ws_base, "igf2025-1", first["participant"], name="Alice Example")
    for client in (mod, alice):
        await client.connect()
    try:
        asked = {}
        for key, kind, text, anonymous in (
                ("a", "question", "How are community networks funded?", False),
                ("b", "comment", "Community networks need spectrum", True),
                ("c", "question", "Community networks pending question", False),
                ("d", "question", "Community networks rejected question", False)):
            ack = await alice.ok({"type": "ask", "kind": kind, "text": text, "key": key,
                                  "anonymous": anonymous})
            asked[key] = ack["item"]
        for key in ("a", "b"):
            await mod.ok({"type": "moderate", "item": asked[key], "action": "approve"})
        await mod.ok({"type": "moderate", "item": asked["d"], "action": "reject"})
        found = await until(hub, 2, q="community networks")
        assert sorted(r["text"] for r in found["results"]) == [
            "Community networks need spectrum", "How are community networks funded?"]
        assert found["facets"]["kind"] == {"comment": 1, "question": 1}
        assert "Alice" not in str(found)
        assert (await until(hub, 0, q="Alice"))["results"] == []
    finally:
        for client in (mod, alice):
            await client.close()

    # The report: found once published, not while a draft.
    forum = await hub.app[keys.FORUMS].get("igf2025")
    await forum.execute(lambda st: forum_domain.save_report(
        st, "igf2025-1", {"takeaways": ["Spectrum sharing helps rural schools"]},
        publish=False, closed=True, by="o", now=now_ms()))
    await asyncio.sleep(1.5)  # a debounce passes: still nothing to find
    assert (await until(hub, 0, q="rural"))["total"] == 0
    await forum.execute(lambda st: forum_domain.save_report(
        st, "igf2025-1", {"calls": ["Open spectrum to rural operators"]},
        publish=True, closed=True, by="o", now=now_ms()))
    found = await until(hub, 2, q="rural")
    assert {r["kind"] for r in found["results"]} == {"takeaway", "call"}
    assert all(r["url"] == "/e/igf2025/s/igf2025-1" for r in found["results"])


async def test_a_session_outside_any_event_is_never_found(event_hub: RunningHub) -> None:
    hub = event_hub
    created = await hub.session(title="Private board meeting")
    token = created["tokens"]["captioner"]
    await caption(hub, created["id"], token, "The confidential budget", "en")
    first = await tokens(hub, "igf2025-1")
    await caption(hub, "igf2025-1", first["captioner"], "A public budget line", "en")
    found = await until(hub, 1, q="budget")
    assert found["results"][0]["session"] == "igf2025-1"
    await hub.app[keys.INDEXER].settled()
    assert await hub.app[keys.SEARCH].sessions() == {"igf2025-1"}


async def test_deleting_a_session_or_erasing_a_person_empties_the_index(
        event_hub: RunningHub) -> None:
    hub = event_hub
    first = await tokens(hub, "igf2025-1")
    alice = Client(hub.ws_base, "igf2025-1", first["participant"], name="Alice")
    mod = Client(hub.ws_base, "igf2025-1", first["moderator"], name="Moderator")
    for client in (mod, alice):
        await client.connect()
    ack = await alice.ok({"type": "ask", "kind": "question", "key": "a",
                          "text": "What about zeroknowledge credentials?"})
    await mod.ok({"type": "moderate", "item": ack["item"], "action": "approve"})
    await until(hub, 1, q="zeroknowledge")
    who = alice.welcome["you"]["id"]
    status, body, _ = await ahttp(
        "DELETE", f"{hub.base}/api/sessions/igf2025-1/people/{who}", token=ADMIN_KEY)
    assert status == 200, body
    status, body = await search(hub, q="zeroknowledge")  # gone before the answer came
    assert status == 200 and body["total"] == 0
    for client in (mod, alice):
        await client.close()

    second = await tokens(hub, "igf2025-2")
    await caption(hub, "igf2025-2", second["captioner"], "Sovereign cloud debate", "ar")
    await until(hub, 1, q="sovereign")
    status, body, _ = await ahttp("DELETE", f"{hub.base}/api/sessions/igf2025-2",
                                  token=ADMIN_KEY)
    assert status in (200, 204), body
    status, body = await search(hub, q="sovereign")
    assert status == 200 and body["total"] == 0
    assert await hub.app[keys.SEARCH].count("igf2025-2") == 0


@pytest.mark.parametrize(("params", "message"), [
    ({}, "`q` is required"),
    ({"q": "   "}, "`q` is required"),
    ({"q": '*** "" ( ) :'}, "no words"),
    ({"q": "a" * 5_000}, "at most"),
    ({"q": "x", "page": "0"}, "`page`"),
    ({"q": "x", "page": "51"}, "`page`"),
    ({"q": "x", "page": "\u0661"}, "`page`"),  # an Arabic-Indic digit is not a page number
    ({"q": "x", "kind": "profile"}, "`kind`"),
    ({"q": "x", "lang": "english!"}, "`lang`"),
    ({"q": "x", "event": "../etc"}, "`event`"),
    ({"q": "x", "year": "25"}, "`year`"),
    ({"q": "x", "from": "2025-13-01"}, "`from`"),
    ({"q": "x", "from": "2025-06-24", "to": "2025-06-23"}, "after"),
    ({"q": "x", "sort": "asc"}, "unknown parameter"),
])
async def test_bad_input_is_a_clear_400(hub: RunningHub, params: dict[str, str],
                                        message: str) -> None:
    status, body = await search(hub, **params)
    assert status == 400, body
    assert body["error"]["code"] == "bad_request" and message in body["error"]["message"]


async def test_a_10_kb_query_is_a_400(hub: RunningHub) -> None:
    status, body = await search(hub, q="word " * 2048)  # past aiohttp's request line limit
    assert status == 400, body


async def test_twice_the_same_parameter_is_refused(hub: RunningHub) -> None:
    status, body, _ = await ahttp("GET", f"{hub.base}/api/search?q=a&q=b")
    assert status == 400 and "once" in body["error"]["message"]


@pytest.mark.parametrize("q", ["'; DROP TABLE docs; --", "NEAR(x y)", "a OR b", "x:* & y",
                               "\u202eevil", "zero\u200bwidth", '"unbalanced'])
async def test_hostile_queries_get_results(hub: RunningHub, q: str) -> None:
    status, body = await search(hub, q=q)
    assert status == 200, body
    assert body["total"] == 0 and body["results"] == []


def test_reindex_rebuilds_from_the_event_logs(tmp_path: Path, postgres_url: str) -> None:
    data = tmp_path / "data"

    async def make() -> None:
        log = EmbeddedLog(str(data))
        await log.start()
        sessions = Sessions(log, Metrics(), b"k" * 32)
        forums = Forums(log, sessions)
        await programme(forums)
        session = await sessions.get("igf2025-1")
        await session.execute(lambda st: commands.caption(
            st, Actor("c", "captioner", "C"), lines=["Rebuilt from the logs"], lang="en",
            final=True, seq=None, now=now_ms()))
        await forums.close()
        await sessions.close()
        await log.close()

    asyncio.run(make())
    assert main(["reindex", "--data", str(data)]) == 0
    assert main(["reindex", "--data", str(data), "--archive", postgres_url]) == 0
    assert main(["reindex", "--data", str(data)]) == 0  # again: the same, nothing twice

    async def check() -> None:
        for index in (SqliteIndex(str(data)), PostgresIndex(postgres_url)):
            await index.start()
            try:
                found = await index.search(parse("rebuilt"), Filters())
                assert [d.url for d in found.documents] == ["/e/igf2025/s/igf2025-1?t=0"]
                assert await index.count() == 1
            finally:
                await index.close()

    asyncio.run(check())


def test_reindex_says_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    assert main(["reindex", "--data", str(tmp_path / "d"), "--archive", url]) == 1
    assert "search index" in capsys.readouterr().err


async def test_the_jsonl_export_holds_what_search_finds(event_hub: RunningHub) -> None:
    hub = event_hub
    first = await tokens(hub, "igf2025-1")
    await caption(hub, "igf2025-1", first["captioner"], "Exported caption line", "en")
    mod = Client(hub.ws_base, "igf2025-1", first["moderator"], name="Moderator")
    alice = Client(hub.ws_base, "igf2025-1", first["participant"], name="Alice Example")
    for client in (mod, alice):
        await client.connect()
    try:
        shown = (await alice.ok({"type": "ask", "kind": "question", "key": "a",
                                 "text": "An approved question"}))["item"]
        await alice.ok({"type": "ask", "kind": "question", "key": "b",
                        "text": "A pending question"})
        await mod.ok({"type": "moderate", "item": shown, "action": "approve"})
    finally:
        for client in (mod, alice):
            await client.close()
    forum = await hub.app[keys.FORUMS].get("igf2025")
    await forum.execute(lambda st: forum_domain.save_report(
        st, "igf2025-1", {"takeaways": ["An exported takeaway"]}, publish=True, closed=True,
        by="o", now=now_ms()))
    async with aiohttp.ClientSession() as http, http.get(
            f"{hub.base}/api/events/igf2025/export.jsonl") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/x-ndjson")
        body = await response.text()
    rows = [json.loads(line) for line in body.splitlines()]
    assert rows[0]["type"] == "event" and rows[0]["id"] == "igf2025"
    assert [r["session"] for r in rows if r["type"] == "session"] == ["igf2025-1", "igf2025-2"]
    assert {(r["type"], r["text"]) for r in rows if "text" in r} == {
        ("transcript", "Exported caption line"), ("question", "An approved question"),
        ("takeaway", "An exported takeaway")}
    assert "Alice" not in body and "pending" not in body and "@" not in body
    # A session this instance does not hold is read from its log, the same.
    await hub.app[keys.SESSIONS].forget("igf2025-1")
    async with aiohttp.ClientSession() as http, http.get(
            f"{hub.base}/api/events/igf2025/export.jsonl") as response:
        assert await response.text() == body
    assert hub.app[keys.SESSIONS].held_one("igf2025-1") is None
    status, body, _ = await ahttp("GET", f"{hub.base}/api/events/nope/export.jsonl")
    assert status == 404


async def test_searches_have_a_budget_per_address(hub_factory: Any) -> None:
    hub = await hub_factory(search_per_minute=2, shared_addresses=())
    for _ in range(2):
        assert (await search(hub, q="anything"))[0] == 200
    status, body = await search(hub, q="anything")
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert "at most 2 per 60 s" in body["error"]["message"]


@pytest.mark.redis
async def test_instances_on_one_redis_share_the_postgresql_index(
        hub_factory: Any, redis_url: str, redis_prefix: str, postgres_url: str) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix,
              "archive_url": postgres_url}
    first, second = await hub_factory(**shared), await hub_factory(**shared)
    await programme(first.app[keys.FORUMS])
    links = await tokens(first, "igf2025-1")
    await caption(first, "igf2025-1", links["captioner"], "Shared archive of the meeting", "en")
    found = await until(second, 1, q="archive")  # indexed by one, found on the other
    assert found["results"][0]["url"] == "/e/igf2025/s/igf2025-1?t=0"
    status, body, _ = await ahttp("DELETE", f"{second.base}/api/sessions/igf2025-1",
                                  token=ADMIN_KEY)
    assert status in (200, 204), body
    status, body = await search(first, q="archive")
    assert status == 200 and body["total"] == 0


@pytest.mark.redis
async def test_a_session_deleted_by_another_instance_leaves_this_ones_index(
        hub_factory: Any, redis_url: str, redis_prefix: str) -> None:
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    first, second = await hub_factory(**shared), await hub_factory(**shared)  # own SQLite
    await programme(first.app[keys.FORUMS])
    links = await tokens(first, "igf2025-1")
    await caption(first, "igf2025-1", links["captioner"], "A line only here", "en")
    await until(first, 1, q="only")
    status, body, _ = await ahttp("DELETE", f"{second.base}/api/sessions/igf2025-1",
                                  token=ADMIN_KEY)
    assert status in (200, 204), body
    await until(first, 0, q="only")  # once the first instance notices the deletion


def test_a_10_kb_query_gets_the_hubs_clear_400_from_hub_serve(tmp_path: Path) -> None:
    """`hub serve` reads request lines up to 32 KiB: a 10 KB query reaches the search and
    is refused with its reason, not by the HTTP parser's bare "line too long"."""
    from tests.support.harness import HubProcess, http

    hub = HubProcess(tmp_path / "data").start()
    try:
        query = urllib.parse.quote("a" * 10240)
        status, body, _ = http("GET", f"{hub.url}/api/search?q={query}")
        assert status == 400 and body["error"]["code"] == "bad_request", body
        assert "at most 500" in body["error"]["message"]
    finally:
        hub.kill()
