"""Processes and namespaces a media test leaves behind, and waiting for none."""

from __future__ import annotations

import time
from pathlib import Path


def wait_no_leftovers(tag: str, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (found := leftovers(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def leftovers(tag: str) -> list[str]:
    """Command lines of running processes that belong to the scenario tagged `tag`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"hub-media-{tag}-" in cmdline:
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found
