# ruff: noqa: RUF001, RUF002, RUF003  (look-alike letters are this module's subject)
"""Display names people choose: no hidden characters that change how a page shows them,
and no name that passes for a role of the meeting's staff.

Pure functions, no I/O. Two steps, in this order:

1. `clean_name` neutralises or refuses characters (the rules table below). Invisible
   marks that only change how text *looks* around them are removed, so that a name reads
   the same everywhere; direction overrides, embeddings and isolates (which reorder what
   follows them: "Bob\u202egnp.exe" shows as "Bobexe.png") and control characters are
   refused, since no keyboard types them and a name with them is a trick.
   ZWNJ and ZWJ stay between two letters: Persian writes "می‌خواهم" with a ZWNJ, Indic
   scripts and emoji sequences need ZWJ. Anywhere else they are removed.
2. `imitated_role` says which staff role a name passes for ("Moderator", "The host",
   "Modérateur (officiel)", "主持人", "М0дератор" with a Cyrillic М and a zero), compared
   on a skeleton: NFKC, case folded, accents and marks dropped, look-alike letters and
   digits mapped to Latin, split into runs of letters. The role words are those the pages
   show (web/js/i18n/*.js: `role.moderator`, `role.captioner`, `org.account_title` and their
   plurals in `presence.*`, in the six languages), plus the usual others (host, chair,
   admin, organiser...). tests/web/test_security_names.py checks the list against those files.

| characters | what happens |
|---|---|
| whitespace of any kind; blank "letters" U+115F, U+1160, U+3164, | one space between |
|   U+FFA0, U+2800 | words, none at the ends |
| bidi embeddings, overrides, isolates U+202A-U+202E, U+2066-U+2069 | refused |
| control characters (Cc), surrogates (Cs) | refused |
| ZWNJ U+200C, ZWJ U+200D, Mongolian vowel separator U+180E | kept between two |
|   | letters, marks or symbols; removed elsewhere |
| emoji tags U+E0001, U+E0020-U+E007F | kept in a flag sequence (after U+1F3F4) |
| prepended concatenation marks U+0600-U+0605, U+06DD, U+070F, U+0890, | kept: visible |
|   U+0891, U+08E2, U+110BD, U+110CD | |
| every other format character (Cf): LRM U+200E, RLM U+200F, ALM U+061C, | removed |
|   zero-width space U+200B, word joiner U+2060, invisible operators, | |
|   BOM U+FEFF, soft hyphen U+00AD, ... | |
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)
JOINERS = frozenset("\u200c\u200d\u180e")
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
VISIBLE_FORMAT = frozenset(
    [chr(c) for c in range(0x0600, 0x0606)]
    + ["\u06dd", "\u070f", "\u0890", "\u0891", "\u08e2", "\U000110bd", "\U000110cd"]
)
TAGS = frozenset([chr(0xE0001)] + [chr(c) for c in range(0xE0020, 0xE0080)])
BLACK_FLAG = "\U0001f3f4"


class NameProblem(ValueError):
    """A name that cannot be used; `reason` is a stable code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _joins(char: str | None) -> bool:
    """Whether `char` can sit next to a ZWNJ/ZWJ: a letter, mark, number or symbol."""
    return char is not None and unicodedata.category(char)[0] in "LMNS"


def clean_name(name: str) -> str:
    """`name` with whitespace collapsed and invisible marks removed (rules in the module
    docstring); NameProblem("name_controls") for direction controls and control
    characters, NameProblem("name_empty") when nothing visible is left."""
    for char in name:
        if char in BIDI_CONTROLS:
            raise NameProblem(
                "name_controls",
                f"the display name contains an invisible text-direction control "
                f"(U+{ord(char):04X}); type the name without it",
            )
    name = "".join(" " if char in BLANKS else char for char in name)
    name = " ".join(name.split())  # every kind of whitespace, line separators too
    kept: list[str] = []
    for at, char in enumerate(name):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            raise NameProblem(
                "name_controls",
                f"the display name contains a control character (U+{ord(char):04X})",
            )
        if category != "Cf" or char in VISIBLE_FORMAT:
            kept.append(char)
        elif char in JOINERS:
            before = kept[-1] if kept else None
            after = name[at + 1] if at + 1 < len(name) else None
            if _joins(before) and _joins(after) and before not in JOINERS:
                kept.append(char)
        elif char in TAGS:
            if kept and (kept[-1] == BLACK_FLAG or kept[-1] in TAGS):
                kept.append(char)
    name = " ".join("".join(kept).split())
    if not any(unicodedata.category(c)[0] in "LNPS" for c in name):
        raise NameProblem("name_empty", "the display name is empty")
    return name


# -- roles ------------------------------------------------------------------------------

# Look-alikes of Latin capitals (Greek, Cyrillic), before case folding: Μ is M, not μ.
_CAPITALS = str.maketrans({
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J",
})
# Look-alikes of Latin letters (Cyrillic, Greek, digits, signs), after case folding.
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "к": "k", "м": "m", "н": "h",
    "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ь": "b",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "μ": "u",
    "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a",
    "$": "s",
})
_ARTICLE = "ال"  # Arabic "the", written joined to the word (taken off for labels only)

