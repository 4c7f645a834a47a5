"""The pages on the server's newer features, in a real browser: the moderator's suggested
next speaker with translated reasons and the ordering switch, flagged takeaways that reach
the report, live participation figures, a ban that closes the participant's page, a hub
forwarding its room's items with a backing count, the organizer retiring a leaked link and
setting the fair floor, and low-bandwidth mode. Axe scans of the new panels in English and
Arabic, and screenshots of the new states."""

from __future__ import annotations

import asyncio
import base64
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
    SCREENSHOTS,
    OpenPages,
    axe_violations,
    open_with_storage,
    screenshot,
)
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
# Without Playwright (not in the base test extra) these tests are skipped, not broken.
expect = pytest.importorskip("playwright.async_api").expect

WIDE = {"width": 1440, "height": 1000}
# User text inside translated sentences is wrapped in bidi isolates (U+2068, U+2069).
BACKED_12 = re.compile("Backed by 12 in \u2068?Nairobi hub")


async def api(method: str, url: str, body: Any = None, token: str = ADMIN_KEY) -> Any:
    status, answer, _ = await ahttp(method, url, body, token=token)
    assert status < 300, (status, answer)
    return answer


async def named_hub(base: str, sid: str, name: str, **place: str) -> dict[str, Any]:
    return dict(await api("POST", f"{base}/api/sessions/{sid}/tokens",
                          {"role": "hub", "name": name, **place}))


async def moderator_page(open_page: OpenPages, created: dict[str, Any], name: str = "Chair",
                         **kw: Any) -> Any:
    kw.setdefault("viewport", WIDE)
    page = await open_with_storage(open_page, created["links"]["moderator"],
                                   {f"igf:{created['id']}:moderator:hello": {"name": name}}, **kw)
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    return page


async def join(page: Any, name: str) -> None:
    await page.locator("#join-name").fill(name)
    await page.locator("#join-name").press("Enter")
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")


async def ask(page: Any, text: str) -> None:
    await page.get_by_role("textbox", name="Your message").fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


# ---------------------------------------------------------------- suggestions and flags


