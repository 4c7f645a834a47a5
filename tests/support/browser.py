"""Real browsers for the web pages: a hub process, Debian's Chromium driven by Playwright.

Register with `-p tests.support.browser` (or in `tests/conftest.py`'s `pytest_plugins`).
Tests using these fixtures run in the module's event loop:
`pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.harness import ADMIN_KEY, Client, HubProcess, create_session

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_REPORTS = ARTIFACTS / "axe"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 860}
# Console messages that are not the page's fault (Chromium's own advice to developers).
BENIGN_CONSOLE = re.compile(r"Password forms should have|DevTools|Download the React")


def _chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A real `hub serve` process on loopback with the test admin key."""
    # Figures every second, not every five minutes: pages show them without a long wait.
    hub = HubProcess(tmp_path_factory.mktemp("hub") / "data",
                     env={"HUB_FIGURES_EVERY": "1"}).start()
    try:
        yield hub
    finally:
        hub.terminate()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """One Chromium for the whole test module (contexts keep tests apart); a module's
    `CHROMIUM_EXTRA_ARGS` adds switches (fake media devices for the voice pages)."""
    if not _chromium_available():
        pytest.skip(f"no Chromium at {CHROMIUM} (set HUB_TEST_CHROMIUM)")
    from playwright.async_api import async_playwright

    extra = list(getattr(request.module, "CHROMIUM_EXTRA_ARGS", ()))
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM,
                                            args=[*CHROMIUM_ARGS, *extra])
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class OpenPages:
    """Opens pages in fresh browser contexts and records what went wrong in them."""

    browser: Any
    contexts: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Console messages matching `pattern` are expected (a test that stops the server)."""
        self.allowed.append(re.compile(pattern))

    async def __call__(self, url: str | None = None, *, locale: str = "en-US",
                       viewport: dict[str, int] | None = None, name: str = "page") -> Any:
        context = await self.browser.new_context(
            locale=locale, viewport=viewport or LAPTOP, reduced_motion="reduce",
            service_workers="block",
        )
        self.contexts.append(context)
        page = await context.new_page()
        self.watch(page, name)
        if url:
            await page.goto(url)
        return page

    def watch(self, page: Any, name: str) -> None:
        def on_console(msg: Any) -> None:
            expected = any(p.search(msg.text) for p in self.allowed)
            if msg.type in ("error", "warning") and not BENIGN_CONSOLE.search(msg.text) \
                    and not expected:
                # A CSP violation, a failed module import or an uncaught promise lands here.
                self.problems.append(f"{name}: console {msg.type}: {msg.text}")

        def on_error(exc: Any) -> None:
            self.problems.append(f"{name}: page error: {exc}")

        async def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{name}: {dialog.type}: {dialog.message}")
            await dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", on_error)
        page.on("dialog", on_dialog)

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
        self.contexts.clear()


@pytest_asyncio.fixture(loop_scope="module")
async def open_page(browser: Any) -> AsyncIterator[OpenPages]:
    """`await open_page(url, locale=..., viewport=..., name=...)` -> a Playwright page.

    At teardown it fails the test if any page logged an error (CSP violations included),
    threw, or opened a dialog (an `alert` from injected markup)."""
    pages = OpenPages(browser)
    try:
        yield pages
    finally:
        await pages.close()
    assert not pages.dialogs, f"pages opened dialogs: {pages.dialogs}"
    assert not pages.problems, "pages reported problems:\n" + "\n".join(pages.problems)


@pytest_asyncio.fixture(loop_scope="module")
async def new_session(hub_server: HubProcess) -> Callable[..., Awaitable[dict[str, Any]]]:
    """`await new_session(title, **body)` -> the `POST /api/sessions` answer (live by default)."""

    async def make(title: str = "Workshop", **extra: Any) -> dict[str, Any]:
        extra.setdefault("state", "live")
        return await create_session(hub_server.url, title, **extra)

    return make


@pytest_asyncio.fixture(loop_scope="module")
async def protocol_client(
    hub_server: HubProcess,
) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """`await protocol_client(session_id, token, **hello)` -> a joined protocol `Client`."""
    clients: list[Client] = []

    async def make(session_id: str, token: str, **hello: Any) -> Client:
        client = Client(hub_server.ws_url, session_id, token, **hello)
        await client.connect()
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


async def open_with_storage(
    open_page: OpenPages, url: str, storage: dict[str, Any], **kw: Any
) -> Any:
    """A page whose localStorage holds `storage` (where not set yet) before its scripts run."""
    page = await open_page(**kw)
    await page.context.add_init_script(
        "(() => { const items = " + json.dumps(storage) + ";"
        " for (const [k, v] of Object.entries(items)) {"
        " if (localStorage.getItem(k) === null) {"
        " localStorage.setItem(k, JSON.stringify(v)); } } })();")
    await page.goto(url)
    return page


async def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot in test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


async def axe_violations(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe-core on the page; keep the report; return serious and critical violations."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    report = results.response
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    (AXE_REPORTS / f"{name}.json").write_text(json.dumps(report.get("violations", []), indent=1))
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n.get("target") for n in v.get("nodes", [])][:5]}
        for v in report.get("violations", [])
        if v.get("impact") in ("serious", "critical")
    ]


__all__ = [
    "ADMIN_KEY",
    "LAPTOP",
    "PHONE",
    "OpenPages",
    "axe_violations",
    "open_with_storage",
    "screenshot",
]
