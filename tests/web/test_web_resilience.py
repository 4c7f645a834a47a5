"""Pages when things go wrong: through a server restart and an offline spell they show
that they are reconnecting, keep what the user typed (a caption line, a question) in the
outbox, resume with their channel offsets, and neither lose nor repeat anything; a broken
link says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.browser import PHONE, OpenPages
from tests.support.harness import HubProcess, create_session

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
# Without Playwright (not in the base test extra) these tests are skipped, not broken.
expect = pytest.importorskip("playwright.async_api").expect

# Waiting bounds (not timing assertions): the pages retry with backoff until the hub is back.
BACK = 30_000


@pytest.mark.timeout(120)
async def test_pages_keep_working_through_a_restart(tmp_path: Path, open_page: OpenPages) -> None:
    hub = HubProcess(tmp_path / "data").start()
    restarted: HubProcess | None = None
    try:
        created = await create_session(hub.url, "Restart drill", state="live")
        links = created["links"]
        captioner = await open_page(links["captioner"], name="captioner")
        participant = await open_page(links["participant"], viewport=PHONE, name="participant")
        await participant.get_by_label("Your name").fill("Steady Reader")
        await participant.get_by_role("button", name="Join").click()
        box = captioner.get_by_label("Caption text")
        await box.fill("Before the restart.")
        await box.press("Enter")
        captions = participant.locator("#captions-log .cap-text")
        await expect(captions).to_have_text(["Before the restart."])

        # The hub goes away (SIGTERM: bye, then 1012). Both pages say so.
        open_page.allow(r"WebSocket connection to .* failed|ERR_CONNECTION_REFUSED")
        hub.terminate()
        for page in (captioner, participant):
            await expect(page.locator(".conn")).to_have_attribute(
                "data-state", re.compile("reconnecting|offline"))
        # What people type meanwhile waits in the outbox.
        await box.fill("Typed while the hub was down.")
        await box.press("Enter")
        await expect(captioner.locator("#sent-list li", has_text="while the hub was down")
                     ).to_have_attribute("data-status", "queued")
        await participant.get_by_role("textbox", name="Your message").fill("Asked while offline?")
        await participant.get_by_role("button", name="Send", exact=True).click()
        mine = participant.locator("#mine-list li")
        await expect(mine).to_have_count(1)
        await expect(mine).to_contain_text("Waiting for connection")

        # A new process on the same port and data: the pages resume and catch up.
        assert hub.log_path is not None
        hub.log_path.unlink()
        restarted = HubProcess(tmp_path / "data", port=hub.port).start()
        for page in (captioner, participant):
            await expect(page.locator(".conn")).to_have_attribute("data-state", "live",
                                                                  timeout=BACK)
        await expect(captioner.locator("#sent-list li", has_text="while the hub was down")
                     ).to_have_attribute("data-status", "acked", timeout=BACK)
        await expect(captions).to_have_text(
            ["Before the restart.", "Typed while the hub was down."], timeout=BACK)
        await expect(mine).to_have_count(1)
        await expect(mine).to_contain_text("Waiting for review", timeout=BACK)

        # And a reload after all that still shows each line once.
        await participant.reload()
        await expect(captions).to_have_text(
            ["Before the restart.", "Typed while the hub was down."])
        await expect(mine).to_have_count(1)
    finally:
        if restarted is not None:
            restarted.terminate()
        hub.terminate()


async def test_offline_and_back(hub_server: HubProcess, open_page: OpenPages) -> None:
    created = await create_session(hub_server.url, "Patchy network", state="live")
    page = await open_page(created["links"]["participant"], viewport=PHONE, name="patchy")
    await page.get_by_label("Your name").fill("Commuter")
    await page.get_by_role("button", name="Join").click()
    conn = page.locator(".conn")
    await expect(conn).to_have_attribute("data-state", "live")
    await page.context.set_offline(True)
    await expect(conn).to_have_attribute("data-state", "offline")
    await expect(conn).to_have_text("Offline")
    await page.get_by_role("textbox", name="Your message").fill("Sent from a tunnel")
    await page.get_by_role("button", name="Send", exact=True).click()
    mine = page.locator("#mine-list li")
    await expect(mine).to_contain_text("Waiting for connection")
    await page.context.set_offline(False)
    await expect(conn).to_have_attribute("data-state", "live", timeout=BACK)
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("Waiting for review")


async def test_a_broken_link_says_so(hub_server: HubProcess, open_page: OpenPages) -> None:
    created = await create_session(hub_server.url, "Broken links", state="live")
    open_page.allow(r"status of 40[14]")  # the refused session look-up, as expected
    page = await open_page(f"{hub_server.url}/s/{created['id']}/participant#token=forged.token",
                           name="forged")
    await expect(page.get_by_role("alert")).to_contain_text("not valid")
    missing = await open_page(f"{hub_server.url}/s/{created['id']}/moderator", name="no-token")
    await expect(missing.get_by_role("alert")).to_contain_text("incomplete")
    gone = await open_page(f"{hub_server.url}/s/no-such-session/screen#token=x.y", name="gone")
    await expect(gone.get_by_role("alert")).to_be_visible()