@pytest.mark.timeout(90)
async def test_suggestions_ordering_flags_and_figures(
    hub_server: HubProcess, protocol_client: Any, open_page: OpenPages
) -> None:
    base = hub_server.url
    created = await create_session(base, "Suggested next", state="live",
                                   settings={"premoderation": False})
    sid, tokens = created["id"], created["tokens"]
    people = {
        "Amina": {"stakeholder": "civil_society", "country": "KE", "gender": "woman"},
        "Bruno": {"stakeholder": "government", "country": "FR", "gender": "man"},
        "Chen": {"stakeholder": "private_sector", "country": "CN"},
    }
    asked: dict[str, str] = {}
    clients: dict[str, Client] = {}
    for name, profile in people.items():
        clients[name] = await protocol_client(sid, tokens["participant"], name=name,
                                              profile=profile)
        ack = await clients[name].ok({"type": "ask", "kind": "question", "key": name,
                                      "text": f"{name} asks about digital public goods"})
        asked[name] = ack["item"]
    for voter in ("Amina", "Bruno"):
        await clients[voter].ok({"type": "vote", "item": asked["Chen"]})
    observer = await protocol_client(sid, tokens["moderator"], name="Co-chair")
    captioner = await protocol_client(sid, tokens["captioner"])
    await captioner.ok({"type": "caption", "text": "Connectivity is a human right.", "seq": 1})

    page = await moderator_page(open_page, created)
    suggestions = page.locator("#suggest-list > li")
    await expect(suggestions).to_have_count(3)
    await expect(suggestions.first).to_contain_text("Amina asks")
    await expect(suggestions.first.locator(".reasons")).to_contain_text(
        "Number 1 in order of arrival")

    # Switching the ordering is a `floor` command: every moderator sees it.
    await page.get_by_label("Ordering").select_option(label="Most votes first")
    await expect(suggestions.first).to_contain_text("Chen asks")
    await expect(suggestions.first.locator(".reasons")).to_have_text("Votes: 2")
    await observer.wait_for(lambda c: any(e["kind"] == "floor_settings"
                                          and e["data"]["ordering"] == "votes" for e in c.events))
    await page.get_by_label("Ordering").select_option("balanced")
    amina = suggestions.filter(has_text="Amina asks")
    # Fewer than five people share her groups: the reasons say why, not which group.
    await expect(amina.locator(".reasons")).to_contain_text("From a group not heard yet")
    await expect(amina.locator(".reasons")).to_contain_text("Has not spoken yet")
    await expect(amina.locator(".reasons")).not_to_contain_text("Civil society")
    await expect(amina.locator(".reasons")).not_to_contain_text("Africa")
    await expect(page.locator("#ordering-help")).to_contain_text("Spreads the floor")
    await screenshot(page, "floor-moderator-suggestions")

    # A suggestion is advice: the moderator gives the floor with the suggestion's button.
    first_text = (await suggestions.first.locator(".item-text").text_content()) or ""
    await suggestions.first.get_by_role("button", name=re.compile("^Give the floor")).click()
    await expect(page.locator("#mod-floor-title + .floor-speaker")).to_contain_text(
        first_text.split(" asks")[0])
    await expect(suggestions).to_have_count(2)

    # A takeaway flagged on an item card, a call to action on a caption line.
    card = page.locator("#queue-list li", has_text="Bruno asks")
    await card.get_by_role("button", name=re.compile("^Flag")).click()
    text_box = card.get_by_label("Text for the report")
    await expect(text_box).to_have_value("Bruno asks about digital public goods")
    await text_box.fill("Digital public goods need public funding.")
    await card.get_by_role("button", name="Flag", exact=True).click()
    flags = page.locator("#flag-list > li")
    await expect(flags).to_have_count(1)
    await expect(flags.first).to_contain_text("Key takeaway")
    await expect(flags.first).to_contain_text(re.compile("Question: “\\W?Bruno asks"))

    line = page.locator("#mod-captions-list li", has_text="Connectivity is a human right.")
    await line.get_by_role("button", name=re.compile("^Flag")).click()
    await line.get_by_label("Call to action").check()
    await line.get_by_role("button", name="Flag", exact=True).click()
    await expect(flags).to_have_count(2)
    await expect(flags.nth(1)).to_contain_text("Caption line 1")

    # Edit one; both reach the report.
    await flags.nth(1).get_by_role("button", name=re.compile("^Edit")).click()
    await flags.nth(1).get_by_label("Text for the report").fill("Connect the next billion by 2030.")
    await flags.nth(1).get_by_role("button", name="Save").click()
    await expect(flags.nth(1).locator(".item-text")).to_have_text(
        "Connect the next billion by 2030.")
    report = await api("GET", f"{base}/api/sessions/{sid}/report?format=json")
    assert [t["text"] for t in report["takeaways"]] == ["Digital public goods need public funding."]
    assert [c["text"] for c in report["calls_to_action"]] == ["Connect the next billion by 2030."]

    # Live figures: small groups are shown as "fewer than 5", never as numbers.
    await page.locator("#stats summary").click()
    attendance = page.locator("#stats-attendance")
    await expect(attendance).to_be_visible()
    await expect(attendance).to_contain_text("fewer than 5")
    await expect(page.locator("#stats-by")).to_contain_text("Civil society")
    await expect(page.locator("#stats-updated")).to_contain_text("As of")
    await page.locator("#stats").scroll_into_view_if_needed()
    await screenshot(page, "floor-moderator-flags-figures")

    # Deleting a flag asks first.
    await flags.first.get_by_role("button", name=re.compile("^Delete")).click()
    await flags.first.get_by_role("button", name="Delete", exact=True).click()
    await expect(flags).to_have_count(1)
    report = await api("GET", f"{base}/api/sessions/{sid}/report?format=json")
    assert report["takeaways"] == []


# ---------------------------------------------------------------- hubs


