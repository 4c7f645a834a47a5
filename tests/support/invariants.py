"""Shared checkers for the fuzz and chaos suites (tests/server/test_fuzz.py,
tests/system/test_chaos.py).

- the wire vocabulary a client may ever see: error codes, frame types, close codes;
- `Stream`: one connection's channel positions, asserting gap-free, duplicate-free offsets;
- `Fold`: the state a client builds from its welcome snapshot and the events it received,
  to compare with a fresh client's snapshot and with the transcript export;
- `CheckedClient`: the harness `Client`, keeping every reader task it ever started (the
  harness asserts offsets inside its reader task, and `drop`/`close` swallow what that
  task raised), with a `reconnect` that survives an instance that is gone;
- `http_error_problems`: what is wrong with an HTTP answer (never a 500; a 4xx is JSON
  `{"error": {"code", "message"}}` with a defined code and the matching status);
- process and metric probes (RSS from /proc, Prometheus text).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import websockets

from tests.support.harness import Client

# docs/protocol.md §10: the only error codes a client may ever see.
ERROR_CODES = frozenset({
    "bad_request", "unauthorized", "forbidden", "not_found", "conflict", "rate_limited",
    "too_large", "unavailable",
})
HTTP_STATUS = {
    "bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
    "conflict": 409, "too_large": 413, "rate_limited": 429, "unavailable": 503,
}
# Frames a server sends after `welcome` (docs/protocol.md §7).
SERVER_TYPES = frozenset({"event", "ack", "error", "pong", "presence", "bye"})
# Deliberate closes come after a `bye` (§7.5, §11): restart, abuse, slow/resync/reset,
# no hello, too many joins from one address (4029), and the 45xx "do not reconnect" family.
CLOSE_AFTER_BYE = frozenset({1008, 1012, 4000, 4001, 4002, 4029, 4501, 4503, 4504})
# Closes made by the websocket library itself, without a `bye`: a frame over max_frame
# (1009), and a text frame that is not UTF-8 (1007, RFC 6455 §8.1; not in docs §11).
CLOSE_WITHOUT_BYE = frozenset({1007, 1009})
# Channels each role reads (docs/protocol.md §1).
ROLE_CHANNELS = {
    "organizer": {"public", "moderation"},
    "moderator": {"public", "moderation"},
    "captioner": {"public"},
    "participant": {"public", "private"},
    "hub": {"public", "private"},
    "screen": {"public"},
    "desk": {"public"},
}
STAFF = frozenset({"organizer", "moderator"})
# Keys that only the moderation view carries; a non-staff reader never sees them.
MODERATION_ONLY_KEYS = ("author_id",)
# Snapshot keys only staff get.
STAFF_SNAPSHOT_KEYS = ("hubs", "flags", "floor_settings")


class Stream:
    """One client's positions per channel. `event` asserts the next offset is exactly the
    last + 1 under the same epoch: no gap, no duplicate, no other epoch."""

    def __init__(self) -> None:
        self.positions: dict[str, dict[str, Any]] = {}
        self.received = 0
        # Epochs whose frames a recovered resume may replay under a newer epoch (a known
        # bug, pinned in tests/server/test_fuzz.py); still gap-checked, and counted.

    def welcome(self, frame: dict[str, Any], role: str,
                claimed: list[dict[str, Any]] | None = None) -> bool:
        """Take the positions of a `welcome`; True when it was a recovered resume, which
        must start where the client was (or, for `claimed`, where one of the `resume`s
        the client sent said it was)."""
        channels = frame["channels"]
        assert set(channels) == ROLE_CHANNELS[role], (role, channels)
        recovered = {pos["recovered"] for pos in channels.values()}
        assert len(recovered) == 1, f"recovery is all-or-nothing: {channels}"
        if recovered == {True}:
            given = {name: (pos["epoch"], pos["offset"]) for name, pos in channels.items()}
            if claimed is None:
                claimed = [self.positions]
            assert any(
                all(isinstance(c.get(name), dict)
                    and (c[name].get("epoch"), c[name].get("offset")) == at
                    for name, at in given.items())
                for c in claimed), ("a recovered resume starts where the client was",
                                    channels, claimed)
        self.positions = {name: {"epoch": pos["epoch"], "offset": pos["offset"]}
                          for name, pos in channels.items()}
        return recovered == {True}

    def event(self, frame: dict[str, Any]) -> None:
        channel = frame["channel"]
        assert channel in self.positions, f"event on a channel not in welcome: {frame}"
        pos = self.positions[channel]
        assert frame["epoch"] == pos["epoch"], ("event of another epoch", frame, pos)
        assert frame["offset"] == pos["offset"] + 1, (
            "gap" if frame["offset"] > pos["offset"] + 1 else "duplicate", frame, pos)
        pos["offset"] = frame["offset"]
        self.received += 1


def check_server_frame(frame: Any) -> list[str]:
    """Shape problems of one server frame after `welcome` (empty: fine)."""
    if not isinstance(frame, dict) or frame.get("type") not in SERVER_TYPES:
        return [f"unexpected frame {str(frame)[:200]}"]
    problems = []
    kind = frame["type"]
    if kind == "error":
        if frame.get("code") not in ERROR_CODES:
            problems.append(f"error code outside the defined set: {frame}")
        if not isinstance(frame.get("message"), str) or not frame["message"]:
            problems.append(f"error without a message: {frame}")
    elif kind == "ack":
        if frame.get("ok") is not True or not isinstance(frame.get("ref"), str):
            problems.append(f"ack without ok:true and a ref: {frame}")
    elif kind == "bye":
        if not isinstance(frame.get("code"), int) or not isinstance(frame.get("reconnect"), bool):
            problems.append(f"bye without code/reconnect: {frame}")
    elif kind == "event":
        for key in ("channel", "epoch", "offset", "kind", "data"):
            if key not in frame:
                problems.append(f"event without {key}: {frame}")
    return problems


def leaks(raw: str, secrets: Iterable[str]) -> list[str]:
    """The secret markers that appear in a frame's text."""
    return [s for s in secrets if s and s in raw]


