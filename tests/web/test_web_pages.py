"""Every page in a real browser: accessibility (axe-core, no serious or critical
violations), screenshots in English and Arabic, right-to-left layout, user text rendered
as text, keyboard-only asking and moderating, reading comfort (scroll-back, text size,
contrast, low-bandwidth mode) and a complete translation table."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from tests.support.browser import (
    LAPTOP,
    PHONE,
    OpenPages,
    axe_violations,
    open_with_storage,
    screenshot,
)
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
# Without Playwright (not in the base test extra) these tests are skipped, not broken.
expect = pytest.importorskip("playwright.async_api").expect

WIDE = {"width": 1440, "height": 900}
PROJECTOR = {"width": 1600, "height": 900}
XSS = "<img src=x onerror=alert(1)>"
QUESTION = "How will smaller countries be represented in AI standards bodies?"
HUB_QUESTION = "Nairobi hub: how can regional IGFs feed into this process?"


@dataclass
class Meeting:
    """A live session with items in every state, captions in three languages and a hub."""

    base: str
    id: str
    links: dict[str, str]
    tokens: dict[str, str]
    leila_token: str
    leila_id: str
    hub_link: str
    chair: Client
    clients: list[Client]

    def link(self, role: str, token: str | None = None) -> str:
        if token is None:
            return self.links[role]
        return f"{self.base}/s/{self.id}/{role}#token={token}"

    @property
    def screen_link(self) -> str:
        from urllib.parse import quote

        return f"{self.links['screen']}&join={quote(self.links['participant'], safe='')}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def web_meeting(hub_server: HubProcess) -> AsyncIterator[Meeting]:
    base, ws = hub_server.url, hub_server.ws_url
    created = await create_session(
        base, "Workshop 42: AI governance in the Global South", state="live",
        languages=["en", "fr", "ar"], settings={"speaking_time": 180})
    sid, tokens = created["id"], created["tokens"]
    status, minted, _ = await ahttp("POST", f"{base}/api/sessions/{sid}/tokens",
                                    {"role": "hub", "name": "Nairobi hub"}, token=ADMIN_KEY)
    assert status == 201, minted
    leila = Client(ws, sid, tokens["participant"], name="Leila Haddad")
    carlos = Client(ws, sid, tokens["participant"], name="Carlos Pérez", in_room=True)
    chair = Client(ws, sid, tokens["moderator"], name="Chair")
    captioner = Client(ws, sid, tokens["captioner"])
    hub = Client(ws, sid, minted["token"])
    clients = [leila, carlos, chair, captioner, hub]
    for client in clients:
        await client.connect()

    async def ask(who: Client, kind: str, text: str, **extra: Any) -> str:
        ack = await who.ok({"type": "ask", "kind": kind, "text": text, "key": text[:40], **extra})
        return str(ack["item"])

    async def moderate(item: str, action: str, **extra: Any) -> None:
        await chair.ok({"type": "moderate", "item": item, "action": action, **extra})

    await hub.ok({"type": "hub_status", "attendees": 42})
    q1 = await ask(leila, "question", QUESTION)
    c1 = await ask(leila, "comment", "Capacity building must come before regulation.")
    r1 = await ask(leila, "question", "Is this workshop recorded?")
    h1 = await ask(hub, "question", HUB_QUESTION)
    f1 = await ask(carlos, "floor", "I would like to respond on capacity building.")
    await ask(carlos, "question", XSS)
    await ask(carlos, "comment", "Please share the slides after the session.", anonymous=True)
    for item in (q1, c1, h1, f1):
        await moderate(item, "approve")
    await moderate(r1, "reject", text="Yes: the recording will be on the IGF website.")
    await chair.ok({"type": "ask", "kind": "floor", "text": "Response from the room",
                    "key": "room-1", "on_behalf": {"name": "Dr. Kwame Mensah",
                                                   "affiliation": "University of Ghana"}})
    for voter, item in ((carlos, q1), (hub, q1), (leila, h1), (carlos, c1)):
        await voter.ok({"type": "vote", "item": item})
    await moderate(q1, "live", seconds=180)
    lines = {
        "en": ["Good morning and welcome to workshop 42.",
               "Our first question comes from Leila, joining remotely.",
               "Standards bodies meet in few places and cost a lot to attend.",
               "Remote participation and fellowships make a real difference."],
        "fr": ["Bonjour et bienvenue à l'atelier 42.",
               "La première question vient de Leila, à distance."],
        "ar": ["صباح الخير ومرحبًا بكم في ورشة العمل 42.",
               "السؤال الأول من ليلى التي تشارك عن بُعد."],
    }
    for lang, texts in lines.items():
        for seq, text in enumerate(texts, 1):
            await captioner.ok({"type": "caption", "text": text, "lang": lang, "seq": seq})
    try:
        yield Meeting(base, sid, created["links"], tokens, leila.token, leila.welcome["you"]["id"],
                      minted["link"], chair, clients)
    finally:
        for client in clients:
            await client.close()


async def join_participant(page: Any, name: str) -> None:
    await page.locator("#join-name").fill(name)
    await page.locator("#join-name").press("Enter")
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")


# ---------------------------------------------------------------- every page, two languages


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_every_page_is_accessible_and_screenshotted(
    lang: str, web_meeting: Meeting, open_page: OpenPages
) -> None:
    locale = "ar-EG" if lang == "ar" else "en-GB"
    found: dict[str, list[dict[str, Any]]] = {}

    async def check(page: Any, name: str) -> None:
        html = page.locator("html")
        await expect(html).to_have_attribute("lang", lang)
        await expect(html).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        await screenshot(page, f"{name}-{lang}")
        found[name] = await axe_violations(page, f"{name}-{lang}")

    # Organizer, signed in, with the links this browser created.
    organizer = await open_with_storage(
        open_page, f"{web_meeting.base}/",
        {"igf.organizer.links": {web_meeting.id: {"links": web_meeting.links, "hubs": [
            {"name": "Nairobi hub", "link": web_meeting.hub_link}]}}},
        locale=locale, viewport=LAPTOP, name="organizer")
    await organizer.locator("#admin-key").fill(ADMIN_KEY)
    await organizer.locator("#admin-key").press("Enter")
    links = organizer.locator(f'li[data-session="{web_meeting.id}"] input')
    await expect(links.first).to_be_visible()
    await check(organizer, "organizer")

    # Participant: the join form, then the joined page on a phone, then in high contrast.
    joining = await open_page(web_meeting.link("participant"), locale=locale, viewport=PHONE,
                              name="participant-join")
    await expect(joining.locator("#join")).to_be_visible()
    await joining.locator("#join-consent").check()
    await check(joining, "participant-join")

    participant = await open_page(web_meeting.link("participant", web_meeting.leila_token),
                                  locale=locale, viewport=PHONE, name="participant")
    await join_participant(participant, "Leila Haddad")
    await expect(participant.locator("#mine-list li")).to_have_count(3)
    await expect(participant.locator("#captions-log .cap")).to_have_count(4 if lang == "en" else 2)
    await web_meeting.chair.ok({"type": "note", "to": web_meeting.leila_id,
                            "text": "Thank you, your question is on the floor now."})
    await expect(participant.locator(".notes")).to_be_visible()
    await check(participant, "participant")

    contrast = await open_with_storage(
        open_page, web_meeting.link("participant", web_meeting.leila_token),
        {"igf.prefs": {"textSize": 2, "contrast": True, "lite": False},
         f"igf:{web_meeting.id}:participant:hello": {"name": "Leila Haddad"},
         f"igf:{web_meeting.id}:participant:id": {"join": web_meeting.leila_token,
                                              "token": web_meeting.leila_token}},
        locale=locale, viewport=PHONE, name="participant-contrast")
    await expect(contrast.locator("html")).to_have_attribute("data-contrast", "high")
    await expect(contrast.locator("#mine-list li")).to_have_count(3)
    await check(contrast, "participant-high-contrast")

    moderator = await open_with_storage(
        open_page, web_meeting.link("moderator"),
        {f"igf:{web_meeting.id}:moderator:hello": {"name": "Co-chair"}},
        locale=locale, viewport=WIDE, name="moderator")
    await expect(moderator.locator("#pending-list li")).to_have_count(2)
    await expect(moderator.locator("#queue-list li")).to_have_count(4)
    await check(moderator, "moderator")

    captioner = await open_page(web_meeting.link("captioner"), locale=locale, viewport=LAPTOP,
                                name="captioner")
    await expect(captioner.locator(".conn")).to_have_attribute("data-state", "live")
    await captioner.locator("#caption-lang").select_option(lang)
    await captioner.locator("#caption-input").fill(
        "شكرًا لكم، الكلمة للمتحدث التالي." if lang == "ar" else "Thank you, next speaker please.")
    await captioner.locator("#caption-input").press("Enter")
    await expect(captioner.locator("#sent-list li").first).to_have_attribute("data-status", "acked")
    await check(captioner, "captioner")

    hub = await open_page(web_meeting.hub_link, locale=locale, viewport=LAPTOP, name="hub")
    await expect(hub.locator("#hub-items-list li")).to_have_count(1)
    await check(hub, "hub")

    screen = await open_page(web_meeting.screen_link, locale=locale, viewport=PROJECTOR,
                             name="screen")
    await expect(screen.locator("#qr svg")).to_be_visible()
    await expect(screen.locator("#screen-captions-log .cap").first).to_be_visible()
    await check(screen, "screen")

    serious = {name: v for name, v in found.items() if v}
    assert not serious, json.dumps(serious, indent=1)


# ---------------------------------------------------------------- safety and languages


async def test_user_text_is_shown_as_text(web_meeting: Meeting, open_page: OpenPages) -> None:
    moderator = await open_with_storage(
        open_page, web_meeting.link("moderator"),
        {f"igf:{web_meeting.id}:moderator:hello": {"name": "Safety"}}, name="moderator-xss")
    card = moderator.locator("#pending-list li", has_text=XSS)
    await expect(card.locator(".item-text")).to_have_text(XSS)
    assert await moderator.locator("#pending-list img").count() == 0
    participant = await open_page(web_meeting.link("participant"), name="participant-xss")
    await join_participant(participant, "<b>Bold</b> & \"quoted\"")
    await expect(participant.locator("#you-are")).to_contain_text("<b>Bold</b> & \"quoted\"")
    await card.get_by_role("button", name=re.compile("^Approve")).click()
    queued = participant.locator("#queue-list li", has_text=XSS)
    await expect(queued.locator(".item-text")).to_have_text(XSS)
    assert await participant.locator("main img, main b").count() == 0
    # open_page's teardown fails the test if any page opened a dialog (alert).


async def test_arabic_is_right_to_left_and_the_choice_persists(
    web_meeting: Meeting, open_page: OpenPages
) -> None:
    page = await open_page(web_meeting.link("captioner"), locale="ar", name="captioner-ar")
    html = page.locator("html")
    await expect(html).to_have_attribute("dir", "rtl")
    await expect(html).to_have_attribute("lang", "ar")
    await expect(page.locator("#type-title")).to_have_text("الترجمة النصية")
    await page.get_by_label("اللغة", exact=True).first.select_option("fr")
    await expect(html).to_have_attribute("dir", "ltr")
    await expect(html).to_have_attribute("lang", "fr")
    await expect(page.locator("#type-title")).to_have_text("Sous-titres")
    await page.reload()
    await expect(html).to_have_attribute("lang", "fr")
    await page.locator("#ui-language").select_option("zh")
    await expect(html).to_have_attribute("lang", "zh-Hans")


async def test_the_translation_table_is_complete(
    web_meeting: Meeting, open_page: OpenPages
) -> None:
    page = await open_page(f"{web_meeting.base}/", name="i18n")
    missing = await page.evaluate("import('/static/js/i18n.js').then((m) => m.missingKeys())")
    assert missing == {}
    languages = await page.evaluate(
        "import('/static/js/i18n.js').then((m) => m.LANGUAGES.map((l) => [l.code, l.tag]))")
    assert [code for code, _ in languages] == ["en", "fr", "es", "ar", "zh", "ru"]
    # Every marked element got a translation (an untranslated one would show its key).
    for code, tag in languages:
        await page.locator("#ui-language").select_option(code)
        await expect(page.locator("html")).to_have_attribute("lang", tag)  # its texts came
        raw = await page.evaluate(
            "[...document.querySelectorAll('[data-i18n]')]"
            ".filter((n) => n.textContent === n.dataset.i18n).map((n) => n.dataset.i18n)")
        assert raw == [], (code, raw)


# ---------------------------------------------------------------- keyboard only


async def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab (only) until the element `selector` (a Playwright selector) has the focus."""
    target = page.locator(selector)
    for _ in range(limit):
        if await target.evaluate("(el) => el === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def test_asking_with_the_keyboard_only(new_session: Any, hub_server: HubProcess,
                                            open_page: OpenPages) -> None:
    created = await new_session("Keyboard asking", languages=["en", "es"])
    page = await open_page(created["links"]["participant"], name="keyboard-participant")
    await expect(page.locator("#join-name")).to_be_focused()
    await page.keyboard.type("Keyboard User")
    await page.keyboard.press("Enter")
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    await tab_to(page, "#ask-kind-question")
    await page.keyboard.press("ArrowRight")  # radio group: Question -> Comment
    await expect(page.locator("#ask-kind-comment")).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(page.locator("#ask-text")).to_be_focused()
    await page.keyboard.type("Typed without a mouse.")
    await tab_to(page, "#ask-lang")
    await page.keyboard.press("ArrowDown")  # choose the next language
    await tab_to(page, ".ask button[type=submit]")
    await page.keyboard.press("Enter")
    item = page.locator("#mine-list li", has_text="Typed without a mouse.")
    await expect(item).to_contain_text("Comment")
    await expect(item).to_contain_text("Waiting for review")
    # Withdraw it, still by keyboard.
    await tab_to(page, "#mine-list button")
    await page.keyboard.press("Enter")
    await expect(item).to_contain_text("Withdrawn")
    focus_ring = await page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle")
    assert focus_ring != "none" or await page.evaluate("document.activeElement === document.body")


