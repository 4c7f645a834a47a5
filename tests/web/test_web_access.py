"""Taking access back, in a real browser: the organizer lists the named
links and the staff who joined, and revokes one, whose page closes at once; a person with an
expired link is told to ask the organizer for a new one, in their language."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.support.browser import PHONE, OpenPages, axe_violations, screenshot
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session
from tests.support.staff_tokens import SECRET, signed

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
expect = pytest.importorskip("playwright.async_api").expect


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """`hub serve` with a known token secret, so that a test can make an expired link."""
    hub = HubProcess(tmp_path_factory.mktemp("hub") / "data", env={"HUB_SECRET": SECRET})
    hub.start()
    try:
        yield hub
    finally:
        hub.terminate()


async def test_the_organizer_revokes_a_captioner_from_the_page(
    hub_server: HubProcess, open_page: OpenPages
) -> None:
    base = hub_server.url
    created = await create_session(base, "Access", state="live")
    sid = created["id"]
    status, minted, _ = await ahttp("POST", f"{base}/api/sessions/{sid}/tokens",
                                    {"role": "captioner", "name": "CART agency"},
                                    token=ADMIN_KEY)
    assert status == 201
    status, unused, _ = await ahttp("POST", f"{base}/api/sessions/{sid}/tokens",
                                    {"role": "moderator", "name": "Spare chair"},
                                    token=ADMIN_KEY)
    assert status == 201
    captioner = Client(hub_server.ws_url, sid, minted["token"])
    await captioner.connect()

    organizer = await open_page(f"{base}/", name="organizer")
    await organizer.get_by_label("Admin key").fill(ADMIN_KEY)
    await organizer.get_by_role("button", name="Sign in").click()
    card = organizer.locator(f'li[data-session="{sid}"]')
    await card.locator("details[data-panel=access] summary").click()
    rows = card.locator(".access-row")
    await expect(rows).to_have_count(2)
    spare = card.locator(f'.access-row[data-identity="{unused["identity"]}"]')
    await expect(spare).to_contain_text("never used")
    row = card.locator(f'.access-row[data-identity="{minted["identity"]}"]')
    await expect(row).to_contain_text("Captioner")
    await row.get_by_role("button", name="Revoke access: \u2068CART agency\u2069").click()
    await expect(row.locator(".inline-form")).to_contain_text("stops working")
    assert not await axe_violations(organizer, "access-organizer-revoke")
    await screenshot(organizer, "access-organizer-revoke")
    await row.get_by_role("button", name="Revoke access", exact=True).click()
    await expect(row).to_contain_text("Revoked")
    await asyncio.wait_for(captioner.closed.wait(), 10)
    assert captioner.close_code == 4503
    status, _, _ = await ahttp("POST", f"{base}/api/sessions/{sid}/captions"
                               f"?token={minted['token']}", "Hello", content_type="text/plain")
    assert status == 403


@pytest.mark.parametrize(("locale", "text"), [
    ("en-US", "This link has expired. Ask the organizer for a new one."),
    ("fr-FR", "Ce lien a expiré. Demandez-en un nouveau aux organisateurs."),
])
async def test_an_expired_link_says_to_ask_the_organizer(
    hub_server: HubProcess, open_page: OpenPages, locale: str, text: str
) -> None:
    created = await create_session(hub_server.url, "Old links", state="live")
    sid = created["id"]
    expired = signed({"s": sid, "r": "participant", "x": int(time.time()) - 60})
    open_page.allow(r"status of 401")  # the expired link's session look-up, as expected
    page = await open_page(f"{hub_server.url}/s/{sid}/participant#token={expired}",
                           viewport=PHONE, locale=locale, name=f"expired-{locale}")
    await expect(page.get_by_role("alert")).to_contain_text(text)
    await expect(page.locator("#join")).to_be_hidden()
    await screenshot(page, f"access-participant-expired-{locale}")


async def test_an_expired_screen_link_on_the_websocket_says_so(
    hub_server: HubProcess, open_page: OpenPages
) -> None:
    """The screen page learns it over the websocket (`hello` refused), not from the API."""
    created = await create_session(hub_server.url, "Old screen", state="live")
    sid = created["id"]
    expired = signed({"s": sid, "r": "screen", "x": int(time.time()) - 60})
    page = await open_page(f"{hub_server.url}/s/{sid}/screen#token={expired}", name="screen")
    await expect(page.locator("#fatal")).to_contain_text("This link has expired")
