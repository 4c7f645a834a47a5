"""The pages through nginx in front of two instances: when the instance a page is
connected to dies, the page resumes on the other, losing and repeating nothing."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.support.browser import PHONE, OpenPages
from tests.support.deployment import Deployment, deployment, nginx_bin  # noqa: F401 - fixtures
from tests.support.harness import Client, HubProcess, ahttp, create_session

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect

BACK = 30_000


async def participants_on(hub: HubProcess) -> float:
    status, text, _ = await ahttp("GET", f"{hub.url}/metrics")
    assert status == 200
    found = re.search(r'hub_connections\{role="participant",transport="ws"\} ([0-9.]+)', text)
    return float(found.group(1)) if found else 0.0


@pytest.mark.timeout(120)
async def test_a_page_moves_to_the_other_instance_when_its_own_dies(
    deployment: Deployment, open_page: OpenPages,  # noqa: F811 - the fixture, imported
) -> None:
    front = deployment.nginx.url
    created = await create_session(front, "Failover drill", state="live")
    page = await open_page(created["links"]["participant"], viewport=PHONE, name="participant")
    await page.get_by_label("Your name").fill("Moving Reader")
    await page.get_by_role("button", name="Join").click()
    captions = page.locator("#captions-log .cap-text")

    await expect(page.locator(".conn")).to_have_attribute("data-state", "live", timeout=BACK)
    # Which instance holds the page? Kill that one; the captioner speaks to the other.
    counts: list[float] = []
    for _ in range(100):  # the page is live; its instance counts it a moment later
        counts = [await participants_on(hub) for hub in deployment.hubs]
        if sorted(counts) == [0.0, 1.0]:
            break
        await asyncio.sleep(0.1)
    assert sorted(counts) == [0.0, 1.0], counts
    doomed, survivor = deployment.hubs if counts[0] else deployment.hubs[::-1]
    cap = Client(survivor.ws_url, created["id"], created["tokens"]["captioner"])
    await cap.connect()
    lines = [f"Line {n}." for n in range(1, 4)]
    for n, text in enumerate(lines, 1):
        await cap.ok({"type": "caption", "text": text, "seq": n})
    await expect(captions).to_have_text(lines)

    open_page.allow(r"WebSocket connection to .* failed|502|Bad Gateway")
    doomed.kill()
    for n in range(4, 7):  # the meeting goes on while the page is away
        text = f"Line {n}."
        lines.append(text)
        await cap.ok({"type": "caption", "text": text, "seq": n})
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live", timeout=BACK)
    await expect(captions).to_have_text(lines, timeout=BACK)  # each once, in order
    assert await participants_on(survivor) == 1.0
    await cap.ok({"type": "caption", "text": "Line 7.", "seq": 7})
    await expect(captions).to_have_text([*lines, "Line 7."])
    await cap.close()
