"""Child processes the hub starts (a private Janus, a private Redis, its workers) die
with it, even when it is killed with `kill -9`."""

from __future__ import annotations

import ctypes
import os
import signal


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> None:
    """In a child before exec: Linux sends it `sig` when its parent dies, even by `kill -9`
    (PR_SET_PDEATHSIG); a parent already gone makes the child exit at once."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)
