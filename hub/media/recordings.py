"""Recordings of remote interventions: Janus's per-participant `.mjr` files turned into
Ogg Opus by `janus-pp-rec`, kept owner-only under `<data>/recordings/<session>/<n>.opus`.

Janus writes one `.mjr` per speaker's join into the session's folder of its recording
folder (`<data>/janus/recordings/<session>/` for a private Janus), named with the
participant id the hub chose, which says which turn it is. When an intervention has ended,
any instance that sees the files converts them (into a temporary file, then renamed:
several instances doing it at once write the same result). Several joins in one turn (a
page that reconnected) are converted each and the longest kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from pathlib import Path

from ..domain.session import valid_session_id

log = logging.getLogger(__name__)


def converted_dir(data: str | Path, session: str) -> Path:
    if not valid_session_id(session):
        raise ValueError(f"not a session id: {session!r}")
    return Path(data) / "recordings" / session


def audio_path(data: str | Path, session: str, n: int) -> Path:
    """Where intervention `n`'s Ogg Opus recording is (it may not exist)."""
    return converted_dir(data, session) / f"{int(n)}.opus"


def mjr_files(raw: Path | None, session: str, participant: int) -> list[Path]:
    """Janus's recordings of one participant id in a session's folder."""
    if raw is None or not valid_session_id(session):
        return []
    folder = raw / session
    if not folder.is_dir():
        return []
    # Janus 1.1 names them audiobridge-<room>-user-<participant id>-<start>-audio.mjr.
    return sorted(p for p in folder.glob(f"*-user-{participant}-*.mjr") if p.is_file())


async def convert(sources: list[Path], target: Path) -> bool:
    """Turn `.mjr` files into one Ogg Opus at `target` (the longest one); False when
    `janus-pp-rec` is missing or fails."""
    tool = shutil.which("janus-pp-rec")
    if tool is None or not sources:
        return False
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    made: list[Path] = []
    for index, source in enumerate(sources):
        out = target.with_name(f".{target.stem}.{os.getpid()}.{index}.opus")
        proc = await asyncio.create_subprocess_exec(
            tool, str(source), str(out), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        if await proc.wait() != 0:
            log.warning("janus-pp-rec could not convert a recording of %s", target.parent.name)
        made.append(out)
    return _keep_longest(made, target)


def _keep_longest(made: list[Path], target: Path) -> bool:
    """The largest converted file becomes `target` (0600); the others are removed."""
    done = sorted((p for p in made if p.is_file()), key=lambda p: p.stat().st_size)
    for extra in done[:-1]:
        extra.unlink(missing_ok=True)
    if not done:
        return False
    os.chmod(done[-1], 0o600)
    os.replace(done[-1], target)
    return True


def delete_session(data: str | Path, raw: Path | None, session: str) -> None:
    """Every recording of a session (converted, and Janus's own when reachable)."""
    if not valid_session_id(session):
        return
    shutil.rmtree(converted_dir(data, session), ignore_errors=True)
    if raw is not None:
        shutil.rmtree(raw / session, ignore_errors=True)


def delete_interventions(data: str | Path, raw: Path | None, session: str,
                         found: list[tuple[int, int]]) -> None:
    """The recordings of some interventions, `(n, participant id)` each (an erasure)."""
    for n, participant in found:
        with contextlib.suppress(ValueError):
            audio_path(data, session, n).unlink(missing_ok=True)
        for source in mjr_files(raw, session, participant):
            source.unlink(missing_ok=True)
