"""The data folder holds the admin key, the token secret and every session: owner only.

`hub serve` and `hub relay` call `secure_data_dir` before anything is opened: the folder
(made if missing) and every folder in it become 0700, every file 0600, and the process
umask becomes 0077, so what is written afterwards (SQLite's database, -wal and -shm,
archive files, the relay's links file) is the owner's only. Looser modes found at start
are tightened and each one is reported, so the operator learns a copy may have leaked.
"""

from __future__ import annotations

import os
import stat

FOLDER_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def secure_data_dir(path: str) -> list[str]:
    """Make `path` and what it holds owner-only; the changes made, one line each.

    Symbolic links are left alone (their targets are not the hub's to change)."""
    os.umask(UMASK)
    os.makedirs(path, mode=FOLDER_MODE, exist_ok=True)
    changed: list[str] = []

    def tighten(target: str, wanted: int) -> None:
        info = os.lstat(target)
        if stat.S_ISLNK(info.st_mode):
            return
        mode = stat.S_IMODE(info.st_mode)
        if mode & ~wanted:  # any bit beyond the owner's
            os.chmod(target, mode & wanted)
            changed.append(f"{target}: mode {mode:04o} -> {mode & wanted:04o}")

    tighten(path, FOLDER_MODE)
    for root, folders, files in os.walk(path):
        for name in folders:
            tighten(os.path.join(root, name), FOLDER_MODE)
        for name in files:
            tighten(os.path.join(root, name), FILE_MODE)
    return changed


def create_private(path: str) -> None:
    """Create `path` empty with mode 0600 if it does not exist (whatever the umask)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
