"""A search query as people type it, parsed into clauses no engine can misread.

Pure. The text is never handed to an engine's own query syntax (FTS5 MATCH, tsquery):
`parse` keeps only words (letters and digits, after `text.fold`), so quotes, operators,
parentheses, column filters or SQL in a query are plain text. What a query can say:

- words: every one must match (`internet governance`), each as the engine stems it;
- a phrase in double quotes (straight or typographic: "…", “…”, «…»): the words in that
  order, next to each other; an unclosed quote runs to the end of the query;
- a prefix: a word ending in `*` (`govern*`), two characters at least;
- Chinese, Japanese, Korean: a run of such characters matches where the text holds that
  run (its bigrams as a phrase, see `text`); a single character matches as a prefix.

Refused with a clear `bad_request` (400): no words at all (empty, only operators or
punctuation), more than MAX_LENGTH characters, more than MAX_CLAUSES words and phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import bad_request
from .text import bigrams, fold, is_cjk, words

MAX_LENGTH = 500  # characters of query text
MAX_CLAUSES = 12
MAX_WORD = 64  # characters of one word (a longer one is cut: no engine indexes it whole)
MIN_PREFIX = 2
_QUOTES = re.compile('["\u201c\u201d\u201e\u00ab\u00bb\uff02]')


@dataclass(frozen=True, slots=True)
class Clause:
    """Words that must match next to each other, in order (one word: anywhere). With
    `prefix`, the last word matches any word it begins."""

    words: tuple[str, ...]
    prefix: bool = False
    cjk: bool = False  # the words are the bigrams of a CJK run

    def __post_init__(self) -> None:
        if not self.words:
            raise ValueError("a clause has at least one word")


@dataclass(frozen=True, slots=True)
class Query:
    clauses: tuple[Clause, ...]

    def terms(self) -> list[tuple[str, bool]]:
        """Every word to highlight, with whether it is a prefix (CJK: the whole run)."""
        out: list[tuple[str, bool]] = []
        for clause in self.clauses:
            if clause.cjk:
                run = clause.words[0] + "".join(w[1:] for w in clause.words[1:])
                out.append((run, clause.prefix))
            else:
                last = len(clause.words) - 1
                out.extend((w, clause.prefix and i == last) for i, w in enumerate(clause.words))
        return out


def parse(raw: str) -> Query:
    """The query `raw` says; `bad_request` when it says nothing or too much."""
    if len(raw) > MAX_LENGTH:
        raise bad_request(f"the query is {len(raw)} characters long; at most {MAX_LENGTH}, "
                          "please")
    text = fold(raw)
    clauses: list[Clause] = []
    for n, part in enumerate(_QUOTES.split(text)):
        quoted = n % 2 == 1  # an unclosed quote: the rest is the phrase
        if quoted:
            clauses.extend(_phrase(part))
        else:
            for token in part.split():
                clauses.extend(_token(token))
    if not clauses:
        raise bad_request("the query has no words to search for (letters or digits)")
    unique = list(dict.fromkeys(clauses))
    if len(unique) > MAX_CLAUSES:
        raise bad_request(f"the query has {len(unique)} words and phrases; at most "
                          f"{MAX_CLAUSES}, please")
    return Query(tuple(unique))


def _token(token: str) -> list[Clause]:
    """One whitespace-separated piece: a word, a prefix, or words joined by punctuation
    (`e-mail`, `IGF2025`, `AI治理`) that must stay together."""
    prefix = token.endswith("*")
    found = [w[:MAX_WORD] for w in words(token)]
    if not found:
        return []
    if len(found) == 1:
        return [_word(found[0], prefix)]
    if any(is_cjk(w) for w in found):
        # A mix of scripts in one token: each part on its own, all required.
        return [_word(w, prefix and i == len(found) - 1) for i, w in enumerate(found)]
    return [Clause(tuple(found), prefix=prefix and len(found[-1]) >= MIN_PREFIX)]


def _word(word: str, prefix: bool) -> Clause:
    if is_cjk(word):
        return Clause(tuple(bigrams(word)), prefix=prefix or len(word) == 1, cjk=True)
    return Clause((word,), prefix=prefix and len(word) >= MIN_PREFIX)


def _phrase(part: str) -> list[Clause]:
    found = [w[:MAX_WORD] for w in words(part)]
    if not found:
        return []
    if any(is_cjk(w) for w in found):
        return [_word(w, False) for w in found]
    return [Clause(tuple(found))]