@pytest.mark.timeout(90)
async def test_hub_forwards_its_rooms_item_with_backing(
    hub_server: HubProcess, open_page: OpenPages
) -> None:
    base = hub_server.url
    created = await create_session(base, "Hubs forward", state="live")
    sid = created["id"]
    nairobi = await named_hub(base, sid, "Nairobi hub", city="Nairobi", country="ke")

    moderator = await moderator_page(open_page, created)
    hub = await open_page(nairobi["link"], name="hub")
    await expect(hub.locator(".conn")).to_have_attribute("data-state", "live")
    attendee_link = hub.get_by_role("textbox", name="Attendee link")
    await expect(attendee_link).to_have_value(re.compile(f"/s/{sid}/participant#token="))
    await expect(hub.locator("#attendee-qr svg")).to_be_visible()
    await expect(hub.locator("#attendee-qr svg")).to_have_attribute(
        "aria-label", "QR code with the link for your room")
    await hub.get_by_role("spinbutton", name="People in the room").fill("35")
    await hub.get_by_role("button", name="Update").click()
    await expect(hub.locator("#attendees-reported")).to_contain_text("35")

    roll = moderator.locator("#hubs-list li", has_text="Nairobi hub")
    await expect(roll).to_contain_text("Nairobi, Kenya")
    await expect(roll).to_contain_text("Connected")
    await expect(roll).to_contain_text("People: 35")

    # Two people in the Nairobi room ask from their phones, through the hub.
    phones = []
    for name, text in (("Wanjiru", "What about rural Kenya?"), ("Otieno", "Off topic here")):
        phone = await open_page(await attendee_link.input_value(), viewport=PHONE, name=name)
        await join(phone, name)
        await ask(phone, text)
        await expect(phone.locator("#mine-list li", has_text=text)).to_contain_text(
            "Waiting at the hub")
        await expect(phone.locator(".ask .form-message")).to_contain_text("Sent to your hub.")
        phones.append(phone)
    wanjiru, otieno = phones
    room = hub.locator("#room-list > li")
    await expect(room).to_have_count(2)
    await moderator.locator("#local-group summary").click()
    await expect(moderator.locator("#local-list li")).to_have_count(2)
    await expect(moderator.locator("#pending-list li")).to_have_count(0)
    await expect(roll).to_contain_text("Waiting: 2")
    await screenshot(hub, "floor-hub-room-queue")

    rural = room.filter(has_text="What about rural Kenya?")
    await rural.get_by_label("Attendees backing it").fill("12")
    await rural.get_by_role("button", name=re.compile("^Forward to the meeting")).click()
    await expect(room).to_have_count(1)
    pending = moderator.locator("#pending-list li", has_text="What about rural Kenya?")
    await expect(pending).to_contain_text(BACKED_12)
    await expect(moderator.locator("#local-list li")).to_have_count(1)

    off = room.filter(has_text="Off topic here")
    await off.get_by_role("button", name=re.compile("^Keep in the room")).click()
    await off.get_by_label(re.compile("^Reason, shown to")).fill("We will discuss it here.")
    await off.get_by_role("button", name="Keep in the room", exact=True).click()
    await expect(room).to_have_count(0)
    await expect(otieno.locator("#mine-list li")).to_contain_text("We will discuss it here.")

    await pending.get_by_role("button", name=re.compile("^Approve")).click()
    await expect(wanjiru.locator("#mine-list li")).to_contain_text("Approved")
    await expect(wanjiru.locator("#mine-list li")).to_contain_text(BACKED_12)
    await hub.locator("#room-sent summary").click()
    sent = hub.locator("#sent-list li")
    await expect(sent.filter(has_text="What about rural Kenya?")).to_contain_text("Approved")
    await expect(sent.filter(has_text="Off topic here")).to_contain_text("Not accepted")
    queued = moderator.locator("#queue-list li", has_text="What about rural Kenya?")
    await queued.get_by_role("button", name=re.compile("^Give the floor")).click()
    await expect(sent.filter(has_text="What about rural Kenya?")).to_contain_text("On the floor")
    await screenshot(moderator, "floor-moderator-hubs")

    # The hub's count comes back from the hub itself, not from this browser's memory.
    await hub.evaluate("localStorage.clear()")
    await hub.reload()
    await expect(hub.locator("#attendees-reported")).to_contain_text("35")
    await expect(hub.get_by_role("spinbutton", name="People in the room")).to_have_value("35")
    await screenshot(hub, "floor-hub-forwarded")


# ---------------------------------------------------------------- the organizer


