"""Text as both search engines see it: normalised the same way for documents and queries.

Pure. `fold` removes what only changes how a word is written, never what it is: Unicode
compatibility forms (NFKC: full-width Latin, ligatures), format characters (zero-width
joiners, bidirectional overrides, soft hyphens), Arabic diacritics (tashkeel), the tatweel
that stretches a word, and the alef forms (U+0622, U+0623, U+0625, U+0671 -> U+0627), so
an Arabic word with hamza under its alef finds the same word written without. Case and
Latin diacritics are the engines' to fold (FTS5's unicode61, PostgreSQL's configurations),
so stemming still sees the word as written.

Chinese, Japanese and Korean are written without spaces between words: `indexable` turns
each run of such characters into its overlapping character bigrams (互联网 -> 互联 联网),
and a query run becomes the phrase of its bigrams, which matches exactly where the text
holds the run: a substring search both engines can do with their word index.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic marks: tanween, harakat, shadda, sukun, superscript alef, Quranic marks.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_ALEFS = str.maketrans({"\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627",
                        "\u0671": "\u0627"})
# Han, Hiragana, Katakana, Hangul and the CJK compatibility/extension blocks.
_CJK = ("\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
        "\U00020000-\U0002fa1f")
CJK_RUN = re.compile(f"[{_CJK}]+")
# A word: letters and digits (any script), never an underscore or punctuation.
WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """`text` without the differences of writing listed above (same length or shorter)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _ARABIC_MARKS.sub("", text).replace(_TATWEEL, "")
    return text.translate(_ALEFS)


def is_cjk(word: str) -> bool:
    return CJK_RUN.fullmatch(word) is not None


def bigrams(run: str) -> list[str]:
    """The overlapping character pairs of a CJK run (the run itself when one character)."""
    if len(run) < 2:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def words(text: str) -> list[str]:
    """The words of folded `text`, a CJK run split from the letters around it."""
    out: list[str] = []
    for word in WORD.findall(text):
        start = 0
        for run in CJK_RUN.finditer(word):
            if run.start() > start:
                out.append(word[start:run.start()])
            out.append(run.group())
            start = run.end()
        if start < len(word):
            out.append(word[start:])
    return out


def indexable(text: str) -> str:
    """What an engine indexes for `text`: its folded words, CJK runs as their bigrams."""
    out: list[str] = []
    for word in words(fold(text)):
        out.extend(bigrams(word) if is_cjk(word) else [word])
    return " ".join(out)
