"""Where the pages are: the one place that finds the web/ folder the hub serves.

A wheel carries the repository's top-level `web/` folder inside the package, as
`hub/web/` (pyproject.toml maps it), so a plain `pip install .` serves its pages from any
working directory. A source checkout (an editable install, a git worktree, tests run from
the tree) has no `hub/web/`: it serves its own `web/`, beside the `hub` package.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
INSTALLED = PACKAGE / "web"
CHECKOUT = PACKAGE.parent / "web"
# A file every web root has: an installed folder without it is not the pages.
MARKER = "organizer.html"


def web_root(configured: str | None = None) -> Path:
    """The pages' folder: `configured` (HUB_WEB_DIR, --web) when given, else the pages
    installed with the package, else the source checkout's web/ folder."""
    if configured:
        return Path(configured)
    if (INSTALLED / MARKER).is_file():
        return INSTALLED
    return CHECKOUT