def read_leak_problems(frame: dict[str, Any], role: str, own_name: str | None) -> list[str]:
    """A non-staff reader's frame that shows what its role may not see (docs §1, §8.1).
    `own_name`: the name the reader's items were asked under (None: not checked)."""
    if role in STAFF:
        return []
    problems = []
    if frame.get("type") == "event":
        channel, data = frame.get("channel"), frame.get("data") or {}
        if channel not in ROLE_CHANNELS[role]:
            problems.append(f"a {role} got an event of channel {channel}: {frame}")
        if frame.get("kind") == "item":
            if any(key in data for key in MODERATION_ONLY_KEYS) or "action" in data:
                problems.append(f"a {role} got the moderation view of an item: {frame}")
            if channel == "public" and data.get("status") == "pending":
                problems.append(f"a pending item on public: {frame}")
            if channel == "private" and own_name is not None and data.get("author") != own_name:
                problems.append(f"someone else's item on a private channel: {frame}")
        if frame.get("kind") in ("hub_status", "flag", "floor_settings"):
            problems.append(f"a {role} got a moderation event: {frame}")
    return problems


def snapshot_leak_problems(welcome: dict[str, Any], role: str, check_own: bool = True
                           ) -> list[str]:
    """What a non-staff fresh snapshot must not hold: others' pending items, moderation
    views, staff-only keys, profiles. `check_own`: the own view of an item (the only one
    with `anonymous`) carries this identity's name (not after a rename: an item keeps the
    name it was asked under)."""
    if role in STAFF:
        return []
    problems = []
    snap = welcome.get("snapshot", {})
    own = welcome["you"]["name"]
    for key in STAFF_SNAPSHOT_KEYS:
        if key in snap:
            problems.append(f"a {role} snapshot has {key!r}")
    for item in snap.get("items", []):
        if any(key in item for key in MODERATION_ONLY_KEYS):
            problems.append(f"moderation view of an item in a {role} snapshot: {item}")
        mine = "anonymous" in item  # only the own view carries `anonymous`
        if check_own and mine and item.get("author") != own:
            problems.append(f"someone else's own view in a {role} snapshot: {item}")
        if item.get("status") == "pending" and not mine:
            problems.append(f"someone else's pending item in a {role} snapshot: {item}")
    if "profile" in json.dumps(snap):
        problems.append(f"a profile in a {role} snapshot")
    return problems


# -- folding what a client received ---------------------------------------------------


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    """An item without the fields that only moderation *events* carry."""
    return {k: v for k, v in item.items() if k not in ("action", "by")}


def _caption(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "ts"}


