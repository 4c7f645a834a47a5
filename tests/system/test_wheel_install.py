"""The hub as a user installs it: `pip wheel .`, the wheel installed into a fresh
virtualenv (not editable), `hub serve` started from an unrelated folder; the pages, their
scripts and styles, and a server-rendered event page come from the installed package.

A slower system test (`-m system`): it builds the wheel from a copy of the sources (no
`build/` leftovers in the tree) and installs it without its dependencies, which the new
virtualenv reads from the one running the tests.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.harness import ADMIN_KEY, free_port, http

pytestmark = [pytest.mark.system, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
# What the wheel is built from: the package, the pages and the project's metadata.
SOURCES = ("hub", "web", "pyproject.toml", "README.md")
NOT_SHIPPED = {"web/README.md"}  # notes for the developers of the pages
PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **PIP_ENV})


def source_files() -> list[str]:
    """Every file of hub/ and web/ the repository holds (no caches)."""
    out = []
    for top in ("hub", "web"):
        for path in sorted((ROOT / top).rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and "__pycache__" not in path.parts \
                    and path.suffix != ".pyc" and relative not in NOT_SHIPPED:
                out.append(relative)
    return out


def in_wheel(relative: str) -> str:
    """Where a source file lands in the wheel: web/ becomes hub/web/."""
    return f"hub/{relative}" if relative.startswith("web/") else relative


@dataclass
class Installed:
    venv: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def hub(self) -> Path:
        return self.venv / "bin" / "hub"


def copy_sources(into: Path) -> Path:
    """The files the package is built from, copied (no `build/` or caches)."""
    copy = into / "src"
    copy.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, copy / name)
    return copy


def fresh_venv(folder: Path) -> Path:
    """A new virtualenv without pip whose dependencies are the running virtualenv's, after
    its own site-packages (a plain path line, so the running one's .pth files, an editable
    hub among them, are not read)."""
    made = run([sys.executable, "-m", "venv", "--without-pip", str(folder)], cwd=folder.parent)
    assert made.returncode == 0, made.stderr
    python = folder / "bin" / "python"
    target = Path(run([str(python), "-c",
                       "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                      cwd=folder.parent).stdout.strip())
    (target / "hub-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip_into(python: Path, *args: str) -> None:
    put = run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
               *args], cwd=python.parent)
    assert put.returncode == 0, put.stdout + put.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The wheel built from a copy of the sources and installed into a new virtualenv."""
    tmp = tmp_path_factory.mktemp("wheel")
    copy = copy_sources(tmp)
    dist = tmp / "dist"
    built = run([sys.executable, "-m", "pip", "wheel", str(copy), "--no-deps", "-w", str(dist)],
                cwd=tmp)
    if built.returncode and "No matching distribution found for setuptools" in built.stdout \
            + built.stderr:
        pytest.skip("the build backend (setuptools) could not be fetched: offline")
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("igf_hub-*.whl")
    venv = tmp / "venv"
    pip_into(fresh_venv(venv), "--no-index", str(wheel))
    yield Installed(venv, wheel)


@dataclass
class Served:
    url: str
    log: Path


@pytest.fixture(scope="module")
def served(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`hub serve` of the installed package, started from a folder with no web/ in it."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    port = free_port()
    log = elsewhere / "hub.log"
    env = {**os.environ, "HUB_ADMIN_KEY": ADMIN_KEY, "HUB_MEDIA_URL": "off"}
    for name in ("HUB_WEB_DIR", "PYTHONPATH"):  # nothing points back at the checkout
        env.pop(name, None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(installed.hub), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data", str(elsewhere / "data")],
            cwd=elsewhere, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while b"hub ready on" not in log.read_bytes():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield Served(f"http://127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        proc.wait(15)


def test_the_wheel_holds_every_file_of_the_package_and_the_pages(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    missing = [name for name in source_files() if in_wheel(name) not in names]
    assert not missing, f"not in the wheel (pyproject.toml's packages and package-data): {missing}"
    assert "hub/web/participant.html" in names
    assert not any(name.startswith("web/") for name in names)


def test_the_installed_hub_finds_its_own_pages(installed: Installed, tmp_path: Path) -> None:
    found = run([str(installed.python), "-c",
                 "import hub.webroot as w; print(w.web_root()); print(w.__file__)"],
                cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    root, module = found.stdout.split()
    assert Path(module).is_relative_to(installed.venv), module
    assert Path(root) == Path(module).parent / "web"
    assert (Path(root) / "organizer.html").is_file()


@pytest.mark.parametrize("path", ["/", "/secretariat", "/s/any-session/participant",
                                  "/s/any-session/moderator", "/e/any-event/hub"])
def test_the_pages_are_served_from_the_package(served: Served, path: str) -> None:
    status, body, headers = http("GET", served.url + path)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/html")
    assert body.startswith("<!doctype html>")
    assert '<script type="module" src="/static/js/' in body
    assert "no pages at" not in served.log.read_text()


@pytest.mark.parametrize("asset", ["js/i18n.js", "js/i18n/ar.js", "js/ui.js", "js/participant.js",
                                   "css/hub.css", "css/site.css", "vendor/qrcode.js"])
def test_the_assets_are_the_repository_files(served: Served, asset: str) -> None:
    status, body, headers = http("GET", f"{served.url}/static/{asset}")
    assert status == 200, body
    assert body == (WEB / asset).read_text(encoding="utf-8")
    kind = "text/css" if asset.endswith(".css") else "javascript"
    assert kind in headers["Content-Type"]


def test_an_event_page_renders_from_the_installed_templates(served: Served) -> None:
    status, body, _ = http("POST", f"{served.url}/api/events", {
        "id": "wheel26", "title": "Installed Forum", "start": "2026-11-02",
        "end": "2026-11-03", "timezone": "UTC", "venue": "Hall", "languages": ["en", "fr"]},
        token=ADMIN_KEY)
    assert status == 201, body
    status, body, headers = http("GET", f"{served.url}/e/wheel26")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/html")
    assert "Installed Forum" in body
    assert "/static/css/site.css" in body
    # The offline bundle carries the installed site.css.
    with urllib.request.urlopen(f"{served.url}/api/events/wheel26/export.zip",
                                timeout=10) as resp:
        archive = io.BytesIO(resp.read())
    with zipfile.ZipFile(archive) as bundle:
        style = bundle.read("wheel26/site.css")
    assert style == (WEB / "css" / "site.css").read_bytes()



def test_an_editable_install_serves_its_own_checkout(tmp_path: Path) -> None:
    """Installed with `pip install -e`, the hub finds the checkout's web/ folder (there is
    no hub/web/ in a checkout), so a worktree serves its own pages."""
    copy = copy_sources(tmp_path)
    python = fresh_venv(tmp_path / "venv")
    pip_into(python, "-e", str(copy))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = run([str(python), "-c", "import hub.webroot as w; print(w.web_root())"],
                cwd=elsewhere)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == copy / "web"
