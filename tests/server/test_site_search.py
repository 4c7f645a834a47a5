# ruff: noqa: RUF001  (texts in Chinese and Russian: their letters and punctuation)
"""The site's search page over HTTP on a real hub: results, facets,
pagination, the moment a transcript line opens at, bad queries in the reader's language
(never a 500), escaping of what the index holds, privacy, the search budget."""

from __future__ import annotations

import html
import re
import urllib.parse
from typing import Any

import aiohttp
import pytest

from hub import keys
from hub.domain import forum as forum_domain
from hub.session import now_ms
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub
from tests.support.search_event import caption, programme, tokens, until

LINES = 45  # transcript lines holding "connectivity": three pages of 20


async def page(hub: RunningHub, path: str, **params: str) -> tuple[int, str, Any]:
    url = f"{hub.base}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text(), response.headers


def links(body: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', body)]


@pytest.fixture
async def archive(hub: RunningHub) -> RunningHub:
    """igf2025 (two sessions) with captions, approved, pending, rejected and anonymous
    items, a published report on one session and a draft on the other; all indexed."""
    await programme(hub.app[keys.FORUMS])
    first = await tokens(hub, "igf2025-1")
    text = "\n".join(f"Line {n} on meaningful connectivity" for n in range(LINES))
    await caption(hub, "igf2025-1", first["captioner"], text, "en")
    await caption(hub, "igf2025-1", first["captioner"],
                  "<script>alert(1)</script> <mark>fake</mark> &amp; escapedword", "en")
    second = await tokens(hub, "igf2025-2")
    await caption(hub, "igf2025-2", second["captioner"], "人工智能在公共部门的应用", "zh")
    await caption(hub, "igf2025-2", second["captioner"], "الذكاء الاصطناعي في القطاع العام", "ar")
    mod = Client(hub.ws_base, "igf2025-1", first["moderator"], name="Moderator")
    alice = Client(hub.ws_base, "igf2025-1", first["participant"], name="Alice Zyxwv")
    for client in (mod, alice):
        await client.connect()
    try:
        asked = {}
        for key, text, anonymous in (
                ("a", "Spectrum question approved", False),
                ("b", "Spectrum comment from someone anonymous", True),
                ("c", "Spectrum pendingword question", False),
                ("d", "Spectrum rejectedword question", False)):
            ack = await alice.ok({"type": "ask", "kind": "question", "text": text, "key": key,
                                  "anonymous": anonymous})
            asked[key] = ack["item"]
        for key in ("a", "b"):
            await mod.ok({"type": "moderate", "item": asked[key], "action": "approve"})
        await mod.ok({"type": "moderate", "item": asked["d"], "action": "reject"})
    finally:
        for client in (mod, alice):
            await client.close()
    forum = await hub.app[keys.FORUMS].get("igf2025")
    await forum.execute(lambda st: forum_domain.save_report(
        st, "igf2025-1", {"takeaways": ["Connectivity for rural schools"],
                          "summary": "A summary of connectivity"},
        publish=True, closed=True, by="o", now=now_ms()))
    await forum.execute(lambda st: forum_domain.save_report(
        st, "igf2025-2", {"takeaways": ["Draftword not for the public"]},
        publish=False, closed=True, by="o", now=now_ms()))
    await until(hub, LINES + 2, q="connectivity")
    await until(hub, 2, q="spectrum")
    await until(hub, 1, q="智能")
    return hub


async def test_results_with_facets_pagination_and_moments(archive: RunningHub) -> None:
    hub = archive
    status, body, headers = await page(hub, "/e/igf2025/search", q="connectivity", lang="en")
    assert status == 200, body
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Results found: 47." in body and "Shown: 1 to 20." in body
    assert body.count('class="hit"') == 20
    assert "<mark>connectivity</mark>" in body
    assert 'value="connectivity"' in body  # the form keeps the words
    found = links(body)
    # A transcript line opens its session at its moment, the line marked there.
    assert "/e/igf2025/s/igf2025-1?t=0&lang=en#here" in found
    # Facets: links with counts; the kinds named in the reader's language.
    assert "/e/igf2025/search?q=connectivity&kind=transcript&lang=en" in found
    assert re.search(r"Transcript line</bdi> <span class=\"count\">\(45\)</span>", body)
    assert re.search(r"Key takeaway</bdi> <span class=\"count\">\(1\)</span>", body)
    assert "/e/igf2025/search?q=connectivity&year=2025&lang=en" in found
    assert "/e/igf2025/search?q=connectivity&type=workshop&lang=en" in found
    assert "/e/igf2025/search?q=connectivity&track=Digital&lang=en" in found
    assert "/e/igf2025/search?q=connectivity&language=en&lang=en" in found
    # Pagination: next, numbers; no previous on the first page.
    assert "/e/igf2025/search?q=connectivity&page=2&lang=en" in found
    assert "/e/igf2025/search?q=connectivity&page=3&lang=en" in found
    assert 'rel="prev"' not in body and 'rel="next"' in body
    status, body, _ = await page(hub, "/e/igf2025/search", q="connectivity", lang="en",
                                 page="3")
    assert status == 200 and "Shown: 41 to 47." in body and 'rel="next"' not in body
    assert body.count('class="hit"') == 7 and 'aria-current="page"' in body
    # A facet chosen narrows the results and offers "Any" to drop it.
    status, body, _ = await page(hub, "/e/igf2025/search", q="connectivity", lang="en",
                                 kind="takeaway")
    assert status == 200 and "Results found: 1." in body
    assert "/e/igf2025/search?q=connectivity&lang=en" in links(body)
    assert "/e/igf2025/s/igf2025-1?lang=en" in links(body)  # not a moment: the page
    # The moment a result opens at is marked on the session page (once it closed).
    await ahttp("PATCH", f"{hub.base}/api/sessions/igf2025-1", {"state": "closed"},
                token=ADMIN_KEY)
    status, body, _ = await page(hub, "/e/igf2025/s/igf2025-1", t="0", lang="en")
    assert status == 200 and body.count('id="here"') == 1, body[body.find("cues"):][:800]
    assert re.search(r'<li id="here" class="here" aria-current="true">.*Line 0 on', body)
    status, body, _ = await page(hub, "/e/igf2025/s/igf2025-1", lang="en")
    assert 'id="here"' not in body
    for odd in ("-1", "x", "99999999999", "\u0661"):  # not a moment: the page as usual
        status, body, _ = await page(hub, "/e/igf2025/s/igf2025-1", t=odd)
        assert status == 200 and 'id="here"' not in body


async def test_phrase_prefix_chinese_and_arabic(archive: RunningHub) -> None:
    hub = archive
    status, body, _ = await page(hub, "/e/igf2025/search", q='"meaningful connectivity"')
    assert status == 200 and "Results found: 45." in body
    assert "<mark>meaningful</mark> <mark>connectivity</mark>" in body
    status, body, _ = await page(hub, "/e/igf2025/search", q="connect*", lang="en")
    assert status == 200 and "Results found: 47." in body
    assert '&#34;community networks&#34;' in body or "&quot;community networks&quot;" in body
    assert "govern*" in body  # the hints
    status, body, _ = await page(hub, "/e/igf2025/search", q="智能", lang="zh")
    assert status == 200 and "找到的结果：1 条。" in body
    assert "人工<mark>智能</mark>在公共部门的应用" in body
    assert 'lang="zh" dir="auto"' in body
    status, body, _ = await page(hub, "/e/igf2025/search", q="الاصطناعي", lang="ar")
    assert status == 200 and 'dir="rtl"' in body and "عدد النتائج: 1." in body


async def test_index_text_is_escaped_never_markup(archive: RunningHub) -> None:
    status, body, _ = await page(archive, "/e/igf2025/search", q="escapedword")
    assert status == 200 and "Results found: 1." in body
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;mark&gt;fake&lt;/mark&gt;" in body and "<mark>fake</mark>" not in body
    assert "&amp;amp; <mark>escapedword</mark>" in body
    assert body.count("<mark>") == 1


async def test_only_public_content_and_no_names(archive: RunningHub) -> None:
    hub = archive
    status, body, _ = await page(hub, "/e/igf2025/search", q="spectrum")
    assert status == 200 and "Results found: 2." in body
    assert "Spectrum question approved" in html.unescape(body).replace("<mark>", "").replace(
        "</mark>", "")
    for hidden in ("pendingword", "rejectedword", "Alice", "Zyxwv", "Moderator"):
        assert hidden not in body
    for q in ("pendingword", "rejectedword", "Zyxwv", "draftword"):
        status, body, _ = await page(hub, "/e/igf2025/search", q=q)
        assert status == 200 and "Results found: 0." in body
        assert "Nothing found." in body


@pytest.mark.parametrize(("params", "status", "message"), [
    ({}, 200, "Type the words to search for."),
    ({"q": "   "}, 200, "Type the words to search for."),
    ({"q": '*** "" ( ) :'}, 400, "The search has no words to look for"),
    ({"q": "AND OR NOT *"}, 200, "Results found: 0."),  # words, as anyone may mean them
    ({"q": "a" * 600}, 400, "The search is too long: at most 500 characters"),
    ({"q": " ".join(f"w{n}" for n in range(13))}, 400, "too many words and phrases"),
    ({"q": '"unbalanced quote'}, 200, "Results found: 0."),
    ({"q": "'; DROP TABLE docs; --"}, 200, "Results found: 0."),
    ({"q": "NEAR(x y) OR title:x"}, 200, "Results found: 0."),
    ({"q": "\u202eevil zero\u200bwidth"}, 200, "Results found: 0."),
    ({"q": "x", "year": "25"}, 400, "A filter in this address is not valid."),
    ({"q": "x", "kind": "profile"}, 400, "A filter in this address is not valid."),
    ({"q": "x", "page": "51"}, 400, "A filter in this address is not valid."),
    ({"q": "x", "language": "english!"}, 400, "A filter in this address is not valid."),
    ({"q": "x", "utm_source": "mail"}, 200, "Results found: 0."),  # unknown: ignored
])
async def test_bad_queries_keep_the_form_and_say_why(
        hub: RunningHub, params: dict[str, str], status: int, message: str) -> None:
    got, body, _ = await page(hub, "/search", **params, lang="en")
    assert got == status, body
    assert message in html.unescape(body)
    assert '<form class="search-form" role="search"' in body
    kept = re.search(r'<input id="q" name="q" type="search" value="([^"]*)"', body)
    assert kept is not None and html.unescape(kept.group(1)) == params.get("q", "")
    if status == 400:
        assert 'role="alert"' in body and 'aria-invalid="true"' in body


async def test_the_reason_is_in_the_readers_language(hub: RunningHub) -> None:
    for lang, text in (("fr", "La recherche ne contient aucun mot"),
                       ("ar", "لا يحتوي البحث على كلمات"),
                       ("zh", "搜索内容中没有可查找的词"),
                       ("es", "La búsqueda no tiene palabras"),
                       ("ru", "В запросе нет слов для поиска")):
        status, body, _ = await page(hub, "/search", q="***", lang=lang)
        assert status == 400 and text in body


async def test_a_10_kb_query_is_refused_not_a_500(hub: RunningHub) -> None:
    # Past aiohttp's 8 KB request line: aiohttp refuses it before the page is asked.
    status, _, _ = await page(hub, "/e/igf2025/search", q="word " * 2048)
    assert status == 400


async def test_every_event_and_this_event(archive: RunningHub) -> None:
    hub = archive
    other = await programme(hub.app[keys.FORUMS], "igf2026")
    assert other.id == "igf2026"
    links2 = await tokens(hub, "igf2026-1")
    await caption(hub, "igf2026-1", links2["captioner"], "Connectivity next year", "en")
    await until(hub, LINES + 3, q="connectivity")
    status, body, _ = await page(hub, "/e/igf2025/search", q="connectivity", lang="en")
    assert "Results found: 47." in body
    assert "/search?q=connectivity&lang=en" in links(body)  # every event, a plain link
    assert 'name="all" value="1"' in body  # and a checkbox in the form
    for path, params in (("/search", {}), ("/e/igf2025/search", {"all": "1"})):
        status, body, _ = await page(hub, path, q="connectivity", lang="en", **params)
        assert status == 200 and "Results found: 48." in body
        assert "/e/igf2026/search?q=connectivity&lang=en" in links(body)  # the event facet
        assert "/e/igf2026?lang=en" in links(body)  # each result names its event
    status, body, _ = await page(hub, "/e/nosuch/search", q="connectivity")
    assert status == 404


async def test_every_event_page_has_the_search_box(archive: RunningHub) -> None:
    for path in ("/e/igf2025", "/e/igf2025/s/igf2025-1", "/e/igf2025/highlights"):
        status, body, _ = await page(archive, path, lang="ar")
        assert status == 200
        assert re.search(r'<form class="search-box" role="search" action="/e/igf2025/search"',
                         body)
        assert '<input type="hidden" name="lang" value="ar">' in body
        assert "البحث في هذه الفعالية" in body


async def test_the_search_budget_applies_to_the_page(hub_factory: Any) -> None:
    hub = await hub_factory(search_per_minute=2, shared_addresses=())
    for _ in range(2):
        assert (await page(hub, "/search", q="anything"))[0] == 200
    status, body, headers = await page(hub, "/search", q="anything", lang="fr")
    assert status == 429 and headers["Retry-After"] == "60"
    assert "Trop de recherches depuis votre adresse" in body
    assert 'value="anything"' in body
    status, _, _ = await page(hub, "/search")  # the form alone costs nothing
    assert status == 200