class Fold:
    """The state a client has: its welcome snapshot with every event it received applied."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.session: dict[str, Any] = {}
        self.views: dict[str, dict[str, dict[str, Any]]] = {}  # item id -> channel -> data
        self.order: list[str] = []
        self.floor: dict[str, Any] = {}
        self.finals: dict[str, list[dict[str, Any]]] = {}
        self.partial: dict[str, dict[str, Any]] = {}
        self.votes: set[str] = set()
        self.complete = True  # False once a snapshot had to stand in for missed events

    def welcome(self, frame: dict[str, Any]) -> None:
        self.session = frame["session"]
        if all(pos["recovered"] for pos in frame["channels"].values()):
            return
        snap = frame["snapshot"]
        if self.views or any(snap["captions"].values()):
            self.complete = False  # history before this snapshot is only its last lines
        self.views = {}
        for item in snap["items"]:
            view = ("moderation" if self.role in STAFF
                    else "private" if "anonymous" in item else "public")
            self.views[item["id"]] = {view: item}
        self.order = list(snap["order"])
        self.floor = dict(snap["floor"])
        self.finals = {lang: [_caption(c) for c in lines]
                       for lang, lines in snap["captions"].items()}
        self.partial = {lang: _caption(c) for lang, c in snap["partial"].items()}
        self.votes = set(snap.get("votes", []))

    def event(self, frame: dict[str, Any]) -> None:
        kind, data, channel = frame["kind"], frame["data"], frame["channel"]
        if kind == "item":
            self.views.setdefault(data["id"], {})[channel] = _strip(data)
        elif kind == "order" and channel in ("public", "moderation"):
            self.order = list(data["items"])
        elif kind == "floor":
            self.floor = dict(data)
        elif kind == "caption":
            if data["final"]:
                self.finals.setdefault(data["lang"], []).append(_caption(data))
                self.partial.pop(data["lang"], None)
            else:
                self.partial[data["lang"]] = _caption(data)
        elif kind == "session":
            self.session = dict(data)
        elif kind == "vote":
            (self.votes.add if data["voted"] else self.votes.discard)(data["item"])

    def items(self) -> list[dict[str, Any]]:
        """Each item in the view this role's snapshot would show, oldest first."""
        out = []
        for views in self.views.values():
            for channel in ("moderation", "private", "public"):
                if channel in views:
                    out.append(views[channel])
                    break
        return sorted(out, key=lambda item: int(item["id"][1:]))

    def snapshot_view(self) -> dict[str, Any]:
        """What can be compared with a fresh welcome of the same identity."""
        view = {
            "session": self.session,
            "items": self.items(),
            "order": self.order,
            "floor": self.floor,
            "captions": {lang: lines[-50:] for lang, lines in self.finals.items() if lines},
            "partial": self.partial,
        }
        if self.role in ("participant", "hub"):
            view["votes"] = sorted(self.votes)
        return view


def fresh_view(welcome: dict[str, Any]) -> dict[str, Any]:
    """A fresh welcome in the shape of `Fold.snapshot_view`."""
    fold = Fold(welcome["you"]["role"])
    fold.welcome(welcome)
    fold.complete = True
    return fold.snapshot_view()


def diff(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON values differ (short, for assertion messages)."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = []
        for key in sorted(set(left) | set(right), key=str):
            if key not in left or key not in right:
                out.append(f"{path}.{key}: only in {'right' if key not in left else 'left'}")
            else:
                out += diff(left[key], right[key], f"{path}.{key}")
        return out
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for n, (a, b) in enumerate(zip(left, right, strict=True))
                for d in diff(a, b, f"{path}[{n}]")]
    return [] if left == right else [f"{path}: {str(left)[:160]} != {str(right)[:160]}"]


# -- the harness client, checked ------------------------------------------------------