@pytest.mark.timeout(90)
async def test_organizer_recovers_and_retires_links_and_sets_the_floor(
    hub_server: HubProcess, open_page: OpenPages
) -> None:
    base = hub_server.url
    created = await create_session(base, "Leaky links", state="live")
    sid = created["id"]
    old_link = created["links"]["participant"]
    early = await open_page(old_link, viewport=PHONE, name="early")
    await join(early, "Early Bird")

    organizer = await open_page(f"{base}/", name="organizer")
    await organizer.get_by_label("Admin key").fill(ADMIN_KEY)
    await organizer.get_by_role("button", name="Sign in").click()
    card = organizer.locator(f'li[data-session="{sid}"]')
    # Links come from the hub, not from the browser that created the session.
    participant = organizer.locator(f"#link-{sid}-participant")
    await expect(participant).to_have_value(old_link)
    await expect(organizer.locator(f"#link-{sid}-moderator")).to_have_value(
        created["links"]["moderator"])

    row = card.locator('.link-row[data-role="participant"]')
    await row.get_by_role("button", name="Retire the link: Participant").click()
    await expect(row.locator(".inline-form")).to_contain_text("already joined")
    await screenshot(organizer, "floor-organizer-retire")
    await row.get_by_role("button", name="Retire and make a new link").click()
    await expect(participant).not_to_have_value(old_link)
    new_link = await participant.input_value()
    await expect(card.locator(".links-message")).to_contain_text("The old one no longer works")
    assert new_link.startswith(f"{base}/s/{sid}/participant#token=")

    open_page.allow(r"status of 401")  # the retired link's session look-up, as expected
    retired = await open_page(old_link, viewport=PHONE, name="retired")
    await expect(retired.get_by_role("alert")).to_contain_text("replaced by a new one")
    await expect(retired.locator("#join")).to_be_hidden()
    await expect(retired.locator("#app")).to_be_hidden()
    await screenshot(retired, "floor-participant-retired-link")
    # Who joined before keeps working; the new link works.
    await early.reload()
    await expect(early.locator(".conn")).to_have_attribute("data-state", "live")
    fresh = await open_page(new_link, viewport=PHONE, name="fresh")
    await join(fresh, "On Time")

    # Settings of the session.
    await card.locator("details[data-panel=settings] summary").click()
    await card.get_by_label("People in the room (head count)").fill("40")
    await card.get_by_label("Speaking time per turn, in seconds").fill("90")
    await card.get_by_role("button", name="Save settings").click()
    await expect(card.locator(".settings-message")).to_have_text("Settings saved.")
    session = await api("GET", f"{base}/api/sessions/{sid}")
    assert session["settings"]["room_count"] == 40
    assert session["settings"]["speaking_time"] == 90

    # The fair floor: ordering, a weight and a budget.
    await card.locator("details[data-panel=floor] summary").click()
    await card.get_by_label("Ordering").select_option("balanced")
    await card.get_by_label("Gender", exact=True).fill("2")
    await card.get_by_label("Government", exact=True).fill("10")
    await card.get_by_role("button", name="Save the fair floor").click()
    await expect(card.locator(".floor-note")).to_be_hidden()
    for _ in range(100):  # the note was hidden before the click too: wait for the save
        floor = await api("GET", f"{base}/api/sessions/{sid}/floor")
        if floor["ordering"] == "balanced":
            break
        await asyncio.sleep(0.05)
    assert floor["ordering"] == "balanced"
    assert floor["budgets"] == {"government": {"budget": 600, "used": 0}}
    # Reopened elsewhere, the form shows the session's own weights and budgets.
    again = await open_page(f"{base}/", name="organizer-again")
    await again.get_by_label("Admin key").fill(ADMIN_KEY)
    await again.get_by_role("button", name="Sign in").click()
    other = again.locator(f'li[data-session="{sid}"]')
    await other.locator("details[data-panel=floor] summary").click()
    await expect(other.get_by_label("Gender", exact=True)).to_have_value("2")
    await expect(other.get_by_label("Government", exact=True)).to_have_value("10")
    await expect(other.get_by_label("Ordering")).to_have_value("balanced")

    # A named hub link with its place.
    await card.get_by_label("Hub name").fill("Dakar hub")
    await card.get_by_label("City (optional)").fill("Dakar")
    await card.get_by_label("Country (optional)").select_option("SN")
    await card.get_by_role("button", name="Create hub link").click()
    await expect(organizer.locator(f"#link-{sid}-hub-0")).to_have_value(re.compile("/hub#token="))
    await screenshot(organizer, "floor-organizer-settings")


# ---------------------------------------------------------------- removing a participant