async def test_moderating_with_the_keyboard_only(new_session: Any, protocol_client: Any,
                                                 open_page: OpenPages) -> None:
    created = await new_session("Keyboard moderation")
    sid = created["id"]
    asker = await protocol_client(sid, created["tokens"]["participant"], name="Remote asker")
    for n, text in enumerate(["First question", "Second question", "Off-topic advert"]):
        await asker.ok({"type": "ask", "kind": "question", "text": text, "key": f"k{n}"})
    page = await open_page(created["links"]["moderator"], viewport=WIDE, name="keyboard-moderator")
    await expect(page.locator("#join-name")).to_be_focused()
    await page.keyboard.type("Keyboard Chair")
    await page.keyboard.press("Enter")
    pending = page.locator("#pending-list li")
    await expect(pending).to_have_count(3)

    async def press_on(selector: str) -> None:
        await tab_to(page, selector)
        await page.keyboard.press("Enter")

    # Approve the first two.
    await press_on('#pending-list li:has-text("First question") button[data-action=approve]')
    await press_on('#pending-list li:has-text("Second question") button[data-action=approve]')
    await expect(page.locator("#queue-list li .item-text")).to_have_text(
        ["First question", "Second question"])
    # Reject the advert with a reason typed in the inline form.
    await press_on('#pending-list li:has-text("Off-topic advert") button[data-action=reject]')
    await expect(page.locator("#pending-list input[type=text]")).to_be_focused()
    assert await axe_violations(page, "moderator-reject-form") == []
    await page.keyboard.type("Off topic for this session.")
    await page.keyboard.press("Enter")
    await expect(pending).to_have_count(0)
    # Reorder: move the second up with its button, then back down with Alt+ArrowDown.
    await press_on('#queue-list li:has-text("Second question") button[data-action=up]')
    await expect(page.locator("#queue-list li .item-text")).to_have_text(
        ["Second question", "First question"])
    await expect(page.locator('#queue-list li:has-text("Second question") button[data-action=up]')
                 ).to_be_focused()
    await page.keyboard.press("Alt+ArrowDown")
    await expect(page.locator("#queue-list li .item-text")).to_have_text(
        ["First question", "Second question"])
    # Give the floor to the first, then end the turn.
    await press_on('#queue-list li:has-text("First question") button[data-action=live]')
    await expect(page.locator("#floor-done")).to_be_focused()
    await expect(page.locator("#mod-floor-title + .floor-speaker")).to_have_text("Remote asker")
    await page.keyboard.press("Enter")
    await expect(page.locator(".floor")).to_contain_text("Nobody has the floor")
    await asker.wait_for(lambda c: any(
        e["kind"] == "item" and e["data"]["status"] == "rejected"
        and e["data"]["reason"] == "Off topic for this session." for e in c.events))


