"""The pages' translation files (web/js/i18n/<code>.js, one per language): the languages
web/js/i18n.js offers each have one, every one has exactly the keys of English with the
same placeholders, and only web/js/i18n.js names them (English statically, as the
fallback; the others fetched on demand), so no page fetches all six."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
FOLDER = WEB / "js" / "i18n"
LOADER = WEB / "js" / "i18n.js"
# One entry a line: `  'key': 'text',` (single quotes, backslash escapes).
ENTRY = re.compile(r"^  '((?:[^'\\]|\\.)+)': '((?:[^'\\]|\\.)*)',$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def offered() -> list[str]:
    """The language codes of i18n.js's LANGUAGES, in its order."""
    source = LOADER.read_text(encoding="utf-8")
    table = source[source.index("export const LANGUAGES = ["):]
    table = table[:table.index("];")]
    return re.findall(r"\{ code: '([a-z]+)'", table)


def entries(code: str) -> list[tuple[str, str]]:
    """The (key, text) pairs of a language file, in order; any other line fails."""
    lines = (FOLDER / f"{code}.js").read_text(encoding="utf-8").split("\n")
    start, end = lines.index("export default {"), lines.index("};")
    assert all(line.startswith("//") for line in lines[:start]), code
    assert lines[end + 1:] == [""], f"{code}.js: nothing after the table"
    out = []
    for number, line in enumerate(lines[start + 1:end], start + 2):
        if line.strip().startswith("//"):
            continue
        match = ENTRY.match(line)
        assert match, f"{code}.js line {number} is not `  'key': 'text',`: {line!r}"
        out.append((match.group(1), match.group(2)))
    return out


LANGUAGES = offered()
OTHERS = [code for code in LANGUAGES if code != "en"]


def test_each_language_offered_has_its_file_and_no_other_file_is_there() -> None:
    assert LANGUAGES == ["en", "fr", "es", "ar", "zh", "ru"]
    assert sorted(path.stem for path in FOLDER.glob("*.js")) == sorted(LANGUAGES)
    assert not [path.name for path in FOLDER.iterdir() if path.suffix != ".js"]


@pytest.mark.parametrize("code", LANGUAGES)
def test_no_key_is_given_twice(code: str) -> None:
    keys = [key for key, _ in entries(code)]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    assert not twice, f"{code}.js: the last one would silently win: {twice}"


@pytest.mark.parametrize("code", OTHERS)
def test_every_language_has_exactly_the_english_keys(code: str) -> None:
    english = [key for key, _ in entries("en")]
    own = [key for key, _ in entries(code)]
    assert sorted(set(english) - set(own)) == [], f"missing in {code}.js"
    assert sorted(set(own) - set(english)) == [], f"in {code}.js but not in en.js"
    assert own == english, f"{code}.js: the keys are in English's order (diffs stay readable)"


@pytest.mark.parametrize("code", OTHERS)
def test_every_text_has_the_english_placeholders(code: str) -> None:
    english = dict(entries("en"))
    wrong = {key: (english[key], text) for key, text in entries(code)
             if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(english[key]))}
    assert not wrong, wrong


def test_only_the_loader_names_the_language_files() -> None:
    """English is the one file imported statically (the fallback); the page's language and
    any other are fetched by `import()` in i18n.js; no page or other script names one."""
    loader = LOADER.read_text(encoding="utf-8")
    assert re.findall(r"^import .* from '(\./i18n/[^']+)';$", loader, re.M) == ["./i18n/en.js"]
    assert "import(`./i18n/${code}.js`)" in loader
    named = re.compile(r"i18n/(?:" + "|".join(LANGUAGES) + r")\.js")
    for path in [*WEB.glob("*.html"), *WEB.glob("js/*.js"), *FOLDER.glob("*.js")]:
        if path != LOADER:
            assert not named.search(path.read_text(encoding="utf-8")), path
