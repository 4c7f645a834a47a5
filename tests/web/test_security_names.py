"""Display names: no direction overrides, invisible or control
characters, and no participant passing for the staff; names in every script still work."""

# ruff: noqa: RUF001, RUF003  (look-alike letters are what these tests are about)
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import websockets

from hub import keys
from hub.domain import commands
from hub.domain.names import NameProblem, check_chosen_name, clean_name, imitated_role
from hub.errors import HubError
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub

ZWNJ, ZWJ = "\u200c", "\u200d"

# Names people have, in many scripts: they pass unchanged.
GOOD = [
    "Amina", "José Núñez", "Zoë Ångström", "O'Brien", "Jean-Luc Picard", "Dr. Li",
    "Ngũgĩ wa Thiong'o", "Nguyễn Văn An", "Ayşe Yılmaz", "Kofi Annan", "ქეთევან",
    "李小龙", "王芳", "山田 太郎", "김민준", "Дмитрий Иванов", "Σωκράτης",
    "محمد بن سلمان", "فاطمة الزهراء", "برويز مشرف", "شرف الدين", "שרה כהן", "יוסף",
    f"می{ZWNJ}خواهم", f"نیلوفر محمدی{ZWNJ}نژاد", f"علی{ZWNJ}اکبر",  # Persian: ZWNJ
    f"क्{ZWJ}ष", "सुनीता शर्मा", "தமிழ்செல்வி",  # Devanagari ZWJ, Tamil
    f"Sam 👩{ZWJ}👩{ZWJ}👧", "Ana 🇰🇪",  # emoji sequences
    "Hostetler", "Chairez", "Adminah Okoro", "Moderna Fan",
    "Organisation mondiale de la santé", "Ana (Organización Panamericana de la Salud)",
    "منظمة الصحة العالمية", "Nairobi hub", "Participant 7", "Room 101",
]

# Names that read the same once invisible marks are taken out.
NEUTRALISED = [
    ("Amina\u200b", "Amina"),
    ("\u200eAmina\u200f", "Amina"),
    ("A\u00adna", "Ana"),
    ("\ufeffAna", "Ana"),
    ("Ana\u2060Lee", "AnaLee"),
    ("Ana \u061c Lee", "Ana Lee"),
    ("Ana  \t\n Lee", "Ana Lee"),
    ("Ana\u2028Lee", "Ana Lee"),
    ("Ana\u3164Lee", "Ana Lee"),
    (f"Ana{ZWNJ}", "Ana"),
    (f"{ZWJ}Ana", "Ana"),
    (f"Ana {ZWNJ}Lee", "Ana Lee"),
    (f"می{ZWNJ}{ZWNJ}خواهم", f"می{ZWNJ}خواهم"),
    ("Ana\U000e0041", "Ana"),  # a tag character outside a flag
    ("\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Ana",
     "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Ana"),
]

# Refused: direction controls, control characters, nothing visible.
CONTROLS = [
    "\u202eBob", "Bob\u202egnp.exe", "\u202aAna", "\u202bAna", "\u202cAna", "\u202dAna",
    "Ana\u2066x", "Ana\u2067x", "Ana\u2068x", "Ana\u2069",
    "A\x00B", "A\x07B", "A\x1bB", "A\x7fB", "A\x9bB",
]
EMPTY = ["", "   ", "\u200b", "\u200b\u200c\u200d", "\u3164", "\u2800\u2800", "\ufeff", "\u0301"]

