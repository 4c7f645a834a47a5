"""The pure parts of search: text folding, query parsing, snippets, and which content of a
session becomes which documents (hub/search/text.py, query.py, snippet.py, documents.py)."""

from __future__ import annotations

import pytest

from hub.domain import commands
from hub.errors import HubError
from hub.search.documents import documents
from hub.search.query import Clause, parse
from hub.search.snippet import snippet
from hub.search.text import bigrams, fold, indexable, words
from tests.support.domain_helpers import CAPTIONER, run
from tests.support.search_documents import DAY, event, session


def test_fold_removes_only_how_a_word_is_written() -> None:
    assert fold("\uff54\uff41\uff42\uff4c\uff45") == "table"  # full-width
    assert fold("zero\u200bwidth\u202e") == "zerowidth"
    assert fold("حَوْكَمَة") == "حوكمة"
    assert fold("حـوكـمـة") == "حوكمة"
    assert fold("\u0625\u0646\u062a\u0631\u0646\u062a") == "\u0627\u0646\u062a\u0631\u0646\u062a"
    assert fold("Éthique") == "Éthique"  # case and accents: the engines'


def test_words_split_scripts_and_cjk_runs() -> None:
    assert words("e-mail, IGF2025!") == ["e", "mail", "IGF2025"]
    assert words("AI治理and更多") == ["AI", "治理", "and", "更多"]
    assert bigrams("互联网") == ["互联", "联网"]
    assert bigrams("网") == ["网"]
    assert indexable("我们的互联网 policy") == "我们 们的 的互 互联 联网 policy"


def test_parse_words_phrases_and_prefixes() -> None:
    query = parse('internet "digital public" gov* a*')
    assert query.clauses == (Clause(("internet",)), Clause(("digital", "public")),
                             Clause(("gov",), prefix=True), Clause(("a",)))
    assert parse("«digital divide»").clauses == (Clause(("digital", "divide")),)
    assert parse('"open ended').clauses == (Clause(("open", "ended")),)
    assert parse("e-mail").clauses == (Clause(("e", "mail")),)
    assert parse("治理").clauses == (Clause(("治理",), cjk=True),)
    assert parse("治").clauses == (Clause(("治",), prefix=True, cjk=True),)
    assert parse("互联网").clauses == (Clause(("互联", "联网"), cjk=True),)
    assert parse("AND OR NOT").clauses == (Clause(("AND",)), Clause(("OR",)), Clause(("NOT",)))
    assert parse("x x x").clauses == (Clause(("x",)),)  # the same word once


@pytest.mark.parametrize("raw", ["", " ", "*", '""', "(-:^)", "\u200b\u202e", "x" * 501,
                                 " ".join(f"w{n}" for n in range(13))])
def test_parse_refuses_nothing_to_search_or_too_much(raw: str) -> None:
    with pytest.raises(HubError) as caught:
        parse(raw)
    assert caught.value.code == "bad_request"


def test_snippet_escapes_and_marks() -> None:
    text = 'Say <script>alert("x")</script> & governing governance'
    assert snippet(text, parse("governance script")) == (
        'Say &lt;<mark>script</mark>&gt;alert(&quot;x&quot;)&lt;/<mark>script</mark>&gt; '
        "&amp; <mark>governing</mark> <mark>governance</mark>")
    long = "word " * 100 + "needle " + "word " * 100
    cut = snippet(long, parse("needle"))
    assert cut.startswith("…") and cut.endswith("…") and "<mark>needle</mark>" in cut
    assert len(cut) < 260
    assert snippet("人工智能在公共部门", parse("智能")) == "人工<mark>智能</mark>在公共部门"
    assert snippet("no match here", parse("absent")) == "no match here"


def test_caption_documents_link_to_their_moment_per_language() -> None:
    forum = event({"s1": ("Digital", "workshop")})
    state = session("s1")
    for n, (lang, text, final) in enumerate([("en", "First line", True),
                                             ("fr", "Première ligne", True),
                                             ("en", "Still typing", False),
                                             ("en", "Second line", True)]):
        run(state, commands.caption(state, CAPTIONER, lines=[text], lang=lang, final=final,
                                    seq=None, now=DAY + n * 30_000))
    docs = documents(state, forum)
    assert [(d.text, d.lang, d.url) for d in docs] == [
        ("First line", "en", "/e/igf2025/s/s1?t=0"),
        ("Première ligne", "fr", "/e/igf2025/s/s1?t=0"),
        ("Second line", "en", "/e/igf2025/s/s1?t=90"),
    ]
    assert {(d.event, d.track, d.type, d.day, d.year, d.title) for d in docs} == {
        ("igf2025", "Digital", "workshop", "2025-06-23", 2025, "Session s1")}
    assert len({d.key for d in docs}) == 3