# Words that name a staff role wherever they stand in a name ("Ana, moderator").
# Words of 7 letters or more also match their longer forms (plurals, Russian cases).
ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "moderator": (
        "moderator", "moderators", "moderation team", "mod team",
        "modérateur", "modératrice",
        "moderador", "moderadora",
        "المشرف", "المشرفة", "المشرفون", "المشرفين", "مشرفون", "مشرفين",
        "主持人", "版主", "主持",
        "модератор", "модераторы",
    ),
    "captioner": (
        "captioner", "captioners", "captioning",
        "sous-titreur", "sous-titreuse", "sous-titreurs", "sous-titrage",
        "subtitulado", "subtitulador", "subtituladora",
        "كاتب الترجمة النصية", "كتّاب الترجمة النصية",
        "字幕员", "字幕",
        "субтитровщик", "субтитровщики",
    ),
    "organizer": (
        "organizer", "organizers", "organiser", "organisers",
        "organisateur", "organisatrice",
        "organizador", "organizadora",
        "المنظِّم", "المنظم", "منظم", "المنظمون",
        "组织者", "主办方",
        "организатор", "организаторы",
        "admin", "admins", "administrator", "administrators", "sysadmin",
        "administrateur", "administrador", "administradora",
        "مدير النظام",
        "管理员",
        "администратор", "админ",
    ),
    "host": (
        "host", "hosts", "co-host", "cohost", "chair", "chairs", "co-chair", "cochair",
        "chairperson", "chairman", "chairwoman", "facilitator", "staff",
        "président de séance", "animateur", "animatrice", "présidente de séance",
        "anfitrión", "presidente de la sesión",
        "مقدم الجلسة", "رئيس الجلسة",
        "会议主持",
        "председатель",
    ),
}

# Labels the pages show for a role that are also everyday words or names: only the whole
# name, give or take a few decorations, passes for the role ("Organisation" alone does,
# "Organisation mondiale de la santé" does not; مشرف is also a family name).
ROLE_LABELS: dict[str, tuple[str, ...]] = {
    "moderator": ("مشرف", "moderación", "modération"),
    "organizer": ("organisation", "organización", "التنظيم"),
}
DECORATIONS = frozenset({
    "the", "a", "an", "official", "real", "true", "team", "session", "of", "this",
    "le", "la", "les", "l", "un", "une", "officiel", "officielle", "vrai", "équipe", "de",
    "du", "des", "el", "los", "las", "oficial", "verdadero", "equipo", "del",
    "رسمي", "الرسمي", "فريق",
    "官方", "的", "正式",
    "официальный", "официальная", "настоящий", "команда",
})


def _skeleton(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_CAPITALS).casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "M" and c not in JOINERS)
    return text.translate(_LOOKALIKES)


def _tokens(text: str) -> list[str]:
    """The runs of letters of `text`'s skeleton."""
    return re.findall(r"[^\W\d_]+", _skeleton(text))


def _bare(token: str) -> str:
    """`token` without the Arabic article."""
    return token[len(_ARTICLE):] if token.startswith(_ARTICLE) and len(token) > 3 else token


def _spaceless(word: str) -> bool:
    """A word of a script written without spaces (Han, kana, hangul): found anywhere."""
    return any(unicodedata.name(c, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))
               for c in word)


def _within(phrase: list[str], tokens: list[str]) -> bool:
    size = len(phrase)
    for at in range(len(tokens) - size + 1):
        window = tokens[at:at + size]
        if window[:-1] == phrase[:-1] and (
            window[-1] == phrase[-1]
            or (len(phrase[-1]) >= 7 and window[-1].startswith(phrase[-1]))
        ):
            return True
    return False


def _compile() -> tuple[list[tuple[str, list[str], bool]], list[tuple[str, list[str]]]]:
    words = [(role, _tokens(word), _spaceless(word))
             for role, group in ROLE_WORDS.items() for word in group]
    labels = [(role, [_bare(t) for t in _tokens(word)])
              for role, group in ROLE_LABELS.items() for word in group]
    return words, labels


_WORDS, _LABELS = _compile()
_DECORATIONS = frozenset(t for word in DECORATIONS for t in _tokens(word))


def imitated_role(name: str) -> str | None:
    """The staff role (`moderator`, `captioner`, `organizer`, `host`) that `name` passes
    for, or None."""
    tokens = _tokens(name)
    joined = "".join(tokens)
    for role, phrase, spaceless in _WORDS:
        if not phrase:
            continue
        if _within(phrase, tokens) or joined == "".join(phrase):
            return role
        if spaceless and "".join(phrase) in joined:
            return role
    plain = [_bare(t) for t in tokens if t not in _DECORATIONS]
    for role, phrase in _LABELS:
        if plain == phrase or "".join(plain) == "".join(phrase):
            return role
    return None


def check_chosen_name(name: str) -> str:
    """A name a participant, a hub or a screen chose: cleaned, and not passing for a role
    of the staff (NameProblem("name_role"))."""
    name = clean_name(name)
    role = imitated_role(name)
    if role is not None:
        raise NameProblem(
            "name_role",
            f"the display name {name!r} looks like a role of the meeting's staff ({role}); "
            f"choose your own name",
        )
    return name