# Names that pass for the staff, however dressed up.
ROLES = [
    "Moderator", "MODERATOR", "moderator", "The moderator", "Moderator (official)",
    "Ana, moderator", "Official Moderator", "Moderators", "ModeratorJohn",
    "Ｍｏｄｅｒａｔｏｒ", "Μoderator", "Mоderator", "M0derator", "Mod\u200berator",
    "M o d e r a t o r", "Mod-erator", "Moderation team", "Modérateur", "Modératrice officielle",
    "La modératrice", "Équipe de modération", "Moderador", "Moderación", "La moderadora",
    "مشرف", "المشرف", "مشرف رسمي", "المشرفون", "主持人", "张主持人", "官方主持人",
    "Модератор", "Модераторы", "Модератора",
    "Captioner", "Captioning", "Sous-titreur", "Subtitulado", "كاتب الترجمة النصية",
    "字幕员", "Субтитровщик",
    "Organizer", "Organiser", "The organisers", "Organisateur", "Organización", "Organizadora",
    "Organisation", "المنظِّم", "التنظيم", "组织者", "Организатор",
    "Admin", "ADMIN", "Administrator", "Sysadmin", "管理员", "Администратор",
    "Host", "Co-host", "Cohost", "Chair", "Session chair", "Chairperson", "Facilitator",
    "IGF staff",
]


@pytest.mark.parametrize("name", GOOD)
def test_names_in_every_script_pass_unchanged(name: str) -> None:
    assert check_chosen_name(name) == name
    assert imitated_role(name) is None


@pytest.mark.parametrize(("name", "clean"), NEUTRALISED)
def test_invisible_marks_are_taken_out(name: str, clean: str) -> None:
    assert clean_name(name) == clean


@pytest.mark.parametrize("name", CONTROLS)
def test_direction_and_control_characters_are_refused(name: str) -> None:
    with pytest.raises(NameProblem) as caught:
        clean_name(name)
    assert caught.value.reason == "name_controls"
    assert "U+" in caught.value.message


@pytest.mark.parametrize("name", EMPTY)
def test_a_name_with_nothing_visible_is_empty(name: str) -> None:
    with pytest.raises(NameProblem) as caught:
        clean_name(name)
    assert caught.value.reason == "name_empty"


@pytest.mark.parametrize("name", ROLES)
def test_names_passing_for_the_staff_are_refused(name: str) -> None:
    assert imitated_role(name) is not None
    with pytest.raises(NameProblem) as caught:
        check_chosen_name(name)
    assert caught.value.reason == "name_role"
    assert "role" in caught.value.message


def test_the_role_words_the_pages_show_are_all_refused() -> None:
    """web/js/i18n/*.js name the staff roles in six languages: each one is caught."""
    folder = Path(__file__).parents[2] / "web" / "js" / "i18n"
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.js")))
    found = re.findall(
        r"'(role\.moderator|role\.captioner|presence\.moderators|presence\.captioners|"
        r"org\.account_title|page\.organizer)': '([^']*)'", source)
    assert len(found) == 6 * 6, found
    missed = [(key, text) for key, text in found if imitated_role(text) is None]
    assert not missed


def test_check_name_gives_a_defined_refusal() -> None:
    with pytest.raises(HubError) as caught:
        commands.check_name("Moderator", may_name_a_role=False)
    assert caught.value.to_wire() == {
        "type": "error", "code": "bad_request", "field": "name", "reason": "name_role",
        "message": caught.value.message}
    assert commands.check_name("Moderator") == "Moderator"  # the staff's own choice
    with pytest.raises(HubError) as caught:
        commands.check_name("\u202eBob")
    assert caught.value.extra == {"field": "name", "reason": "name_controls"}
    with pytest.raises(HubError) as caught:
        commands.check_name("x" * 81)
    assert caught.value.code == "too_large" and caught.value.extra["field"] == "name"


# -- over a real server -------------------------------------------------------------------


async def _hello(hub: RunningHub, sid: str, token: str, name: str) -> dict[str, Any]:
    async with websockets.connect(f"{hub.ws_base}/ws/{sid}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "name": name,
                                  "ref": "hello"}))
        return dict(json.loads(await ws.recv()))