@pytest.mark.timeout(60)
async def test_a_ban_closes_the_participant_page(hub_server: HubProcess,
                                                 open_page: OpenPages) -> None:
    created = await create_session(hub_server.url, "Bans", state="live")
    participant = await open_page(created["links"]["participant"], viewport=PHONE, name="banned")
    await join(participant, "Spammer")
    await ask(participant, "Buy cheap followers now")
    moderator = await moderator_page(open_page, created)
    card = moderator.locator("#pending-list li", has_text="Buy cheap followers")
    await card.get_by_role("button", name=re.compile("^Remove the author")).click()
    await expect(card.locator(".notice")).to_contain_text("cannot join this session again")
    await card.get_by_label(re.compile("^Reason")).fill("Spam")
    await card.get_by_role("button", name="Remove", exact=True).click()

    await expect(participant.get_by_role("alert")).to_have_text(
        "The moderators removed you from this session.")
    await expect(participant.locator("#app")).to_be_hidden()
    await expect(participant.locator(".conn")).to_have_attribute("data-state", "offline")
    removed = moderator.locator("#banned-list li")
    await expect(removed).to_have_count(1)
    await expect(removed).to_contain_text("Spammer")
    await expect(removed).to_contain_text(re.compile("Reason: \\W?Spam"))
    await expect(moderator.locator("#pending-list li")).to_have_count(0)
    await screenshot(participant, "floor-participant-removed")
    await screenshot(moderator, "floor-moderator-removed")

    # Coming back is refused too, until the moderators allow it.
    await participant.reload()
    await expect(participant.get_by_role("alert")).to_have_text(
        "The moderators removed you from this session.")
    await removed.get_by_role("button", name="Allow Spammer back").click()
    await expect(removed).to_have_count(0)
    await participant.reload()
    await expect(participant.locator(".conn")).to_have_attribute("data-state", "live")


# ---------------------------------------------------------------- low bandwidth


@pytest.mark.timeout(60)
async def test_low_bandwidth_mode_shows_no_one_elses_items(
    hub_server: HubProcess, protocol_client: Any, open_page: OpenPages
) -> None:
    created = await create_session(hub_server.url, "Thin link", state="live",
                                   settings={"premoderation": False})
    sid, tokens = created["id"], created["tokens"]
    other = await protocol_client(sid, tokens["participant"], name="Someone Else")
    chair = await protocol_client(sid, tokens["moderator"], name="Chair")
    captioner = await protocol_client(sid, tokens["captioner"])
    for n in (1, 2):
        await other.ok({"type": "ask", "kind": "comment", "text": f"Other comment {n}",
                        "key": f"o{n}"})
    page = await open_page(created["links"]["participant"], viewport=PHONE, name="lite")
    await join(page, "Reader")
    await ask(page, "My own question")
    await expect(page.locator("#queue-list li")).to_have_count(3)
    token = await page.evaluate(
        f"JSON.parse(localStorage.getItem('igf:{sid}:participant:id')).token")
    payload = token.split(".")[0]
    reader = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["i"]
    await chair.ok({"type": "note", "to": reader, "text": "Thanks, we will come to you."})
    await expect(page.locator(".notes")).to_contain_text("we will come to you")

    await page.get_by_label(re.compile("Low-bandwidth mode")).check()
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    # Nothing of anyone else's is even in the page: the hub no longer sends it.
    await expect(page.locator("#queue-list li")).to_have_count(0)
    await expect(page.locator("#mine-list li")).to_have_count(1)
    await expect(page.locator("#mine-list li")).to_contain_text("My own question")
    await expect(page.locator(".notes")).to_contain_text("we will come to you")  # snapshot.notes
    await other.ok({"type": "ask", "kind": "comment", "text": "Other comment 3", "key": "o3"})
    await captioner.ok({"type": "caption", "text": "Still captioned in lite mode.", "seq": 1})
    await expect(page.locator("#captions-log .cap-text")).to_have_text(
        ["Still captioned in lite mode."])
    other_items = chair.kinds("item", "moderation")
    await chair.ok({"type": "moderate", "item": other_items[0]["data"]["id"], "action": "live"})
    await expect(page.get_by_role("region", name="On the floor")).to_contain_text("Someone Else")
    assert await page.locator("text=Other comment").count() == 0
    await screenshot(page, "floor-participant-lite")

    await page.get_by_label(re.compile("Low-bandwidth mode")).uncheck()
    await expect(page.locator("#queue-list li")).to_have_count(3)  # two others + own; one live
    await expect(page.locator("#queue-list")).to_contain_text("Other comment 3")


