"""The pages fetch their translations on demand, in a real browser: English (the fallback)
and the page's own language only, never all six; another one when the reader picks it,
the choice kept across a reload."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio

from tests.support.browser import OpenPages
from tests.support.harness import HubProcess, create_session

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
# Without Playwright (not in the base test extra) these tests are skipped, not broken.
expect = pytest.importorskip("playwright.async_api").expect

FILES = "/static/js/i18n/"
ROLES = ["participant", "moderator", "captioner", "hub", "screen", "desk", "organizer",
         "secretariat"]
LANGUAGES = [("en", "en", "ltr"), ("fr", "fr", "ltr"), ("es", "es", "ltr"),
             ("ar", "ar", "rtl"), ("zh", "zh-Hans", "ltr"), ("ru", "ru", "ltr")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def links(hub_server: HubProcess) -> dict[str, str]:
    """Every page: a live session's role pages, the organizer's and the Secretariat's."""
    created = await create_session(hub_server.url, "Translations on demand", state="live")
    pages = {role: str(link) for role, link in created["links"].items()}
    pages["organizer"] = f"{hub_server.url}/"
    pages["secretariat"] = f"{hub_server.url}/secretariat"
    return pages


async def open_counting(open_page: OpenPages, url: str, locale: str) -> tuple[Any, list[str]]:
    """The page at `url` once its script has set it up, and the translation files it got."""
    page = await open_page(locale=locale, name=f"i18n-{locale}")
    fetched: list[str] = []

    def on_response(response: Any) -> None:
        if FILES in response.url:
            assert response.status == 200, response.url
            fetched.append(response.url.split(FILES, 1)[1])

    page.on("response", on_response)
    await page.goto(url)
    await expect(page).not_to_have_title("…")  # bootPage ran: the texts are applied
    return page, fetched


@pytest.mark.parametrize("role", ROLES)
async def test_a_page_fetches_english_and_its_own_language_only(
        links: dict[str, str], open_page: OpenPages, role: str) -> None:
    page, fetched = await open_counting(open_page, links[role], "ar-EG")
    html = page.locator("html")
    await expect(html).to_have_attribute("lang", "ar")
    await expect(html).to_have_attribute("dir", "rtl")
    assert sorted(fetched) == ["ar.js", "en.js"]
    english, fetched = await open_counting(open_page, links[role], "en-GB")
    await expect(english.locator("html")).to_have_attribute("lang", "en")
    assert fetched == ["en.js"]
    assert await page.title() != await english.title()


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_reads_in_every_language(links: dict[str, str], open_page: OpenPages,
                                                  role: str) -> None:
    """Picked in turn, each language's texts reach every marked element (an untranslated
    one would show its key), with the language's tag and direction on <html>."""
    page, fetched = await open_counting(open_page, links[role], "en-US")
    html = page.locator("html")
    for code, tag, direction in LANGUAGES:
        await page.locator("#ui-language").select_option(code)
        await expect(html).to_have_attribute("lang", tag)
        await expect(html).to_have_attribute("dir", direction)
        raw = await page.evaluate(
            "[...document.querySelectorAll('[data-i18n]')]"
            ".filter((n) => n.textContent === n.dataset.i18n).map((n) => n.dataset.i18n)")
        assert raw == [], (role, code, raw)
    assert sorted(fetched) == sorted(f"{code}.js" for code, _, _ in LANGUAGES)


async def test_picking_a_language_fetches_it_then_and_the_choice_stays(
        links: dict[str, str], open_page: OpenPages) -> None:
    page, fetched = await open_counting(open_page, links["participant"], "en-US")
    html = page.locator("html")
    skip = page.locator(".skip-link")
    await expect(skip).to_have_text("Skip to main content")
    assert fetched == ["en.js"]
    await page.locator("#ui-language").select_option("fr")
    await expect(html).to_have_attribute("lang", "fr")
    await expect(skip).to_have_text("Aller au contenu principal")
    assert fetched == ["en.js", "fr.js"]
    # Back to English (already here: nothing fetched), then Chinese, then a reload.
    await page.locator("#ui-language").select_option("en")
    await expect(html).to_have_attribute("lang", "en")
    await page.locator("#ui-language").select_option("zh")
    await expect(html).to_have_attribute("lang", "zh-Hans")
    assert fetched == ["en.js", "fr.js", "zh.js"]
    fetched.clear()
    await page.reload()
    await expect(html).to_have_attribute("lang", "zh-Hans")
    await expect(page.locator("#ui-language")).to_have_value("zh")
    assert sorted(fetched) == ["en.js", "zh.js"]


async def test_the_last_language_picked_wins(links: dict[str, str],
                                             open_page: OpenPages) -> None:
    """Two switches in flight: the one asked last is the page's language, whichever file
    arrives first."""
    page, _ = await open_counting(open_page, links["participant"], "en-US")
    final = await page.evaluate("""async () => {
      const { setLanguage, currentLanguage } = await import('/static/js/i18n.js');
      const first = setLanguage('ru', { persist: false });
      const second = setLanguage('es', { persist: false });
      await Promise.all([first, second]);
      return [currentLanguage(), document.documentElement.lang];
    }""")
    assert final == ["es", "es"]
    await expect(page.locator(".skip-link")).to_have_text("Ir al contenido principal")
