"""The suite's fixtures come from tests/support (see its __init__ for the four ways of
running a hub); tests import helpers from there, never from another test file."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.support.inprocess",
    "tests.support.redis_server",
    "tests.support.postgres_server",
    "tests.support.browser",
    "tests.support.deployment",
]

KINDS = ("unit", "server", "system", "web")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its kind, the folder it sits in (`-m unit`, `-m "not web"`)."""
    for item in items:
        kind = Path(str(item.fspath)).parent.name
        if kind in KINDS:
            item.add_marker(getattr(pytest.mark, kind))