# ---------------------------------------------------------------- accessibility of the new panels


@dataclass
class FloorMeeting:
    base: str
    id: str
    created: dict[str, Any]
    hub_link: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def floor_meeting(hub_server: HubProcess) -> AsyncIterator[FloorMeeting]:
    """A session with suggestions, flags, a ban, a hub with its room's items, and captions."""
    base, ws = hub_server.url, hub_server.ws_url
    created = await create_session(base, "Fair floor: every panel", state="live",
                                   languages=["en", "ar"], settings={"premoderation": False})
    sid, tokens = created["id"], created["tokens"]
    hub = await named_hub(base, sid, "Nairobi hub", city="Nairobi", country="KE")
    chair = Client(ws, sid, tokens["moderator"], name="Chair")
    captioner = Client(ws, sid, tokens["captioner"])
    amina = Client(ws, sid, tokens["participant"], name="Amina",
                   profile={"stakeholder": "civil_society", "country": "KE", "gender": "woman"})
    spammer = Client(ws, sid, tokens["participant"], name="Spammer")
    nairobi = Client(ws, sid, hub["token"])
    clients = [chair, captioner, amina, spammer, nairobi]
    for client in clients:
        await client.connect()
    await nairobi.ok({"type": "hub_status", "attendees": 35})
    link = await api("POST", f"{base}/api/sessions/{sid}/tokens", {"role": "participant"},
                     token=hub["token"])
    wanjiru = Client(ws, sid, link["token"], name="Wanjiru")
    await wanjiru.connect()
    clients.append(wanjiru)
    await wanjiru.ok({"type": "ask", "kind": "question", "key": "w",
                      "text": "What about rural connectivity?"})
    first = (await amina.ok({"type": "ask", "kind": "question", "key": "a",
                             "text": "How do we fund community networks?"}))["item"]
    await nairobi.ok({"type": "ask", "kind": "comment", "key": "n",
                      "text": "Nairobi supports the proposal."})
    await captioner.ok({"type": "caption", "text": "Welcome to the fair floor session.",
                        "seq": 1, "lang": "en"})
    await captioner.ok({"type": "caption", "text": "مرحبًا بكم في الجلسة.", "seq": 1, "lang": "ar"})
    await chair.ok({"type": "flag", "kind": "takeaway", "text": "Community networks need funds.",
                    "item": first})
    await chair.ok({"type": "flag", "kind": "call_to_action", "text": "Connect every school.",
                    "caption": 1})
    await chair.ok({"type": "floor", "ordering": "balanced"})
    spam = spammer.welcome["you"]["id"]
    await chair.ok({"type": "ban", "identity": spam, "reason": "Spam"})
    try:
        yield FloorMeeting(base, sid, created, hub["link"])
    finally:
        for client in clients:
            await client.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_new_panels_are_accessible(lang: str, floor_meeting: FloorMeeting,
                                         open_page: OpenPages) -> None:
    locale = "ar-EG" if lang == "ar" else "en-GB"
    meeting = floor_meeting
    found: dict[str, list[dict[str, Any]]] = {}

    async def check(page: Any, name: str) -> None:
        direction = "rtl" if lang == "ar" else "ltr"
        await expect(page.locator("html")).to_have_attribute("dir", direction)
        await screenshot(page, f"{name}-{lang}")
        found[name] = await axe_violations(page, f"{name}-{lang}")

    moderator = await moderator_page(open_page, meeting.created, "Axe", locale=locale)
    await expect(moderator.locator("#suggest-list > li")).to_have_count(2)
    await expect(moderator.locator("#flag-list > li")).to_have_count(2)
    await expect(moderator.locator("#banned-list > li")).to_have_count(1)
    await moderator.locator("#local-group summary").click()
    await moderator.locator("#stats summary").click()
    await expect(moderator.locator("#stats-attendance")).to_be_visible()
    card = moderator.locator("#queue-list li").first
    await card.locator("button[data-action=flag]").click()
    await expect(card.locator(".flag-form")).to_be_visible()
    await check(moderator, "floor-moderator")

    hub = await open_page(meeting.hub_link, locale=locale, viewport=LAPTOP, name="hub")
    await expect(hub.locator("#room-list > li")).to_have_count(1)
    await expect(hub.locator("#attendee-qr svg")).to_be_visible()
    await hub.locator("#room-list li button[data-action=decline]").click()
    await check(hub, "floor-hub")

    organizer = await open_page(f"{meeting.base}/", locale=locale, viewport=LAPTOP, name="org")
    await organizer.locator("#admin-key").fill(ADMIN_KEY)
    await organizer.locator("#admin-key").press("Enter")
    card = organizer.locator(f'li[data-session="{meeting.id}"]')
    await expect(card.locator(".link-row[data-role=participant] input")).to_be_visible()
    for panel in ("settings", "floor"):
        await card.locator(f"details[data-panel={panel}] summary").click()
    await expect(card.locator(".floor-note")).to_be_visible()
    await card.locator(".link-row[data-role=participant] button[data-action=rotate]").click()
    await check(organizer, "floor-organizer")
    await card.screenshot(path=str(SCREENSHOTS / f"floor-organizer-card-{lang}.png"),
                          animations="disabled")

    serious = {name: v for name, v in found.items() if v}
    assert not serious, json.dumps(serious, indent=1)


