"""Hubs in the browser: a hub's implausible count is flagged in the
moderators' roll call, and a name a hub declared is labelled on every page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import PHONE, OpenPages, open_with_storage
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect

WIDE = {"width": 1440, "height": 1000}
# User text inside translated sentences is wrapped in bidi isolates (U+2068, U+2069).
LABEL = re.compile("\u2068?Amina\u2069? \\(forwarded by \u2068?Nairobi hub\u2069? on behalf of "
                   "an attendee\\)")


@pytest.mark.timeout(90)
async def test_hub_declared_names_and_count_jumps_are_shown(
    hub_server: HubProcess, open_page: OpenPages
) -> None:
    base = hub_server.url
    created = await create_session(base, "Hub labels", state="live",
                                   settings={"premoderation": False})
    sid = created["id"]
    status, named, _ = await ahttp("POST", f"{base}/api/sessions/{sid}/tokens",
                                   {"role": "hub", "name": "Nairobi hub"}, token=ADMIN_KEY)
    assert status == 201, named
    moderator = await open_with_storage(
        open_page, created["links"]["moderator"],
        {f"igf:{sid}:moderator:hello": {"name": "Chair"}}, viewport=WIDE)
    await expect(moderator.locator(".conn")).to_have_attribute("data-state", "live")
    phone = await open_page(created["links"]["participant"], viewport=PHONE, name="phone")
    await phone.locator("#join-name").fill("Kofi")
    await phone.locator("#join-name").press("Enter")
    await expect(phone.locator(".conn")).to_have_attribute("data-state", "live")
    screen = await open_page(created["links"]["screen"], name="screen")

    nairobi = Client(hub_server.ws_url, sid, named["token"])
    await nairobi.connect()
    clients: list[Any] = [nairobi]
    try:
        await nairobi.ok({"type": "hub_status", "attendees": 40})
        await nairobi.ok({"type": "hub_status", "attendees": 5000})
        roll = moderator.locator("#hubs-list li", has_text="Nairobi hub")
        await expect(roll).to_contain_text(
            "Check this count: it jumped from 40 to 5000 in one report")

        item = (await nairobi.ok({
            "type": "ask", "kind": "question", "key": "relay-1-h1", "text": "Rural access?",
            "on_behalf": {"name": "Amina"}, "backing": 12}))["item"]
        await expect(phone.locator("#queue-list li", has_text="Rural access?")).to_contain_text(
            LABEL)
        await expect(moderator.locator("li", has_text="Rural access?").first).to_contain_text(
            LABEL)
        chair = Client(hub_server.ws_url, sid, created["tokens"]["moderator"], name="Chair 2")
        await chair.connect()
        clients.append(chair)
        await chair.ok({"type": "moderate", "item": item, "action": "live"})
        await expect(screen.locator("body")).to_contain_text(LABEL)
        await expect(phone.locator("body")).to_contain_text(LABEL)
    finally:
        for client in clients:
            await client.close()