@pytest.mark.parametrize(("name", "reason"), [
    ("Bob\u202egnp.exe", "name_controls"),
    ("Ana\u2066x", "name_controls"),
    ("A\x1bB", "name_controls"),
    ("\u200b\u200b", "name_empty"),
    ("Moderator", "name_role"),
    ("The moderator (official)", "name_role"),
    ("Mоderatоr", "name_role"),  # Cyrillic о
    ("主持人", "name_role"),
    ("Организатор", "name_role"),
])
async def test_a_participant_hello_with_such_a_name_is_refused_and_nothing_stored(
    hub: RunningHub, name: str, reason: str,
) -> None:
    created = await hub.session()
    sid = created["id"]
    for role in ("participant", "hub", "screen"):
        reply = await _hello(hub, sid, created["tokens"][role], name)
        assert reply == {"type": "error", "code": "bad_request", "field": "name",
                         "reason": reason, "ref": "hello", "message": reply["message"]}
    session = await hub.app[keys.SESSIONS].get(sid)
    assert not [i for i in session.state.identities.values() if i.role != "organizer"]


async def test_invisible_marks_are_taken_out_at_hello_and_names_in_every_script_join(
    hub: RunningHub,
) -> None:
    created = await hub.session()
    for sent, shown in [("\u200eAmina\u200b", "Amina"),
                        (f"نیلوفر محمدی{ZWNJ}نژاد", f"نیلوفر محمدی{ZWNJ}نژاد"),
                        ("برويز مشرف", "برويز مشرف"), ("שרה כהן", "שרה כהן"),
                        ("李小龙", "李小龙")]:
        client = hub.client(created, "participant", name=sent)
        welcome = await client.connect()
        assert welcome["you"]["name"] == shown
        await client.close()


async def test_the_staff_may_name_their_roles(hub: RunningHub) -> None:
    """Moderators and captioners call themselves what they are; the organizer's named
    links may carry any name the organizer gives (say, a panel's chair)."""
    created = await hub.session()
    sid = created["id"]
    for role, name in [("moderator", "Moderator"), ("captioner", "Captioner (French)")]:
        client = hub.client(created, role, name=name)
        assert (await client.connect())["you"]["name"] == name
        await client.close()
    status, body, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens",
                                  {"role": "participant", "name": "Session chair"},
                                  token=ADMIN_KEY)
    assert status == 201, body
    chair = Client(hub.ws_base, sid, body["token"])
    assert (await chair.connect())["you"]["name"] == "Session chair"
    await chair.close()
    status, body, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens",
                                  {"role": "participant", "name": "Bob\u202egnp.exe"},
                                  token=ADMIN_KEY)
    assert status == 400 and body["error"]["reason"] == "name_controls", body


# -- the participant page -----------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.asyncio(loop_scope="module")
async def test_the_participant_page_shows_the_refusal_next_to_the_name(
    new_session: Any, open_page: Any,
) -> None:
    """A refused name is explained next to the name field (in the page's language), the
    page does not retry it, and the corrected name joins."""
    expect = pytest.importorskip("playwright.async_api").expect
    created = await new_session("Names")
    page = await open_page(created["links"]["participant"], name="name-refused")
    name = page.locator("#join-name")
    error = page.locator("#join-name-error")
    await name.fill("Moderator (official)")
    await name.press("Enter")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("looks like a role of the organizing team")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_be_focused()
    await expect(page.locator("#join")).to_be_visible()
    await name.fill("Bob\u202egnp.exe")
    await name.press("Enter")
    await expect(error).to_contain_text("hidden characters")
    await name.fill("نیلوفر محمدی\u200cنژاد")
    await name.press("Enter")
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    await expect(error).to_be_hidden()
    await expect(page.locator("#join")).to_be_hidden()
    # In French, the refusal is in French.
    page = await open_page(created["links"]["participant"], name="name-refused-fr",
                           locale="fr-FR")
    await page.locator("#join-name").fill("Modératrice")
    await page.locator("#join-name").press("Enter")
    await expect(page.locator("#join-name-error")).to_contain_text("rôle de l’équipe")
