"""One meeting end to end, in six browser contexts at once: the organizer creates the
session and hands out links; the captioner types; a participant and the venue screen read
the captions; the participant asks, the moderator approves and gives the floor; a regional
hub's item arrives labelled; a reload of the participant page loses and repeats nothing."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ADMIN_KEY, PHONE, OpenPages, screenshot
from tests.support.harness import HubProcess

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
# Without Playwright (not in the base test extra) these tests are skipped, not broken.
expect = pytest.importorskip("playwright.async_api").expect


async def caption(page: Any, text: str) -> None:
    """Type one line on the captioner page and commit it with Enter."""
    box = page.get_by_label("Caption text")
    await box.fill(text)
    await box.press("Enter")
    await expect(page.locator("#sent-list li", has_text=text)).to_have_attribute(
        "data-status", "acked")


async def downloaded(download: Any) -> str:
    """The text of a file the page downloaded."""
    path = Path(str(await download.path()))
    return await asyncio.to_thread(path.read_text, encoding="utf-8")


async def caption_texts(page: Any, log: str) -> Any:
    return page.locator(f"#{log} .cap-text")


@pytest.mark.timeout(120)
async def test_a_whole_meeting(hub_server: HubProcess, open_page: OpenPages) -> None:
    # The organizer signs in with the admin key and creates a live session in two languages.
    organizer = await open_page(f"{hub_server.url}/", name="organizer")
    await organizer.get_by_label("Admin key").fill(ADMIN_KEY)
    await organizer.get_by_role("button", name="Sign in").click()
    await organizer.get_by_label("Title", exact=True).fill("Main session: Internet fragmentation")
    await organizer.get_by_label("Caption languages").fill("en, fr")
    await organizer.get_by_label("Start live now").check()
    await organizer.get_by_role("button", name="Create session").click()
    card = organizer.locator("li[data-session]", has_text="Internet fragmentation")
    await expect(card).to_be_visible()
    session_id = await card.get_attribute("data-session")
    assert session_id

    async def link(role: str) -> str:
        value = await organizer.locator(f"#link-{session_id}-{role}").input_value()
        assert value.startswith(hub_server.url), value
        return value

    await card.get_by_label("Hub name").fill("Nairobi hub")
    await card.get_by_role("button", name="Create hub link").click()
    await expect(organizer.locator(f"#link-{session_id}-hub-0")).to_be_visible()
    participant_link = await link("participant")
    screen_link = await link("screen")
    assert "&join=" in screen_link
    moderator_link, captioner_link = await link("moderator"), await link("captioner")
    nairobi_link = await link("hub-0")

    # The captioner starts; a participant (on a phone) and the venue screen follow along.
    captioner = await open_page(captioner_link, name="captioner")
    await caption(captioner, "Welcome to the main session on Internet fragmentation.")
    participant = await open_page(participant_link, viewport=PHONE, name="participant")
    await participant.get_by_label("Your name").fill("Amina Diallo")
    await participant.get_by_role("button", name="Join").click()
    screen = await open_page(screen_link, name="screen")
    for page, log in ((participant, "captions-log"), (screen, "screen-captions-log")):
        await expect(await caption_texts(page, log)).to_have_text(
            ["Welcome to the main session on Internet fragmentation."])
    await expect(screen.locator("#qr svg")).to_be_visible()
    await expect(screen.locator("#join-url")).to_have_text(participant_link)

    # The participant asks; the moderator sees it arrive, approves it and gives the floor.
    question = "How can remote hubs take part in the follow-up?"
    await participant.get_by_role("textbox", name="Your message").fill(question)
    await participant.get_by_role("button", name="Send", exact=True).click()
    mine = participant.locator("#mine-list li", has_text=question)
    await expect(mine).to_contain_text("Waiting for review")

    moderator = await open_page(moderator_link, name="moderator")
    await moderator.get_by_label("Your name").fill("Chair")
    await moderator.get_by_label("Your name").press("Enter")
    pending = moderator.locator("#pending-list li", has_text=question)
    await expect(pending).to_contain_text("Remote")
    await pending.get_by_role("button", name=re.compile("^Approve")).click()
    await expect(mine).to_contain_text("Approved")
    queued = moderator.locator("#queue-list li", has_text=question)
    await moderator.get_by_label("Speaking time in seconds (optional)").fill("120")
    await queued.get_by_role("button", name=re.compile("^Give the floor")).click()
    await expect(mine).to_contain_text("On the floor")
    floor = participant.get_by_role("region", name="On the floor")
    await expect(floor).to_contain_text("Amina Diallo")
    await expect(floor).to_contain_text(question)
    await expect(floor.locator(".floor-timer")).to_contain_text("Time left")
    await expect(screen.locator(".floor")).to_contain_text("Amina Diallo")

    # She follows up; the moderator answers with a note on her private channel.
    follow_up = "And who pays for the interpretation?"
    await participant.get_by_role("textbox", name="Your message").fill(follow_up)
    await participant.get_by_role("button", name="Send", exact=True).click()
    follow_card = moderator.locator("#pending-list li", has_text=follow_up)
    await follow_card.get_by_role("button", name=re.compile("^Send a note")).click()
    await follow_card.get_by_label("Note to Amina Diallo").fill("We will take this after the hubs.")
    await follow_card.get_by_role("button", name="Send note").click()
    notes = participant.get_by_role("region", name="Messages from the moderators")
    await expect(notes).to_contain_text("We will take this after the hubs.")
    await expect(notes).to_contain_text(re.compile(r"From \W?Chair"))

    # A regional hub reports its attendance and asks; the moderator sees it labelled.
    hub = await open_page(nairobi_link, name="hub")
    await expect(hub.locator("#hub-name")).to_have_text("Nairobi hub")
    await hub.get_by_label("People in the room").fill("35")
    await hub.get_by_role("button", name="Update").click()
    await expect(hub.locator("#attendees-reported")).to_contain_text("35")
    hub_question = "Nairobi asks: who funds community networks?"
    await hub.get_by_role("textbox", name="Your message").fill(hub_question)
    await hub.get_by_role("button", name="Send", exact=True).click()
    hub_item = moderator.locator("#pending-list li", has_text=hub_question)
    await expect(hub_item.locator(".badge-origin-hub")).to_have_text("Hub: Nairobi hub")
    await expect(hub.locator("#hub-items-list li", has_text=hub_question)).to_contain_text(
        "Hub: Nairobi hub")
    await expect(moderator.locator("#hubs-list")).to_contain_text("Nairobi hub")
    await expect(moderator.locator("#presence")).to_contain_text("35")

    # More captions; the participant reloads; nothing is lost and nothing repeats.
    await caption(captioner, "First, a word from our remote hubs.")
    await caption(captioner, "Nairobi has thirty-five people in the room.")
    expected = [
        "Welcome to the main session on Internet fragmentation.",
        "First, a word from our remote hubs.",
        "Nairobi has thirty-five people in the room.",
    ]
    await expect(await caption_texts(participant, "captions-log")).to_have_text(expected)
    await participant.reload()
    await expect(participant.locator("#join")).to_be_hidden()
    await expect(participant.locator(".conn")).to_have_attribute("data-state", "live")
    await expect(await caption_texts(participant, "captions-log")).to_have_text(expected)
    await caption(captioner, "Back to the floor.")
    await expect(await caption_texts(participant, "captions-log")).to_have_text(
        [*expected, "Back to the floor."])
    # Same identity after the reload: the question is still the participant's own.
    await expect(mine).to_contain_text("On the floor")

    # The moderator ends the turn; the participant sees it done.
    await moderator.get_by_role("button", name="End this turn").click()
    await expect(mine).to_contain_text("Done")
    await expect(floor).to_contain_text("Nobody has the floor")

    # The organizer downloads the transcript and the report (the admin key stays in a header).
    async with organizer.expect_download() as transcript_download:
        await card.get_by_role("button", name="Download the transcript as Text").click()
    text = await downloaded(await transcript_download.value)
    for line in [*expected, "Back to the floor."]:
        assert text.count(line) == 1, text
    async with organizer.expect_download() as vtt_download:
        await card.get_by_role("button", name="Download the transcript as WebVTT").click()
    vtt = await downloaded(await vtt_download.value)
    assert vtt.startswith("WEBVTT")
    async with organizer.expect_download() as report_download:
        await card.get_by_role("button", name="Download the report as Markdown").click()
    report = await report_download.value
    assert report.suggested_filename.endswith(".md")
    assert "Internet fragmentation" in await downloaded(report)

    for name, page in (("meeting-organizer", organizer), ("meeting-moderator", moderator),
                       ("meeting-participant-phone", participant), ("meeting-screen", screen),
                       ("meeting-captioner", captioner), ("meeting-hub", hub)):
        await screenshot(page, name)
