"""The SearchIndex contract, one suite run against every backend (hub/search/base.py).

SQLite FTS5 in a temporary folder, and PostgreSQL: a private server (tests/
fixtures_postgres.py) or HUB_TEST_POSTGRES_URL, a fresh database per test. Documents are
made from real session and event states (hub/search/documents.py), so the privacy rules
are checked through the index too.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hub.domain import commands
from hub.domain import forum as forum_domain
from hub.domain.fact_kinds import apply
from hub.domain.session import SessionState
from hub.errors import HubError
from hub.search.base import Filters, SearchIndex
from hub.search.documents import Document, documents
from hub.search.postgres import PostgresIndex
from hub.search.query import parse
from hub.search.sqlite import SqliteIndex
from tests.support.domain_helpers import ALICE, BOB, CAPTIONER, ask, moderate, run
from tests.support.search_documents import DAY, event, session

pytest_plugins = ["tests.support.postgres_server"]



@pytest.fixture(params=["sqlite", "postgres"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    made: SearchIndex
    if request.param == "sqlite":
        made = SqliteIndex(str(tmp_path / "data"))
    else:
        made = PostgresIndex(request.getfixturevalue("postgres_url"))
    await made.start()
    yield made
    await made.close()






def say(state: SessionState, lang: str, *lines: str, at: int = DAY) -> None:
    for n, text in enumerate(lines):
        run(state, commands.caption(state, CAPTIONER, lines=[text], lang=lang, final=True,
                                    seq=None, now=at + n * 1000))


async def found(index: SearchIndex, q: str, **filters: object) -> list[str]:
    """The texts a query finds (all pages)."""
    results = await index.search(parse(q), Filters(**filters), 1, 100)  # type: ignore[arg-type]
    return [doc.text for doc in results.documents]


def doc(session_id: str, key: str, text: str, lang: str = "en", **kw: object) -> Document:
    base = Document(session=session_id, key=key, kind="transcript", text=text, lang=lang,
                    event="igf2025", title="T", track="Digital", type="workshop",
                    day="2025-06-23", ts=DAY, url=f"/e/igf2025/s/{session_id}?t=0")
    return replace(base, **kw)  # type: ignore[arg-type]


# -- replace, add, delete ------------------------------------------------------------------


async def test_replace_is_idempotent_and_leaves_no_stale_rows(index: SearchIndex) -> None:
    forum = event({"s1": ("Digital", "workshop")})
    state = session("s1")
    say(state, "en", "Open data for every citizen", "Broadband reaches rural schools")
    await index.replace("s1", documents(state, forum))
    await index.replace("s1", documents(state, forum))
    assert await index.count("s1") == 2
    assert await found(index, "broadband") == ["Broadband reaches rural schools"]
    # The session changes (a new line, the programme's title): the set is replaced whole.
    say(state, "en", "Satellite broadband pilots", at=DAY + 10_000)
    await index.replace("s1", documents(state, forum))
    assert await index.count("s1") == 3
    assert sorted(await found(index, "broadband")) == [
        "Broadband reaches rural schools", "Satellite broadband pilots"]
    await index.replace("s1", [])
    assert await index.count() == 0
    assert await found(index, "broadband") == []


async def test_add_replaces_documents_with_the_same_key(index: SearchIndex) -> None:
    await index.add("s1", [doc("s1", "t0", "first wording of cybersecurity")])
    await index.add("s1", [doc("s1", "t0", "second wording of cybersecurity"),
                           doc("s1", "t1", "another line")])
    assert await index.count("s1") == 2
    assert await found(index, "cybersecurity") == ["second wording of cybersecurity"]
    assert await found(index, "first") == []


async def test_replace_refuses_documents_of_another_session_or_twice(index: SearchIndex) -> None:
    with pytest.raises(ValueError, match="given for"):
        await index.replace("s1", [doc("s2", "t0", "x")])
    with pytest.raises(ValueError, match="twice"):
        await index.replace("s1", [doc("s1", "t0", "x"), doc("s1", "t0", "y")])
    assert await index.count() == 0


async def test_concurrent_replacements_leave_one_whole_set(index: SearchIndex) -> None:
    sets = [[doc("s1", f"t{n}", f"version{v} line {n}") for n in range(20)] for v in range(5)]
    await asyncio.gather(*(index.replace("s1", docs) for docs in sets))
    assert await index.count("s1") == 20
    left = await index.search(parse("line"), Filters(), 1, 50)
    assert len({d.text.split()[0] for d in left.documents}) == 1  # one version, not a mix


async def test_delete_removes_a_session_and_only_it(index: SearchIndex) -> None:
    await index.replace("s1", [doc("s1", "t0", "spectrum policy")])
    await index.replace("s2", [doc("s2", "t0", "spectrum auctions")])
    await index.delete("s1")
    assert await found(index, "spectrum") == ["spectrum auctions"]
    assert await index.sessions() == {"s2"}
    await index.delete("s1")  # again: nothing to do


async def test_erasure_reindexed_removes_the_persons_words(index: SearchIndex) -> None:
    from hub.domain import erasure
    from tests.support.domain_helpers import MOD

    forum = event({"s1": ("Digital", "workshop")})
    facts: list[dict[str, Any]] = []
    state = SessionState(id="s1")

    def do(decision: commands.Decision) -> dict[str, Any]:
        if decision.fact is not None:
            facts.append(decision.fact)
            apply(state, decision.fact)
        return decision.result

    do(commands.Decision(commands.create(title="Workshop", languages=["en"], state="live",
                                         settings=None, now=1000), {}))
    for actor in (MOD, ALICE, BOB):
        do(commands.join(state, actor.id, actor.role, actor.name, None, False, 1000))
    for actor, text in ((ALICE, "What about zeroknowledge identity schemes?"),
                        (BOB, "How are community networks funded?")):
        item = do(commands.ask(state, actor, kind="question", text=text, key="k", lang=None,
                               anonymous=False, on_behalf=None, now=2000))["item"]
        do(commands.moderate(state, MOD, item, "approve"))
    await index.replace("s1", documents(state, forum))
    assert await found(index, "zeroknowledge") != []
    # Erasing Alice: the facts are scrubbed and folded again, as Session.erase does.
    fresh = SessionState(id="s1")
    for entry in erasure.scrub([erasure.LogEntry(0, f) for f in facts], ALICE.id, "alias"):
        apply(fresh, entry.fact)
    await index.replace("s1", documents(fresh, forum))
    assert await found(index, "zeroknowledge") == []
    assert await found(index, "erased") == []
    assert await found(index, "community networks") == ["How are community networks funded?"]


# -- privacy ---------------------------------------------------------------------------------


async def test_only_approved_items_without_names_are_found(index: SearchIndex) -> None:
    forum = event({"s1": ("Digital", "workshop")})
    state = session("s1")
    approved = ask(state, ALICE, text="Approved question on encryption", key="a")
    moderate(state, approved, "approve")
    ask(state, ALICE, text="Pending question on encryption", key="p")
    rejected = ask(state, BOB, text="Rejected question on encryption", key="r")
    moderate(state, rejected, "reject")
    anonymous = ask(state, BOB, text="Anonymous comment on encryption", key="n",
                    kind="comment", anonymous=True)
    moderate(state, anonymous, "approve")
    withdrawn = ask(state, BOB, text="Withdrawn question on encryption", key="w")
    moderate(state, withdrawn, "approve")
    run(state, commands.withdraw(state, BOB, withdrawn))
    await index.replace("s1", documents(state, forum))
    assert sorted(await found(index, "encryption")) == [
        "Anonymous comment on encryption", "Approved question on encryption"]
    for name in ("Alice", "Bob"):
        assert await found(index, name) == []


async def test_a_session_outside_any_event_and_a_draft_report_are_not_public(
        index: SearchIndex) -> None:
    state = session("s9")
    say(state, "en", "Private meeting about budgets")
    assert documents(state, None) == []
    assert documents(state, event({"other": ("", "")})) == []
    forum = event({"s9": ("Digital", "workshop")})
    fact = forum_domain.save_report(forum, "s9", {"takeaways": ["Draft takeaway on budgets"]},
                                    publish=False, closed=True, by="o", now=DAY)
    forum_domain.apply(forum, fact)
    await index.replace("s9", documents(state, forum))
    assert await found(index, "budgets") == ["Private meeting about budgets"]
    published = forum_domain.save_report(forum, "s9", {"calls": ["Publish budgets openly"],
                                                       "summary": "Budgets were discussed."},
                                         publish=True, closed=True, by="o", now=DAY)
    forum_domain.apply(forum, published)
    await index.replace("s9", documents(state, forum))
    results = await index.search(parse("budgets"), Filters(), 1, 20)
    assert results.facets["kind"] == {"call": 1, "summary": 1, "takeaway": 1, "transcript": 1}
    withdrawn = forum_domain.withdraw_report(forum, "s9", by="o", now=DAY)
    forum_domain.apply(forum, withdrawn)
    await index.replace("s9", documents(state, forum))
    assert await found(index, "budgets") == ["Private meeting about budgets"]


# -- languages ---------------------------------------------------------------------------


LINES = {
    "en": "Governments are governing the internet through multistakeholder processes",
    "fr": "Les gouvernements débattent de la gouvernance numérique",
    "es": "Los gobiernos discuten la gobernanza de internet",
    "ru": "Правительства обсуждают управление интернетом",
    "ar": "تناقش الحكومات حوكمة الإنترنت",
    "zh": "各国政府讨论互联网治理问题",
}


@pytest.fixture
async def six(index: SearchIndex) -> SearchIndex:
    forum = event({"s1": ("Digital", "workshop")})
    state = session("s1", list(LINES))
    for lang, line in LINES.items():
        say(state, lang, line)
    await index.replace("s1", documents(state, forum))
    return index


@pytest.mark.parametrize(("q", "lang"), [
    ("governance", "en"),  # stemmed: governing, governments
    ("government", "en"),
    ("gouvernance", "fr"),
    ("numerique", "fr"),  # diacritics folded (FTS5) or stemmed alike (PostgreSQL)
    ("gobernanza", "es"),
    ("управление", "ru"),
    ("الانترنت", "ar"),  # alef with hamza below, typed without it
    ("الإنترنت", "ar"),
    ("حوكمة", "ar"),
    ("互联网", "zh"),
    ("治理", "zh"),  # two characters
    ("政", "zh"),  # one character: a prefix
    ("网治", "zh"),  # across a word boundary: a substring, as a reader expects
])
async def test_six_languages(six: SearchIndex, q: str, lang: str) -> None:
    results = await six.search(parse(q), Filters(), 1, 20)
    assert [d.lang for d in results.documents] == [lang]
    assert (await six.search(parse(q), Filters(lang=lang))).total == 1


async def test_arabic_diacritics_and_tatweel_are_folded(six: SearchIndex) -> None:
    assert await found(six, "حـوكـمـة") == [LINES["ar"]]  # tatweel
    assert await found(six, "حَوْكَمَة") == [LINES["ar"]]  # harakat


async def test_english_stemming(six: SearchIndex) -> None:
    assert await found(six, "governed processes") == [LINES["en"]]
    assert await found(six, "govern*") == [LINES["en"]]


async def test_chinese_text_not_in_the_line_is_not_found(six: SearchIndex) -> None:
    assert await found(six, "网络") == []
    assert await found(six, "治理互联网") == []  # the same characters in another order


# -- phrase, prefix, ranking, facets, pagination -------------------------------------------


async def test_phrase_and_prefix(index: SearchIndex) -> None:
    await index.replace("s1", [doc("s1", "t0", "digital public infrastructure matters"),
                               doc("s1", "t1", "public digital goods and infrastructure"),
                               doc("s1", "t2", "infrastructures publiques")])
    assert await found(index, '"digital public infrastructure"') == [
        "digital public infrastructure matters"]
    assert sorted(await found(index, "digital public infrastructure")) == [
        "digital public infrastructure matters", "public digital goods and infrastructure"]
    assert sorted(await found(index, "infra*")) == [
        "digital public infrastructure matters", "infrastructures publiques",
        "public digital goods and infrastructure"]
    assert await found(index, '"public digital') == [  # an unclosed quote: to the end
        "public digital goods and infrastructure"]


async def test_ranking_puts_the_closer_match_first(index: SearchIndex) -> None:
    await index.replace("s1", [
        doc("s1", "t0", "privacy " + "and other topics " * 20),
        doc("s1", "t1", "privacy privacy: data privacy rules"),
    ])
    assert (await found(index, "privacy"))[0] == "privacy privacy: data privacy rules"


async def test_facets_and_filters(index: SearchIndex) -> None:
    await index.replace("s1", [doc("s1", "t0", "cloud ethics", lang="en"),
                               doc("s1", "i1", "cloud ethics question", kind="question")])
    await index.replace("s2", [doc("s2", "t0", "cloud éthique", lang="fr", event="igf2024",
                                   day="2024-12-16", track="Innovation", type="open_forum")])
    results = await index.search(parse("cloud"), Filters())
    assert results.total == 3
    assert results.facets == {
        "event": {"igf2025": 2, "igf2024": 1},
        "track": {"Digital": 2, "Innovation": 1},
        "type": {"workshop": 2, "open_forum": 1},
        "kind": {"transcript": 2, "question": 1},
        "lang": {"en": 2, "fr": 1},
        "year": {"2025": 2, "2024": 1},
    }
    assert (await index.search(parse("cloud"), Filters(event="igf2024"))).total == 1
    assert (await index.search(parse("cloud"), Filters(kind="question"))).total == 1
    assert (await index.search(parse("cloud"), Filters(year=2024))).total == 1
    assert (await index.search(parse("cloud"), Filters(track="Digital"))).total == 2
    assert (await index.search(parse("cloud"), Filters(type="open_forum"))).total == 1
    assert (await index.search(parse("cloud"), Filters(start="2025-01-01"))).total == 2
    assert (await index.search(parse("cloud"), Filters(end="2024-12-16"))).total == 1
    assert (await index.search(parse("cloud"), Filters(event="nope"))).total == 0


async def test_pagination_covers_every_match_once(index: SearchIndex) -> None:
    await index.replace("s1", [doc("s1", f"t{n}", f"resilience line {n}", ts=DAY + n)
                               for n in range(45)])
    pages = [await index.search(parse("resilience"), Filters(), page, 20) for page in (1, 2, 3)]
    assert [p.total for p in pages] == [45, 45, 45]
    assert [len(p.documents) for p in pages] == [20, 20, 5]
    texts = [d.text for p in pages for d in p.documents]
    assert len(set(texts)) == 45
    assert (await index.search(parse("resilience"), Filters(), 4, 20)).documents == []


# -- bad queries -------------------------------------------------------------------------


HOSTILE = [
    "'; DROP TABLE docs; --", 'body:secret', "NEAR(a b)", "a OR b NOT c", "(((", "^start",
    "col : x", "x\u0000y", "\u202eevil\u202c", "\uff54\uff41\uff42\uff4c\uff45\uff53",
    "e\u0301", "a' & b | !c",
    "''':*", "<->", "x:* & y", "\\", "%_%", "foo\"bar\"baz\"", "🙂 emoji", "a" * 400,
]


@pytest.mark.parametrize("q", HOSTILE)
async def test_hostile_queries_search_for_their_words(index: SearchIndex, q: str) -> None:
    await index.replace("s1", [doc("s1", "t0", "an ordinary line about tables and docs")])
    try:
        query = parse(q)
    except HubError as exc:
        assert exc.code == "bad_request"
        return
    results = await index.search(query, Filters())  # never an engine error
    assert results.total in (0, 1)
    assert await index.count() == 1


@pytest.mark.parametrize("q", ["", "   ", "*", '"', '""', "AND", "- + ( ) : ^ ~", "a" * 10_000,
                               " ".join(f"w{n}" for n in range(40))])
def test_queries_without_words_or_too_long_are_refused(q: str) -> None:
    if q == "AND":  # a word like any other
        assert parse(q).clauses
        return
    with pytest.raises(HubError) as caught:
        parse(q)
    assert caught.value.code == "bad_request"


def test_the_sqlite_file_is_the_owners_only(tmp_path: Path) -> None:
    async def make() -> None:
        made = SqliteIndex(str(tmp_path / "data"))
        await made.start()
        await made.replace("s1", [doc("s1", "t0", "x")])
        await made.close()

    asyncio.run(make())
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / "search.sqlite").st_mode)
    assert mode == 0o600


async def test_two_indexes_on_one_store_write_without_clashing(
        index: SearchIndex, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Another process on the same store (`hub reindex` beside a running hub, or a second
    instance): numbers and facet combinations come from the store, not from memory."""
    other: SearchIndex
    if isinstance(index, SqliteIndex):
        other = SqliteIndex(str(tmp_path / "data"))
    else:
        other = PostgresIndex(request.getfixturevalue("postgres_url"))
    await other.start()
    try:
        for n in range(3):
            await index.add("s1", [doc("s1", f"a{n}", f"alpha line {n}", track=f"T{n}")])
            await other.add("s2", [doc("s2", f"b{n}", f"alpha other {n}", track=f"T{n}")])
        results = await index.search(parse("alpha"), Filters(), 1, 50)
        assert results.total == 6 and len(results.documents) == 6
        assert results.facets["track"] == {"T0": 2, "T1": 2, "T2": 2}
        assert (await other.search(parse("alpha"), Filters(track="T1"))).total == 2
    finally:
        await other.close()


async def test_deleted_text_leaves_the_sqlite_files(tmp_path: Path) -> None:
    """Not only out of the results: out of the file's pages (and its WAL) after a purge."""
    index = SqliteIndex(str(tmp_path / "data"))
    await index.start()
    try:
        await index.replace("s1", [doc("s1", f"t{n}", f"quillington frobnicate line {n}")
                                   for n in range(50)])
        await index.replace("s2", [doc("s2", "t0", "keep this line")])
        raw = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir())
        assert b"quillington" in raw
        await index.delete("s1")
        index.purge_later()
        await index.settled()
        raw = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir())
        assert b"quillington" not in raw and b"frobnicate" not in raw
        assert await found(index, "keep") == ["keep this line"]
    finally:
        await index.close()
