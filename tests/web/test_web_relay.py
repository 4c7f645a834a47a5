"""The pages on a hub's relay (`hub relay`), in a real browser: a meeting server, a relay of
it behind a proxy that can take the link down, and the relay's own participant and hub
pages. The participant page says whether the room is linked to the meeting, the hub page
shows the link and what waits to be sent, nothing from the room is lost while the link is
down, the meeting's queue takes no votes in the room, and axe finds nothing serious."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.browser import PHONE, OpenPages, axe_violations, screenshot
from tests.support.harness import ADMIN_KEY, HubProcess, ahttp, create_session
from tests.support.relay_rooms import Room, open_room

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
# Without Playwright (not in the base test extra) these tests are skipped, not broken.
expect = pytest.importorskip("playwright.async_api").expect

# User text inside translated sentences is wrapped in bidi isolates (U+2068, U+2069).
CONNECTED = re.compile("Connected to the meeting through \u2068?Nairobi hub\u2069?\u2019s relay")
DOWN = "The link to the meeting is down"
QUESTION = "Can the room hear the minister again?"


@pytest_asyncio.fixture(loop_scope="module")
async def relay_room(tmp_path: Path) -> AsyncIterator[Room]:
    """tests/system/test_relay.py's `room`, in this module's event loop (the browser's)."""
    async with open_room(tmp_path) as opened:
        yield opened


async def live(page: Any) -> None:
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")


@pytest.mark.timeout(90)
async def test_the_room_follows_the_link_to_the_meeting(
    relay_room: Room, open_page: OpenPages
) -> None:
    room = relay_room
    captioner = room.upstream("captioner", name="Captioner")
    moderator = room.upstream("moderator", name="Chair")
    await captioner.connect()
    await moderator.connect()
    try:
        hub = await open_page(room.links["hub"], name="relay-hub")
        await live(hub)
        link_line = hub.locator("#relay-link")
        await expect(hub.locator("#relay-card")).to_be_visible()
        await expect(link_line).to_contain_text("Connected to the meeting since")
        await expect(link_line).to_have_attribute("data-state", "up")
        # On the relay the hub counts the people without a device; the relay adds the rest.
        await expect(hub.get_by_role(
            "spinbutton", name="People in the room without a device")).to_be_visible()
        await expect(hub.locator("#attendees-relay-help")).to_have_text(
            "Devices connected to this relay are counted automatically.")

        phone = await open_page(room.links["attendee"], viewport=PHONE, name="relay-attendee")
        await phone.locator("#join-name").fill("Amina")
        await phone.locator("#join-name").press("Enter")
        await live(phone)
        status = phone.locator("#relay-status")
        await expect(status).to_have_attribute("role", "status")
        await expect(status).to_have_text(CONNECTED)
        await expect(hub.locator("#attendees-reported")).to_contain_text(
            "devices connected here: 1")
        screen = await open_page(room.links["screen"], name="relay-screen")
        await live(screen)
        await expect(screen.locator("#screen-relay")).to_have_text(CONNECTED)

        # The meeting's captioner speaks: the room reads it through the relay.
        for seq, text in enumerate(["Welcome to the main session.",
                                    "The minister will speak next."], start=1):
            await captioner.ok({"type": "caption", "text": text, "seq": seq})
        await expect(phone.locator("#captions-log")).to_contain_text(
            "The minister will speak next.")

        # The link drops: both pages say so, in words.
        room.proxy.down()
        await expect(status).to_contain_text(DOWN)
        await expect(status).to_contain_text("your questions are kept and sent then")
        await expect(status).to_have_attribute("data-state", "down")
        await expect(link_line).to_contain_text("The link to the meeting has been down since")
        await expect(hub.locator("#relay-waiting")).to_be_hidden()  # nothing owed yet
        await expect(screen.locator("#screen-relay")).to_have_text(
            "The link to the meeting is down: captions will continue when it returns.")

        # Amina asks meanwhile; the hub forwards it; it waits on the relay.
        await phone.get_by_role("textbox", name="Your message").fill(QUESTION)
        await phone.get_by_role("button", name="Send", exact=True).click()
        await expect(phone.locator("#mine-list li", has_text=QUESTION)).to_contain_text(
            "Waiting at the hub")
        card = hub.locator("#room-list > li", has_text=QUESTION)
        # The meeting bounds backing by the room's count: report it first.
        await hub.get_by_role("spinbutton", name="People in the room without a device").fill("9")
        await hub.get_by_role("button", name="Update").click()
        await card.get_by_label("Attendees backing it").fill("7")
        await card.get_by_role("button", name=re.compile("^Forward to the meeting")).click()
        await expect(hub.locator("#room-list > li")).to_have_count(0)
        await expect(hub.locator("#relay-waiting")).to_have_text("Waiting to be sent: 1")
        await room.wait_status(lambda s: len(s["waiting"]) == 1)
        await hub.reload()  # the count survives a reload of the hub's page
        await live(hub)
        await expect(hub.locator("#relay-waiting")).to_have_text("Waiting to be sent: 1")
        await screenshot(hub, "relay-hub-down")
        await screenshot(phone, "relay-attendee-down")
        assert await axe_violations(phone, "relay-attendee-down") == []
        assert await axe_violations(hub, "relay-hub-down") == []

        # The link returns: the meeting's moderators get the question, once.
        room.proxy.up()
        ups = await moderator.wait_for(lambda c: [
            e["data"] for e in c.kinds("item", "moderation") if e["data"]["text"] == QUESTION],
            timeout=30)
        assert ups[-1]["origin"] == "hub:Nairobi hub"
        assert ups[-1]["author"] == "Amina" and ups[-1]["backing"] == 7
        await expect(status).to_have_text(CONNECTED)
        await expect(link_line).to_contain_text("Connected to the meeting since")
        await expect(hub.locator("#relay-waiting")).to_be_hidden()

        # Approved at the meeting: the room sees it in the meeting's queue, without votes.
        await moderator.ok({"type": "moderate", "item": ups[-1]["id"], "action": "approve"})
        await expect(phone.locator("#mine-list li", has_text=QUESTION)).to_contain_text(
            "Approved")
        queued = phone.locator("#queue-list li", has_text=QUESTION)
        await expect(queued).to_be_visible()
        await expect(phone.locator("#queue-hint")).to_have_text(
            "Votes are counted at the meeting.")
        await expect(queued.locator("button")).to_have_count(0)
        await expect(queued).to_contain_text("Votes: 0")
        await expect(hub.locator("#queue-list li", has_text=QUESTION).locator("button")
                     ).to_have_count(0)
        await screenshot(phone, "relay-attendee-up")
        assert await axe_violations(phone, "relay-attendee-up") == []
        assert await axe_violations(hub, "relay-hub-up") == []

        # In Arabic the line reads right to left, the hub's name isolated inside it.
        await phone.locator("#ui-language").select_option("ar")
        await expect(phone.locator("html")).to_have_attribute("dir", "rtl")
        await expect(status).to_have_text(
            "متصل بالاجتماع عبر خادم الترحيل لدى \u2068Nairobi hub\u2069")
        await screenshot(phone, "relay-attendee-up-ar")
    finally:
        await captioner.close()
        await moderator.close()


async def test_a_normal_server_shows_no_relay(
    hub_server: HubProcess, open_page: OpenPages
) -> None:
    created = await create_session(hub_server.url, "No relay here", state="live")
    hub_link = (await ahttp("POST", f"{hub_server.url}/api/sessions/{created['id']}/tokens",
                            {"role": "hub", "name": "Lagos hub"}, token=ADMIN_KEY))[1]["link"]
    hub = await open_page(hub_link, name="plain-hub")
    await live(hub)
    await expect(hub.locator("#relay-card")).to_be_hidden()
    await expect(hub.get_by_role("spinbutton", name="People in the room", exact=True)
                 ).to_be_visible()
    await expect(hub.locator("#attendees-relay-help")).to_be_hidden()
    phone = await open_page(created["links"]["participant"], viewport=PHONE, name="plain-phone")
    await phone.locator("#join-name").fill("Bola")
    await phone.locator("#join-name").press("Enter")
    await live(phone)
    await expect(phone.locator("#relay-status")).to_be_hidden()
    await expect(phone.locator("#queue-hint")).to_have_text(
        "Support the questions and comments you would like to hear.")
