"""The voice pages in a real browser, against a hub with a real private Janus on loopback.

No audio flows here: Janus gathers no ICE candidates on loopback, so a page's media never
connects (the audio itself is tested in the network-namespace harness). What is checked is
everything around it: the controls hidden or explained when voice is off, the listen
button's states, the speak prompt with its consent text when one's own item goes live and
the message when the browser refuses the microphone (the request to speak stays), the desk's
device pickers with Chromium's fake devices and the take-over confirmation, the moderators'
mute and cut buttons answered by the hub, the organizer's voice status and desk link, and
axe scans of the voice panels in English and Arabic."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    LAPTOP,
    PHONE,
    OpenPages,
    axe_violations,
    open_with_storage,
    screenshot,
)
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session

pytestmark = [
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(shutil.which("janus") is None,
                       reason="janus is not installed (scripts/test-deps.sh)"),
    pytest.mark.skipif(not Path("/usr/share/javascript/janus-gateway/janus.js").is_file(),
                       reason="libjs-janus-gateway is not installed (scripts/test-deps.sh)"),
]
expect = pytest.importorskip("playwright.async_api").expect

# Chromium's fake capture devices (no real microphone, no prompt unless a test denies it).
# The shared `browser` fixture (tests/support/browser.py) adds these: fake media devices.
CHROMIUM_EXTRA_ARGS = ["--use-fake-device-for-media-stream",
                       "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """`hub serve` with voice on: it runs its private Janus (found on PATH)."""
    hub = HubProcess(tmp_path_factory.mktemp("voice") / "data", env={"HUB_MEDIA_URL": ""}).start()
    try:
        yield hub
    finally:
        hub.terminate()


async def voice_session(hub: HubProcess) -> tuple[dict[str, Any], Client, Client]:
    created = await create_session(hub.url, "Voice workshop", state="live",
                                   settings={"premoderation": False})
    chair = Client(hub.ws_url, created["id"], created["tokens"]["moderator"], name="Chair")
    amina = Client(hub.ws_url, created["id"], created["tokens"]["participant"], name="Amina")
    for client in (chair, amina):
        await client.connect()
    return created, chair, amina


async def give_floor(chair: Client, who: Client, **live: Any) -> str:
    asked = await who.ok({"type": "ask", "kind": "floor", "text": "I wish to speak",
                          "key": f"floor-{who.welcome['you']['id']}"})
    await chair.ok({"type": "moderate", "item": asked["item"], "action": "live", **live})
    return str(asked["item"])


async def participant_as(open_page: OpenPages, hub: HubProcess, created: dict[str, Any],
                         who: Client, person: str, **kw: Any) -> Any:
    """The participant page of an identity a protocol client made (same personal token)."""
    sid = created["id"]
    token = who.welcome["you"]["token"]
    page = await open_with_storage(
        open_page, f"{hub.url}/s/{sid}/participant#token={token}",
        {f"igf:{sid}:participant:hello": {"name": person},
         f"igf:{sid}:participant:id": {"join": token, "token": token}}, **kw)
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    return page


# ---------------------------------------------------------------- the library and voice off


async def test_the_hub_serves_debians_janus_library(hub_server: HubProcess) -> None:
    for name in ("janus.js", "adapter.js"):
        status, _, headers = await ahttp("GET", f"{hub_server.url}/media-lib/{name}")
        assert status == 200 and "javascript" in headers["Content-Type"]
    status, _, _ = await ahttp("GET", f"{hub_server.url}/media-lib/other.js")
    assert status == 404


async def test_voice_off_hides_the_controls_and_explains_on_the_desk(
        tmp_path: Path, open_page: OpenPages) -> None:
    quiet = HubProcess(tmp_path / "data").start()  # HUB_MEDIA_URL=off
    try:
        created = await create_session(quiet.url, "No voice", state="live")
        page = await open_page(created["links"]["participant"], name="participant-off")
        await page.locator("#join-name").fill("Bo")
        await page.locator("#join-name").press("Enter")
        await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
        await expect(page.locator("#listen")).to_be_hidden()
        await expect(page.locator("#speak")).to_be_hidden()
        desk = await open_page(created["links"]["desk"], name="desk-off")
        await expect(desk.locator("#desk-voice")).to_have_text("Voice is off on this hub.")
        await expect(desk.locator("#desk-start")).to_be_disabled()
        mod = await open_with_storage(
            open_page, created["links"]["moderator"],
            {f"igf:{created['id']}:moderator:hello": {"name": "Chair"}}, name="moderator-off")
        await expect(mod.locator(".conn")).to_have_attribute("data-state", "live")
        await expect(mod.locator("#mod-voice")).to_be_hidden()
        # The organizer says voice is off and how to turn it on.
        org = await open_page(f"{quiet.url}/", name="organizer-off")
        await org.locator("#admin-key").fill(ADMIN_KEY)
        await org.locator("#admin-key").press("Enter")
        await expect(org.locator("#voice-state")).to_have_text("Voice is off on this hub.")
        await expect(org.locator("#voice-how")).to_contain_text("apt-get install janus")
    finally:
        await open_page.close()  # before the hub goes: its pages would log the refused socket
        quiet.terminate()


async def test_without_the_library_the_voice_controls_are_hidden(
        hub_server: HubProcess, open_page: OpenPages) -> None:
    """A hub whose machine lacks libjs-janus-gateway answers 404 for /media-lib/janus.js
    (test_the_hub_serves_debians_janus_library checks the route); the pages then hide voice
    as when it is off, and the desk says why. The 404 is made here by the browser's router,
    since this machine has the package."""
    created, chair, amina = await voice_session(hub_server)
    open_page.allow("status of 404")
    desk = await open_page(name="desk-nolib")
    await desk.route("**/media-lib/janus.js", lambda route: route.fulfill(status=404))
    await desk.goto(created["links"]["desk"])
    await expect(desk.locator("#desk-voice")).to_have_text(
        "The audio library is not installed on this hub.")
    await expect(desk.locator("#desk-start")).to_be_disabled()
    sid, token = created["id"], amina.welcome["you"]["token"]
    page = await open_page(name="participant-nolib")
    await page.route("**/media-lib/janus.js", lambda route: route.fulfill(status=404))
    stored = {f"igf:{sid}:participant:hello": {"name": "Amina"},
              f"igf:{sid}:participant:id": {"join": token, "token": token}}
    await page.context.add_init_script(
        "for (const [k, v] of Object.entries(" + json.dumps(stored) + "))"
        " localStorage.setItem(k, JSON.stringify(v));")
    await page.goto(f"{hub_server.url}/s/{sid}/participant#token={token}")
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    await give_floor(chair, amina)
    await expect(page.locator(".floor-speaker")).to_contain_text("Amina")
    await expect(page.locator("#listen")).to_be_hidden()
    await expect(page.locator("#speak")).to_be_hidden()
    for client in (chair, amina):
        await client.close()


# ---------------------------------------------------------------- listening


async def test_listen_button_states_and_stop(hub_server: HubProcess, open_page: OpenPages) -> None:
    created, chair, amina = await voice_session(hub_server)
    page = await participant_as(open_page, hub_server, created, amina, "Amina")
    listen = page.locator("#listen")
    await expect(listen).to_be_visible()
    status = page.locator("#listen-status")
    await expect(status).to_have_text("Not listening.")
    button = page.locator("#listen-toggle")
    await button.click()
    await expect(button).to_have_attribute("aria-pressed", "true")
    # The grant is made and the page joins the mountpoint; on loopback ICE cannot complete,
    # so the state stays "connecting" (or "reconnecting" after an ICE failure).
    await expect(listen).to_have_attribute("data-state", _re("connecting|reconnecting|listening"))
    await expect(page.locator("#listen-volume")).to_have_value("80")
    await page.locator("#listen-volume").fill("40")
    # Stopping destroys the Janus session: the long poll still waiting on it gets Janus's 404.
    open_page.allow("status of 40[34]")
    await button.click()
    await expect(button).to_have_attribute("aria-pressed", "false")
    await expect(status).to_have_text("Not listening.")
    await expect(listen).to_have_attribute("data-state", "off")
    for client in (chair, amina):
        await client.close()


async def test_listening_in_low_bandwidth_mode(hub_server: HubProcess,
                                               open_page: OpenPages) -> None:
    created, chair, amina = await voice_session(hub_server)
    sid, token = created["id"], amina.welcome["you"]["token"]
    page = await open_with_storage(
        open_page, f"{hub_server.url}/s/{sid}/participant#token={token}",
        {"igf.prefs": {"lite": True},
         f"igf:{sid}:participant:hello": {"name": "Amina"},
         f"igf:{sid}:participant:id": {"join": token, "token": token}}, viewport=PHONE)
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#queue")).to_be_hidden()  # lite: others' items are not sent
    await expect(page.locator("#listen")).to_be_visible()
    open_page.allow("status of 40[34]")
    async with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/janus")):
        await page.locator("#listen-toggle").click()
    await expect(page.locator("#listen")).to_have_attribute(
        "data-state", _re("connecting|reconnecting|listening"))
    # The voice facts reach a low-bandwidth page too: its own item live shows the prompt.
    await give_floor(chair, amina)
    await expect(page.locator("#speak")).to_be_visible()
    for client in (chair, amina):
        await client.close()


def _re(pattern: str) -> Any:
    import re

    return re.compile(f"^({pattern})$")


# ---------------------------------------------------------------- speaking


async def test_speak_prompt_consent_and_a_refused_microphone(
        hub_server: HubProcess, open_page: OpenPages) -> None:
    created, chair, amina = await voice_session(hub_server)
    # No microphone permission in this context: Chromium refuses getUserMedia.
    page = await participant_as(open_page, hub_server, created, amina, "Amina")
    speak = page.locator("#speak")
    await expect(speak).to_be_hidden()
    item = await give_floor(chair, amina, seconds=120)
    await expect(speak).to_be_visible()
    await expect(page.locator("#speak-consent")).to_contain_text("is recorded")
    await page.locator("#speak-start").click()
    status = page.locator("#speak-status")
    await expect(status).to_contain_text("The browser refused the microphone")
    await expect(status).to_contain_text("Your request to speak stays")
    await expect(page.locator("#speak-start")).to_be_visible()  # one can try again
    await expect(page.locator(f'#mine-list li[data-id="{item}"]')).to_have_count(1)
    # The turn ends: the prompt goes away.
    await chair.ok({"type": "moderate", "item": item, "action": "done"})
    await expect(speak).to_be_hidden()
    for client in (chair, amina):
        await client.close()


async def test_speak_with_the_microphone_allowed_takes_the_grant(
        hub_server: HubProcess, open_page: OpenPages) -> None:
    created, chair, amina = await voice_session(hub_server)
    page = await participant_as(open_page, hub_server, created, amina, "Amina")
    await page.context.grant_permissions(["microphone"], origin=hub_server.url)
    item = await give_floor(chair, amina)
    await page.locator("#speak-start").click()
    # The page took its speak grant: the hub says the speaker is live on audio.
    await chair.wait_for(lambda c: any(
        e["kind"] == "voice" and e["data"].get("item") == item and e["data"].get("since")
        for e in c.events))
    await expect(page.locator("#speak-stop")).to_be_visible()
    await expect(page.locator("#speak-level")).to_be_visible()
    # A moderator cuts: the hub removes the page's token on Janus (its last requests there
    # are refused: 403 in the console) and the page switches its microphone off.
    open_page.allow("status of 40[34]")
    await chair.ok({"type": "voice", "action": "cut"})
    await expect(page.locator("#speak-status")).to_have_text(
        "A moderator cut the audio of this turn.")
    await expect(page.locator("#speak-start")).to_be_hidden()
    await expect(page.locator("#speak-stop")).to_be_hidden()
    await chair.ok({"type": "moderate", "item": item, "action": "done"})
    await expect(page.locator("#speak")).to_be_hidden()
    for client in (chair, amina):
        await client.close()


# ---------------------------------------------------------------- the desk


async def test_desk_devices_and_take_over(hub_server: HubProcess, open_page: OpenPages) -> None:
    created, chair, amina = await voice_session(hub_server)
    first = await open_page(created["links"]["desk"], name="desk-1")
    await first.context.grant_permissions(["microphone"], origin=hub_server.url)
    await expect(first.locator(".conn")).to_have_attribute("data-state", "live")
    await expect(first.locator("#desk-status")).to_have_text("The desk is not started.")
    await first.locator("#desk-start").click()
    # Chromium's fake devices are listed once capture is allowed.
    await expect(first.locator("#desk-input option")).not_to_have_count(1)
    assert "Fake" in " ".join(await first.locator("#desk-input option").all_inner_texts())
    await chair.wait_for(lambda c: any(e["kind"] == "voice" and e["data"].get("desk")
                                       for e in c.events))
    await expect(first.locator("#desk-stop")).to_be_visible()
    # A second desk is told another one is active, and takes over only after confirming.
    second = await open_page(created["links"]["desk"], name="desk-2")
    await second.context.grant_permissions(["microphone"], origin=hub_server.url)
    await expect(second.locator(".conn")).to_have_attribute("data-state", "live")
    await second.locator("#desk-start").click()
    await expect(second.locator("#desk-takeover")).to_be_visible()
    await expect(second.locator("#desk-takeover-text")).to_contain_text(
        "Another audio desk is active")
    # The first desk's token is removed on Janus: its last requests there are refused (403,
    # or 404 for its destroyed session).
    open_page.allow("status of 40[34]")
    await second.locator("#desk-takeover-yes").click()
    await expect(second.locator("#desk-takeover")).to_be_hidden()
    await expect(second.locator("#desk-stop")).to_be_visible()
    await expect(first.locator("#desk-status")).to_have_text(
        "Another desk took over: this desk has stopped.")
    await expect(first.locator("#desk-start")).to_be_visible()
    # Who is live: the remote speaker's name and origin.
    await give_floor(chair, amina)
    await expect(second.locator("#desk-live-who")).to_have_text("Amina")
    await expect(second.locator("#desk-live-meta")).to_contain_text("microphone not on yet")
    await second.locator("#desk-silence").click()
    await expect(second.locator("#desk-silence")).to_have_attribute("aria-pressed", "true")
    assert await second.evaluate("document.querySelector('#desk-audio').muted")
    for client in (chair, amina):
        await client.close()


# ---------------------------------------------------------------- the moderators


async def test_moderator_mute_unmute_and_cut(hub_server: HubProcess, open_page: OpenPages) -> None:
    created, chair, amina = await voice_session(hub_server)
    mod = await open_with_storage(
        open_page, created["links"]["moderator"],
        {f"igf:{created['id']}:moderator:hello": {"name": "Co-chair"}}, name="moderator")
    panel = mod.locator("#mod-voice")
    await expect(panel).to_be_visible()
    await expect(mod.locator("#mod-voice-status")).to_have_text("Voice is on.")
    await expect(mod.locator("#mod-voice-desk")).to_contain_text("No audio desk is connected")
    await expect(mod.locator("#mod-voice-mute")).to_be_hidden()
    await give_floor(chair, amina)
    # The name is wrapped in bidi isolates (U+2068, U+2069) inside the sentence.
    await expect(mod.locator("#mod-voice-live")).to_have_text(
        "Live audio from \u2068Amina\u2069 (Remote)")
    await expect(mod.locator("#mod-voice-indicator")).to_have_text("Waiting for their microphone")
    await amina.ok({"type": "media", "want": "speak"})  # the speaker takes their grant
    await expect(mod.locator("#mod-voice-indicator")).to_have_attribute("data-state", "on_air")
    await mod.locator("#mod-voice-mute").click()
    await expect(mod.locator("#mod-voice-indicator")).to_have_attribute("data-state", "muted")
    await amina.wait_for(lambda c: any(e["kind"] == "voice" and e["data"].get("muted")
                                       for e in c.events))
    await mod.locator("#mod-voice-unmute").click()
    await expect(mod.locator("#mod-voice-indicator")).to_have_attribute("data-state", "on_air")
    await mod.locator("#mod-voice-cut").click()
    await expect(mod.locator("#mod-voice-indicator")).to_have_text("Cut")
    refused = await amina.request({"type": "media", "want": "speak"})
    assert refused["code"] == "conflict" and refused["reason"] == "cut"
    for client in (chair, amina):
        await client.close()


async def test_the_desk_cuts_after_confirming(hub_server: HubProcess,
                                             open_page: OpenPages) -> None:
    """The desk's cut button: disabled until this page holds the desk and someone is live;
    a confirmation first; then the hub cuts for everyone (the moderators read "Cut by the
    audio desk") and the page has silenced its loudspeakers at once."""
    created, chair, amina = await voice_session(hub_server)
    desk = await open_page(created["links"]["desk"], viewport=LAPTOP, name="desk-cut")
    await desk.context.grant_permissions(["microphone"], origin=hub_server.url)
    await expect(desk.locator(".conn")).to_have_attribute("data-state", "live")
    cut = desk.locator("#desk-cut")
    await expect(cut).to_be_disabled()  # nobody live, and the desk not started
    mod = await open_with_storage(
        open_page, created["links"]["moderator"],
        {f"igf:{created['id']}:moderator:hello": {"name": "Co-chair"}}, name="moderator-cut")
    await give_floor(chair, amina)
    await amina.ok({"type": "media", "want": "speak"})
    await expect(cut).to_be_disabled()  # not holding the desk yet
    await desk.locator("#desk-start").click()
    await expect(cut).to_be_enabled()
    await cut.click()
    confirm = desk.locator("#desk-cut-confirm")
    await expect(confirm).to_be_visible()
    await expect(desk.locator("#desk-cut-no")).to_be_focused()
    await desk.locator("#desk-cut-no").click()  # cancelled: nothing sent
    await expect(confirm).to_be_hidden()
    assert not any(e["kind"] == "voice" and e["data"]["cut"] for e in chair.events)
    await cut.click()
    await desk.locator("#desk-cut-yes").click()
    await expect(desk.locator("#desk-silence")).to_have_attribute("aria-pressed", "true")
    await chair.wait_for(lambda c: any(e["kind"] == "voice" and e["data"]["cut_by"] == "desk"
                                       for e in c.kinds("voice", "moderation")))
    await expect(mod.locator("#mod-voice-indicator")).to_have_text("Cut by the audio desk")
    await expect(cut).to_be_disabled()
    refused = await amina.request({"type": "media", "want": "speak"})
    assert refused["code"] == "conflict" and refused["reason"] == "cut"
    for client in (chair, amina):
        await client.close()


# ---------------------------------------------------------------- accessibility


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_voice_panels_are_accessible(lang: str, hub_server: HubProcess,
                                           open_page: OpenPages) -> None:
    locale = "ar-EG" if lang == "ar" else "en-GB"
    created, chair, amina = await voice_session(hub_server)
    found: dict[str, list[dict[str, Any]]] = {}

    async def check(page: Any, name: str) -> None:
        direction = "rtl" if lang == "ar" else "ltr"
        await expect(page.locator("html")).to_have_attribute("dir", direction)
        await screenshot(page, f"voice-{name}-{lang}")
        found[name] = await axe_violations(page, f"voice-{name}-{lang}")

    desk = await open_page(created["links"]["desk"], locale=locale, viewport=LAPTOP, name="desk")
    await desk.context.grant_permissions(["microphone"], origin=hub_server.url)
    await expect(desk.locator(".conn")).to_have_attribute("data-state", "live")
    await desk.locator("#desk-start").click()
    await expect(desk.locator("#desk-stop")).to_be_visible()
    await give_floor(chair, amina, seconds=90)
    await expect(desk.locator("#desk-live-meta")).not_to_be_empty()
    await check(desk, "desk")

    participant = await participant_as(open_page, hub_server, created, amina, "Amina",
                                       locale=locale, viewport=PHONE, name="participant")
    await expect(participant.locator("#speak")).to_be_visible()
    await expect(participant.locator("#listen")).to_be_visible()
    await check(participant, "participant")

    mod = await open_with_storage(
        open_page, created["links"]["moderator"],
        {f"igf:{created['id']}:moderator:hello": {"name": "Co-chair"}},
        locale=locale, viewport=LAPTOP, name="moderator")
    await expect(mod.locator("#mod-voice-live")).to_be_visible()
    await check(mod, "moderator")

    org = await open_with_storage(
        open_page, f"{hub_server.url}/",
        {"igf.organizer.links": {created["id"]: {"links": created["links"], "hubs": []}}},
        locale=locale, viewport=LAPTOP, name="organizer")
    await org.locator("#admin-key").fill(ADMIN_KEY)
    await org.locator("#admin-key").press("Enter")
    await expect(org.locator(f'li[data-session="{created["id"]}"] .link-row[data-role="desk"]'))\
        .to_have_count(1)
    await expect(org.locator("#voice-state")).to_have_attribute("data-state", "on")
    await check(org, "organizer")
    for client in (chair, amina):
        await client.close()
    serious = {name: v for name, v in found.items() if v}
    assert not serious, json.dumps(serious, indent=1)


# ---------------------------------------------------------------- a hub, a relay, a reset


async def test_a_hubs_page_speaks_for_its_room(hub_server: HubProcess,
                                               open_page: OpenPages) -> None:
    created, chair, amina = await voice_session(hub_server)
    status, minted, _ = await ahttp("POST", f"{hub_server.url}/api/sessions/{created['id']}/tokens",
                                    {"role": "hub", "name": "Nairobi hub"}, token=ADMIN_KEY)
    assert status == 201, minted
    nairobi = Client(hub_server.ws_url, created["id"], minted["token"])
    await nairobi.connect()
    page = await open_page(minted["link"], name="hub")
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#listen")).to_be_visible()
    await expect(page.locator("#speak")).to_be_hidden()
    await give_floor(chair, nairobi)
    await expect(page.locator("#speak")).to_be_visible()
    await expect(page.locator("#speak-consent")).to_contain_text("is recorded")
    for client in (chair, amina, nairobi):
        await client.close()


async def test_on_a_relay_of_a_meeting_without_voice_the_pages_say_so(
        tmp_path: Path, open_page: OpenPages) -> None:
    # A relay uses the meeting's voice (tests/web/test_web_relay_voice.py); this meeting has none.
    from tests.support.relay_rooms import open_room

    async with open_room(tmp_path) as room:
        page = await open_page(room.links["attendee"], name="relay-participant")
        await page.locator("#join-name").fill("Wanjiru")
        await page.locator("#join-name").press("Enter")
        await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
        await expect(page.locator("#listen-note")).to_have_text(
            "The meeting has no voice: follow it in text here.")
        await expect(page.locator("#listen-toggle")).to_be_hidden()
        await open_page.close()  # before the relay goes


def janus_of(hub: HubProcess) -> int:
    """The pid of the private Janus that `hub` started (its child process)."""
    assert hub.proc is not None
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            name = stat.read_text().split("(", 1)[1].split(")", 1)[0]
        except OSError:
            continue
        if int(fields[1]) == hub.proc.pid and name == "janus":
            return int(stat.parent.name)
    raise AssertionError("the hub runs no Janus")


async def test_a_media_reset_makes_the_listen_page_join_again(
        hub_server: HubProcess, open_page: OpenPages) -> None:
    import os
    import signal

    created, chair, amina = await voice_session(hub_server)
    page = await participant_as(open_page, hub_server, created, amina, "Amina")
    # While Janus is down the hub's /janus answers 503; after it, the old session is gone.
    open_page.allow("status of (40[34]|503)")
    button = page.locator("#listen-toggle")
    async with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/janus")):
        await button.click()
    # Janus killed: the hub starts it again (a new `run`); the page asks for a new grant and
    # opens a new Janus session, without a click.
    async with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/janus"),
                                   timeout=30000):
        os.kill(janus_of(hub_server), signal.SIGKILL)
    await expect(button).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#listen")).to_have_attribute(
        "data-state", _re("connecting|reconnecting|listening"))
    for client in (chair, amina):
        await client.close()