async def test_every_reason_reads_in_every_language(hub_server: HubProcess,
                                                    open_page: OpenPages) -> None:
    """Each reason code of hub/domain/ordering.py, with every group it can name, becomes a
    whole sentence in each language: no placeholder or key left, and unknown codes fall back
    to the server's English text."""
    page = await open_page(f"{hub_server.url}/", name="reasons")
    texts = await page.evaluate("""async () => {
      const { reasonText } = await import('/static/js/mod-floor.js');
      const { setLanguage, LANGUAGES } = await import('/static/js/i18n.js');
      const groups = {
        stakeholder: ['government', 'civil_society', 'private_sector', 'technical', 'academia',
          'intergovernmental', 'media', 'other', 'not_declared'],
        region: ['african', 'asia_pacific', 'eastern_european', 'latin_american_caribbean',
          'weog', 'unknown', 'not_declared'],
        gender: ['woman', 'man', 'nonbinary', 'undisclosed', 'not_declared'],
        youth: ['youth', 'not_youth', 'not_declared'],
        origin: ['room', 'remote', 'hub'],
      };
      const reasons = [
        { code: 'point_of_order', params: {} }, { code: 'arrival', params: { position: 2 } },
        { code: 'waiting', params: { minutes: 12 } }, { code: 'votes', params: { votes: 3 } },
        { code: 'new_speaker', params: {} },
        { code: 'alternate', params: { side: 'room' } },
        { code: 'alternate', params: { side: 'remote' } },
        ...['government', 'civil_society', 'remote', 'private_sector', 'technical_academic']
          .map((slot) => ({ code: 'slot', params: { slot, round: 2 } })),
        ...groups.stakeholder.map((group) => ({ code: 'budget_spent', params: { group } })),
        { code: 'slot', params: { slot: 'room', round: 2 } },
        ...['unheard_group', 'quiet_group', 'passed_over_group', 'group_budget_spent']
          .map((code) => ({ code, params: {} })),
      ];
      for (const [dimension, list] of Object.entries(groups)) {
        for (const group of list) {
          reasons.push({ code: 'first_speaker', params: { dimension, group } });
          reasons.push({ code: 'not_heard_for', params: { dimension, group, minutes: 15 } });
          reasons.push({ code: 'group_passed_over', params: { dimension, group, turns: 4 } });
        }
      }
      const out = {};
      for (const { code } of LANGUAGES) {
        await setLanguage(code, { persist: false });
        out[code] = reasons.map(reasonText);
        out[code].push(reasonText({ code: 'brand_new', params: {}, text: 'a new reason' }));
      }
      return out;
    }""")
    assert set(texts) == {"en", "fr", "es", "ar", "zh", "ru"}
    for lang, lines in texts.items():
        assert lines[-1] == "a new reason", lang
        for line in lines[:-1]:
            assert line and "{" not in line and "reason." not in line, (lang, line)
            assert not re.search(r"\b(region|group|slot|dim|economy)\.", line), (lang, line)
    assert "Not heard yet: Africa (Region)" in texts["en"]
    assert "Government microphone, round 2" in texts["en"]
    assert "Room microphone, round 2" in texts["en"]
    assert "From a group not heard yet" in texts["en"]