async def test_queue_reorders_by_drag_and_drop(new_session: Any, protocol_client: Any,
                                               open_page: OpenPages) -> None:
    created = await new_session("Drag and drop", settings={"premoderation": False})
    asker = await protocol_client(created["id"], created["tokens"]["participant"], name="Asker")
    for n in range(3):
        await asker.ok({"type": "ask", "kind": "comment", "text": f"Comment {n + 1}",
                        "key": f"d{n}"})
    page = await open_with_storage(
        open_page, created["links"]["moderator"],
        {f"igf:{created['id']}:moderator:hello": {"name": "Dragger"}}, viewport=WIDE,
        name="drag")
    texts = page.locator("#queue-list li .item-text")
    await expect(texts).to_have_text(["Comment 1", "Comment 2", "Comment 3"])
    third = page.locator("#queue-list li", has_text="Comment 3")
    first = page.locator("#queue-list li", has_text="Comment 1")
    await third.drag_to(first, target_position={"x": 40, "y": 4})
    await expect(texts).to_have_text(["Comment 3", "Comment 1", "Comment 2"])


# ---------------------------------------------------------------- reading comfort


async def test_scroll_back_does_not_jump_and_reader_settings_persist(
    new_session: Any, protocol_client: Any, open_page: OpenPages
) -> None:
    created = await new_session("Reading comfort")
    captioner = await protocol_client(created["id"], created["tokens"]["captioner"])
    for seq in range(1, 41):
        await captioner.ok({"type": "caption", "text": f"Caption line number {seq}.", "seq": seq})
    page = await open_page(created["links"]["participant"], viewport=PHONE, name="comfort")
    await join_participant(page, "Reader")
    log = page.locator("#captions-log")
    await expect(log.locator(".cap")).to_have_count(40)
    await log.evaluate("(el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    await captioner.ok({"type": "caption", "text": "A new line while reading back.", "seq": 41})
    jump = page.get_by_role("button", name=re.compile("Jump to live"))
    await expect(jump).to_be_visible()
    await expect(jump).to_contain_text("1 new")
    assert await log.evaluate("(el) => el.scrollTop") == 0
    await jump.click()
    await expect(jump).to_be_hidden()
    await expect(log.locator(".cap").last).to_be_in_viewport()

    html = page.locator("html")
    await page.get_by_role("button", name="Larger").click()
    await expect(html).to_have_attribute("data-textsize", "2")
    await page.get_by_label("High contrast").check()
    await expect(html).to_have_attribute("data-contrast", "high")
    await page.get_by_label(re.compile("Low-bandwidth mode")).check()
    # Low bandwidth keeps the floor (the hub still sends it) and drops the queue.
    await expect(page.get_by_role("region", name="On the floor")).to_be_visible()
    await expect(page.locator(".queue")).to_be_hidden()
    await expect(page.locator("#captions-log")).to_be_visible()
    await expect(page.locator(".mine")).to_be_visible()
    await page.reload()
    await expect(html).to_have_attribute("data-textsize", "2")
    await expect(html).to_have_attribute("data-contrast", "high")
    await expect(page.locator(".queue")).to_be_hidden()


async def test_a_closed_list_takes_points_of_order_only(new_session: Any,
                                                        open_page: OpenPages) -> None:
    created = await new_session("Closing the list")
    moderator = await open_with_storage(
        open_page, created["links"]["moderator"],
        {f"igf:{created['id']}:moderator:hello": {"name": "Chair"}}, viewport=WIDE,
        name="closing-moderator")
    participant = await open_page(created["links"]["participant"], viewport=PHONE,
                                  name="closing-participant")
    await join_participant(participant, "Late Speaker")
    await moderator.get_by_label(re.compile("List of speakers closed")).check()
    await expect(participant.get_by_text("The list of speakers is closed")).to_be_visible()
    await expect(participant.get_by_role("radio", name="Question")).to_be_disabled()
    await expect(participant.get_by_role("radio", name="Point of order")).to_be_checked()
    await participant.get_by_role("textbox", name="Your message").fill("The microphone is off.")
    await participant.get_by_role("button", name="Send", exact=True).click()
    card = moderator.locator("#pending-list li", has_text="The microphone is off.")
    await expect(card.locator(".badge-kind-point_of_order")).to_have_text("Point of order")
    await moderator.get_by_label(re.compile("List of speakers closed")).uncheck()
    await expect(participant.get_by_role("radio", name="Question")).to_be_enabled()


async def test_editing_and_merging(new_session: Any, protocol_client: Any,
                                   open_page: OpenPages) -> None:
    created = await new_session("Edit and merge")
    sid = created["id"]
    one = await protocol_client(sid, created["tokens"]["participant"], name="First")
    two = await protocol_client(sid, created["tokens"]["participant"], name="Second")
    await one.ok({"type": "ask", "kind": "question", "text": "What about open data?", "key": "a"})
    await two.ok({"type": "ask", "kind": "question", "text": "What about opne data", "key": "b"})
    page = await open_with_storage(
        open_page, created["links"]["moderator"], {f"igf:{sid}:moderator:hello": {"name": "Ed"}},
        viewport=WIDE, name="edit-merge")
    first = page.locator("#pending-list li", has_text="What about open data?")
    await first.get_by_role("button", name=re.compile("^Approve")).click()
    typo = page.locator("#pending-list li", has_text="opne")
    await typo.get_by_role("button", name=re.compile("^Edit")).click()
    await typo.get_by_label("New text").fill("What about open data, and who maintains it?")
    await typo.get_by_role("button", name="Save").click()
    edited = page.locator("#pending-list li", has_text="who maintains it")
    await expect(edited).to_contain_text("Edited")
    await edited.get_by_role("button", name=re.compile("^Merge")).click()
    await edited.get_by_label("Merge into").select_option(label="Question: What about open data?")
    await edited.get_by_role("button", name="Merge", exact=True).click()
    await expect(page.locator("#pending-list li")).to_have_count(0)
    await expect(page.locator("#history-list li")).to_contain_text("Merged")
    await two.wait_for(lambda c: any(
        e["kind"] == "item" and e["data"]["status"] == "merged" for e in c.events))
