"""The public event site over HTTP: every page, unknown ids,
the reader's language, only published content, the highlights API."""

from __future__ import annotations

import gzip
import re
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from hub.security import CSP
from hub.site.cache import PageCache
from hub.site.text import TEXTS
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub
from tests.support.site_helpers import (
    make_event,
    programme_rows,
    save_report,
    today_in,
    withdraw_report,
)

ZONE = "Asia/Riyadh"
EVENT = "igf26"


class Page(HTMLParser):
    """What a page is made of: its html attributes, links, headings and text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html_attrs: dict[str, str | None] = {}
        self.links: list[str] = []  # every link but the language switcher's
        self.switcher: list[str] = []
        self.tags: list[str] = []
        self.text_parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "html":
            self.html_attrs = dict(attrs)
        found = dict(attrs)
        if "href" in found:
            (self.switcher if "hreflang" in found else self.links).append(found["href"] or "")

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())


async def get(hub: RunningHub, path: str, **headers: str) -> tuple[int, str, dict[str, str]]:
    status, body, hdrs = await ahttp("GET", hub.base + path, headers=headers)
    return status, body if isinstance(body, str) else str(body), hdrs


@pytest.fixture
async def site(hub: RunningHub) -> dict[str, Any]:
    """An event of 12 sessions over two days from today; the first one spans now."""
    day = today_in(ZONE)
    rows = programme_rows(12, day, 2, ZONE, now_slot=True)
    forum = await make_event(hub.app, hub.base, rows, event_id=EVENT, first_day=day, days=2,
                             zone=ZONE)
    return {"forum": forum, "rows": rows, "day": day}


async def test_the_event_home_shows_the_event_the_programme_and_what_is_live(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    status, html, headers = await get(hub, f"/e/{EVENT}")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith(CSP.split("{connect}")[0])
    page = Page(html)
    assert page.html_attrs == {"lang": "en", "dir": "ltr"}
    assert "<script>" not in html and "style=" not in html  # the CSP forbids inline ones
    text = page.text
    assert "Internet Governance Forum" in text and "Conference centre" in text
    assert f"Times are in the event's time zone ({ZONE})" in text
    for n in range(1, 13):
        assert f"Session {n}: topic" in text
    live = html.split('id="live-now"')[1].split("</section>")[0]
    assert "Session 1: topic 0" in live  # scheduled for now
    assert "Session 2: topic" not in live
    # each session with its time here and in UTC (Riyadh is UTC+3)
    assert re.search(r">09:00</time>\u2013<time[^>]*>10:20</time></span> "
                     r"<span class=\"utc\">\(<bdi dir=\"ltr\">06:00\u201307:20</bdi> UTC\)", html)
    assert "example.org" not in html  # organizers' emails never
    assert "Skip to the main content" in text


async def test_live_now_follows_the_sessions_held_and_the_schedule(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    second = f"{EVENT}-2"  # Session 2, at 10:30 on the first day
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{second}",
                               {"state": "live"}, token=ADMIN_KEY)
    assert status == 200
    first = f"{EVENT}-1"  # Session 1, whose slot spans now
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{first}",
                               {"state": "closed"}, token=ADMIN_KEY)
    assert status == 200
    site_cache = _site_cache(hub)
    site_cache.drop(EVENT)  # live state is otherwise at most 5 s old
    _, html, _ = await get(hub, f"/e/{EVENT}")
    live = html.split('id="live-now"')[1].split("</section>")[0]
    assert "Session 2: topic 1" in live  # set live on this hub, outside its slot
    assert "Session 1: topic 0" not in live  # closed early, though its slot is now


def _site_cache(hub: RunningHub) -> Any:
    for resource in hub.app.router.resources():
        if resource.canonical == "/e/{event}":
            for route in resource:
                return route.handler.__self__.cache  # type: ignore[attr-defined]
    raise AssertionError("no /e/{event} route")


async def test_filters_by_room_and_track_are_plain_links_that_keep_the_language(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    _, html, _ = await get(hub, f"/e/{EVENT}?lang=fr")
    page = Page(html)
    room_link = next(link for link in page.links if "room=Room+2" in link)
    track_link = next(link for link in page.links if "track=Cybersecurity" in link)
    for link in page.links:
        if link.startswith("/e/"):
            assert parse_qs(urlsplit(link).query).get("lang") == ["fr"], link
    _, html, _ = await get(hub, room_link)
    programme = Page(html.split('id="programme"')[1]).text
    rows = site["rows"]
    in_room = [r.title for r in rows if r.room == "Room 2"]
    assert in_room and all(title in programme for title in in_room)
    assert not any(r.title in programme for r in rows if r.room != "Room 2")
    text = Page(html).text
    assert f"Sessions affichées : {len(in_room)} sur 12." in text
    _, html, _ = await get(hub, track_link)
    programme = Page(html.split('id="programme"')[1]).text
    assert all((r.title in programme) == (r.track == "Cybersecurity") for r in rows)
    status, html, _ = await get(hub, f"/e/{EVENT}?room=Nowhere&lang=fr")
    assert status == 404
    assert TEXTS["fr"]["no_filter"] in Page(html).text


async def test_every_link_of_every_page_keeps_the_language(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    sid = site["forum"].state.programme()[3].session
    for path in (f"/e/{EVENT}", f"/e/{EVENT}/s/{sid}", f"/e/{EVENT}/highlights"):
        _, html, _ = await get(hub, path + "?lang=ru")
        page = Page(html)
        assert page.html_attrs["lang"] == "ru"
        site_links = [link for link in page.links if link.startswith("/e/")]
        assert site_links
        for link in site_links:
            query = parse_qs(urlsplit(link).query)
            assert query.get("lang") is not None, (path, link)
        # the switcher: this page in each of the six languages
        for code in ("en", "fr", "es", "ar", "zh", "ru"):
            assert any(urlsplit(link).path == path and f"lang={code}" in link
                       for link in page.switcher), (path, code)


async def test_the_language_comes_from_the_query_then_the_browser_then_the_event(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    _, html, headers = await get(hub, f"/e/{EVENT}", **{"Accept-Language": "ar-EG,ar;q=0.9"})
    assert Page(html).html_attrs == {"lang": "ar", "dir": "rtl"}
    assert TEXTS["ar"]["live_now"] in html
    assert headers["Content-Language"] == "ar" and "Accept-Language" in headers["Vary"]
    _, html, _ = await get(hub, f"/e/{EVENT}?lang=zh", **{"Accept-Language": "ar"})
    assert Page(html).html_attrs == {"lang": "zh-Hans", "dir": "ltr"}
    year, month, day = (int(part) for part in site["day"].split("-"))
    assert f"{year}年{month}月{day}日" in html
    _, html, _ = await get(hub, f"/e/{EVENT}?lang=xx", **{"Accept-Language": "de, es;q=0.5"})
    assert Page(html).html_attrs["lang"] == "es"
    # no choice from the reader: the event's first language
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/events/{EVENT}",
                               {"languages": ["fr", "en"]}, token=ADMIN_KEY)
    assert status == 200
    _, html, _ = await get(hub, f"/e/{EVENT}")
    assert Page(html).html_attrs["lang"] == "fr"
    assert TEXTS["fr"]["programme"] in html


async def test_unknown_events_and_sessions_are_404_pages_in_the_readers_language(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    for path, message in (("/e/nosuch?lang=es", "no_event"),
                          (f"/e/{EVENT}/s/{EVENT}-999?lang=es", "no_session"),
                          (f"/e/{EVENT}/s/..%2F..%2Fetc?lang=es", "no_session"),
                          (f"/e/{'x' * 300}/highlights?lang=es", "no_event"),
                          ("/e/a/s/b?lang=es", "no_event")):
        status, html, headers = await get(hub, path)
        assert status == 404, path
        assert headers["Content-Type"].startswith("text/html")
        page = Page(html)
        assert page.html_attrs["lang"] == "es"
        assert TEXTS["es"]["not_found"] in page.text and TEXTS["es"][message] in page.text
    status, html, _ = await get(hub, "/e/nosuch", **{"Accept-Language": "ar"})
    assert status == 404 and Page(html).html_attrs == {"lang": "ar", "dir": "rtl"}


async def _join(hub: RunningHub, sid: str) -> dict[str, Any]:
    status, links, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/links",
                                   token=ADMIN_KEY)
    assert status == 200
    return dict(links)


async def test_a_scheduled_session_gives_its_participant_join_link(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    row = site["forum"].state.programme()[4]
    status, html, _ = await get(hub, f"/e/{EVENT}/s/{row.session}")
    assert status == 200
    page = Page(html)
    text = page.text
    assert row.title in text and row.organizers[0].name in text
    assert "example.org" not in html
    assert "Scheduled" in text and row.room in text and row.track in text
    join = next(link for link in page.links if link.startswith(f"/s/{row.session}/"))
    links = await _join(hub, row.session)
    assert hub.base + join == links["links"]["participant"]  # the same link as the organizer's
    token = join.split("#token=")[1]
    status, _, _ = await ahttp("GET", f"{hub.base}/api/sessions/{row.session}", token=token)
    assert status == 200
    assert 'id="report"' not in html and 'id="transcript"' not in html  # not closed yet


async def test_after_it_closes_only_the_published_report_and_the_transcript_show(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    forum = site["forum"]
    row = forum.state.programme()[2]
    sid = row.session
    links = await _join(hub, sid)
    await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}", {"state": "live"}, token=ADMIN_KEY)
    mod = Client(hub.ws_base, sid, links["tokens"]["moderator"], name="Mod")
    alice = Client(hub.ws_base, sid, links["tokens"]["participant"], name="Alice Example")
    await mod.connect()
    await alice.connect()
    try:
        await alice.ok({"type": "ask", "kind": "question", "text": "Pending question zq1",
                        "key": "q1"})
        item = (await alice.ok({"type": "ask", "kind": "comment",
                                "text": "Rejected comment zq2", "key": "q2"}))["item"]
        await mod.ok({"type": "moderate", "item": item, "action": "reject", "text": "no"})
    finally:
        await alice.close()
        await mod.close()
    status, _, _ = await ahttp(
        "POST", f"{hub.base}/api/sessions/{sid}/captions?token={links['tokens']['captioner']}",
        "Welcome to the <b>session</b>.\nSecond line.", content_type="text/plain")
    assert status == 200
    await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}", {"state": "closed"},
                token=ADMIN_KEY)
    await save_report(forum, sid, {"takeaways": ["Unpublished draft zd1"]}, publish=False)

    _, html, _ = await get(hub, f"/e/{EVENT}/s/{sid}")
    text = Page(html).text
    assert "Closed" in text
    assert "The organizers have not published this session's report yet." in text
    assert "Welcome to the <b>session</b>." in text and "<b>session" not in html
    assert "[00:00:00]" in text
    for hidden in ("zd1", "zq1", "zq2", "Alice Example", "example.org", "#token="):
        assert hidden not in html, hidden

    await save_report(forum, sid, {
        "takeaways": ["Published takeaway zp1", "Second zp2"], "calls": ["Call zc1"],
        "summary": "A summary zs1",
        "gender": {"participants": 80, "women": 35, "discussed": False, "how": ""}},
        publish=True)
    await save_report(forum, sid, {"takeaways": ["Later draft zd2"]}, publish=False)
    _, html, _ = await get(hub, f"/e/{EVENT}/s/{sid}")  # the publish dropped the cache
    text = Page(html).text
    for shown in ("Published takeaway zp1", "Second zp2", "Call zc1", "A summary zs1",
                  "Estimated number of participants 80",
                  "Estimated number of women and gender-diverse people 35",
                  "Were gender issues discussed? No"):
        assert shown in text, shown
    assert "zd1" not in html and "zd2" not in html and "zq1" not in html
    _, home, _ = await get(hub, f"/e/{EVENT}")
    assert "Report published" in Page(home).text

    await withdraw_report(forum, sid)
    _, html, _ = await get(hub, f"/e/{EVENT}/s/{sid}")
    assert "zp1" not in html and "zd2" not in html
    _, home, _ = await get(hub, f"/e/{EVENT}")
    assert "Report published" not in Page(home).text


async def test_the_highlights_page_and_api(hub: RunningHub, site: dict[str, Any]) -> None:
    forum = site["forum"]
    rows = forum.state.programme()
    await save_report(forum, rows[5].session, {"takeaways": ["Highlight zh1"],
                                               "calls": ["Call zh2"]}, publish=True)
    await save_report(forum, rows[6].session, {"takeaways": ["Draft zh3"]}, publish=False)
    _, html, _ = await get(hub, f"/e/{EVENT}/highlights")
    assert "Highlight zh1" in html and "Call zh2" in html and "zh3" not in html
    for code in ("en", "fr", "es", "ar", "zh", "ru"):
        status, html, _ = await get(hub, f"/e/{EVENT}/highlights?lang={code}")
        assert status == 200
        page = Page(html)
        assert page.html_attrs["dir"] == ("rtl" if code == "ar" else "ltr")
        assert TEXTS[code]["hl_title"] in page.text
        assert f"/e/{EVENT}/s/{rows[5].session}?lang={code}" in page.links

    status, data, _ = await ahttp("GET", f"{hub.base}/api/events/{EVENT}/highlights")
    assert status == 200
    assert data["counts"] == {"sessions": 12, "published": 1, "takeaways": 1, "calls": 1}
    track = next(t for t in data["tracks"] if t["takeaways"])
    assert track["track"] == rows[5].track
    assert track["takeaways"][0]["path"] == f"/e/{EVENT}/s/{rows[5].session}"
    status, md, headers = await ahttp("GET",
                                      f"{hub.base}/api/events/{EVENT}/highlights?format=md")
    assert status == 200 and headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert f"({hub.base}/e/{EVENT}/s/{rows[5].session})" in md.replace("<", "").replace(">", "")
    status, page, headers = await ahttp(
        "GET", f"{hub.base}/api/events/{EVENT}/highlights?format=html&lang=ar")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert Page(page).html_attrs == {"lang": "ar", "dir": "rtl"}

    # a new publish is in the next answer
    await save_report(forum, rows[7].session, {"takeaways": ["Fresh zh4"]}, publish=True)
    _, data, _ = await ahttp("GET", f"{hub.base}/api/events/{EVENT}/highlights")
    assert data["counts"]["published"] == 2
    _, html, _ = await get(hub, f"/e/{EVENT}/highlights")
    assert "Fresh zh4" in html

    status, body, _ = await ahttp("GET", f"{hub.base}/api/events/{EVENT}/highlights?format=pdf")
    assert status == 400 and "md, html, json" in body["error"]["message"]
    status, body, _ = await ahttp("GET", f"{hub.base}/api/events/nosuch/highlights")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_pages_are_cached_and_dropped_on_each_change_of_the_event(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    cache = _site_cache(hub)
    await get(hub, f"/e/{EVENT}")
    await get(hub, f"/e/{EVENT}?lang=fr")
    assert len(cache) == 4  # each page, and its programme part (kept until a change)
    status, _, _ = await ahttp("PATCH", f"{hub.base}/api/events/{EVENT}",
                               {"venue": "New venue"}, token=ADMIN_KEY)
    assert status == 200
    assert len(cache) == 0
    _, html, _ = await get(hub, f"/e/{EVENT}")
    assert "New venue" in html


async def test_a_reader_who_takes_gzip_gets_the_same_page_gzipped(
    hub: RunningHub, site: dict[str, Any]
) -> None:
    _, plain, _ = await get(hub, f"/e/{EVENT}")
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        async with http.get(f"{hub.base}/e/{EVENT}?lang=en",
                            headers={"Accept-Encoding": "gzip, br"}) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            assert "Accept-Encoding" in response.headers["Vary"]
            raw = await response.read()
        async with http.get(f"{hub.base}/e/{EVENT}?lang=en",
                            headers={"Accept-Encoding": "gzip;q=0, identity"}) as response:
            assert "Content-Encoding" not in response.headers
    assert gzip.decompress(raw).decode() == plain
    assert len(raw) < len(plain.encode()) / 4


def test_the_cache_keeps_live_pages_a_few_seconds_and_parts_until_the_event_changes() -> None:
    cache = PageCache(ttl=0.0)
    cache.put(("e", "home"), b"page")
    cache.put(("e", "programme"), b"part", live=False)
    cache.put(("other", "home"), b"other", live=False)
    time.sleep(0.01)
    assert cache.get(("e", "home")) is None  # live: older than the ttl
    assert cache.get(("e", "programme")) == b"part"
    cache.drop("e")
    assert cache.get(("e", "programme")) is None
    assert cache.get(("other", "home")) == b"other"
    small = PageCache(most=2)
    for n in range(3):
        small.put(("e", n), n)
    assert len(small) == 2 and small.get(("e", 0)) is None


async def test_an_event_without_a_programme_yet(hub: RunningHub) -> None:
    status, _, _ = await ahttp("POST", f"{hub.base}/api/events", {
        "id": "early", "title": "Regional IGF", "start": "2027-03-01", "end": "2027-03-02",
        "timezone": "Africa/Addis_Ababa"}, token=ADMIN_KEY)
    assert status == 201
    status, html, _ = await get(hub, "/e/early?lang=ar")
    assert status == 200
    text = Page(html).text
    assert TEXTS["ar"]["no_programme"] in text and TEXTS["ar"]["nothing_live"] in text
    assert "الاثنين 1 مارس 2027" in text  # the first day, written in Arabic
    status, html, _ = await get(hub, "/e/early/highlights")
    assert status == 200 and TEXTS["en"]["hl_nothing"] in Page(html).text
    status, data, _ = await ahttp("GET", f"{hub.base}/api/events/early/highlights")
    assert status == 200 and data["tracks"] == [] and data["counts"]["sessions"] == 0


def test_the_texts_are_translated_in_every_language() -> None:
    english = TEXTS["en"]
    for lang, texts in TEXTS.items():
        assert set(texts) == set(english), lang
        assert len(texts["weekdays"].split()) == 7 and len(texts["months"].split()) == 12
        for key, value in texts.items():
            assert value.strip(), (lang, key)
            fields = sorted(re.findall(r"{(\w+)}", english[key]))
            if key != "date":  # each language orders a date its own way
                assert sorted(re.findall(r"{(\w+)}", value)) == fields, (lang, key)
        if lang != "en":
            same = [k for k, v in texts.items() if v == english[k]]
            assert len(same) <= 6, (lang, same)  # "Type", "Dates", "UTC"...: the same word