class CheckedClient(Client):
    """A harness Client that keeps every reader task, every welcome, and where each
    welcome stood in its event list, so that a run can be checked and folded afterwards."""

    def __init__(self, ws_base: str, session: str, token: str, **hello: Any) -> None:
        super().__init__(ws_base, session, token, **hello)
        self.readers: list[asyncio.Task[None]] = []
        self.welcomes: list[tuple[int, dict[str, Any]]] = []  # (len(events) then, welcome)
        self.up = asyncio.Event()
        self.connects = 0
        self.drops = 0

    @property
    def role(self) -> str:
        return str(self.welcomes[0][1]["you"]["role"])

    @property
    def identity(self) -> str:
        return str(self.welcomes[0][1]["you"]["id"])

    async def connect(self, resume: bool = False, **extra: Any) -> dict[str, Any]:
        welcome = await super().connect(resume=resume, **extra)
        assert self.reader is not None
        self.readers.append(self.reader)
        self.welcomes.append((len(self.events), welcome))
        self.connects += 1
        self.up.set()
        self.reader.add_done_callback(lambda _task: self.up.clear())
        return welcome

    async def reconnect(self, urls: Callable[[], list[str]], *, deadline: float = 30.0
                        ) -> dict[str, Any]:
        """Resume on the first instance of `urls()` that answers (retried until `deadline`).
        A resume under an epoch that did not change must be exact, even while appends race
        with its history read (tests/system/test_chaos.py pins that)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while True:
            for base in urls():
                self.url = f"{base}/ws/{self.url.rsplit('/ws/', 1)[1]}"
                claimed = {k: dict(v) for k, v in self.positions.items()}
                try:
                    welcome = await self.connect(resume=True)
                except (OSError, websockets.WebSocketException, RuntimeError, TimeoutError):
                    self.closed.set()  # connect() cleared it; nothing is open
                    continue
                channels = welcome["channels"]
                raced = claimed and not any(p["recovered"] for p in channels.values()) and all(
                    claimed.get(n, {}).get("epoch") == p["epoch"] for n, p in channels.items())
                assert not raced, ("resume not recovered under an unchanged epoch", welcome)
                return welcome
            if loop.time() > end:
                raise TimeoutError(f"no instance of {urls()} took the client back")
            await asyncio.sleep(0.1)

    async def drop(self) -> None:
        self.drops += 1
        await super().drop()

    def reader_failures(self) -> list[BaseException]:
        """What any of this client's reader tasks raised (an assertion on offsets, say)."""
        out = []
        for task in self.readers:
            if task.done() and not task.cancelled() and task.exception() is not None:
                out.append(task.exception())  # type: ignore[arg-type]
        return out

    def assert_healthy(self) -> None:
        failures = self.reader_failures()
        assert not failures, f"{self.url}: reader task failed: {failures!r}"

    def fold(self) -> Fold:
        fold = Fold(self.role)
        marks = list(self.welcomes)
        for n, event in enumerate(self.events):
            while marks and marks[0][0] == n:
                fold.welcome(marks.pop(0)[1])
            fold.event(event)
        for _, welcome in marks:
            fold.welcome(welcome)
        return fold

    def all_recovered(self) -> bool:
        """True when every reconnect of this client was an exact resume."""
        return all(all(p["recovered"] for p in w["channels"].values())
                   for _, w in self.welcomes[1:])


async def request_until_answered(
    client: CheckedClient, frame: dict[str, Any], *, retry_codes: Iterable[str] = ("unavailable",),
    backoff: float = 0.1, timeout: float = 60.0, stats: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Send `frame` until it is answered with an ack or a final error; a dropped connection
    (the answer never came) or a retryable refusal sends the same frame again, once the
    client is back. `stats` counts `in_flight` (answer lost) and each retried code."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    retry = frozenset(retry_codes)
    while True:
        if loop.time() > end:
            raise TimeoutError(f"{frame} was never answered")
        await asyncio.wait_for(client.up.wait(), max(0.1, end - loop.time()))
        try:
            reply = await client.request(frame, timeout=15)
        except (ConnectionError, websockets.ConnectionClosed, TimeoutError):
            if stats is not None:
                stats["in_flight"] = stats.get("in_flight", 0) + 1
            await asyncio.sleep(0.01)
            continue
        if reply["type"] == "error" and reply["code"] in retry:
            if stats is not None:
                stats[reply["code"]] = stats.get(reply["code"], 0) + 1
            await asyncio.sleep(backoff)
            continue
        return reply


# -- HTTP -------------------------------------------------------------------------------


def http_error_problems(status: int, headers: dict[str, str], body: bytes) -> list[str]:
    """Never a 500; a refusal is JSON `{"error": {"code", "message"}}` with a defined code
    whose status matches (docs/protocol.md §10, §14)."""
    if status >= 500 and status != 503:
        return [f"HTTP {status}: {body[:300]!r}"]
    if status < 400:
        return []
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if not ctype.startswith("application/json"):
        return [f"HTTP {status} answered {ctype!r}, not JSON: {body[:200]!r}"]
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return [f"HTTP {status} without an error object: {body[:200]!r}"]
    problems = []
    if error.get("code") not in ERROR_CODES:
        problems.append(f"HTTP {status} with an undefined code: {error}")
    elif HTTP_STATUS[error["code"]] != status:
        problems.append(f"code {error['code']} came with status {status}")
    if not isinstance(error.get("message"), str) or not error["message"]:
        problems.append(f"HTTP {status} without a message: {error}")
    return problems


# -- processes and metrics ------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def metric(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    want = labels or {}
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$", line)
        if not match or match.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(got.get(k) == v for k, v in want.items()):
            total += float(match.group(3))
    return total
