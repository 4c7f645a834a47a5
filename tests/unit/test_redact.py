"""URLs in logs carry no password."""

from __future__ import annotations

from hub.logs import redact


def test_a_password_in_a_url_is_never_logged() -> None:
    assert redact("redis://:s3cret@127.0.0.1:6380/0") == "redis://:***@127.0.0.1:6380/0"
    assert redact("postgresql://hub:pw@db.example:5432/hub") == (
        "postgresql://hub:***@db.example:5432/hub")
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
