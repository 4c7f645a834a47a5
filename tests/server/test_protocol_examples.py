"""Every JSON example of docs/protocol.md, checked against the hub.

How the examples are found. Every fenced block of the document is read:

- a block tagged `json` holds JSON messages;
- an untagged block holds JSON messages when one of its lines starts with a marker below
  (an SSE stream, an HTTP exchange, a `→`/`←` transcript); otherwise it is other output
  (a token, the relay's console, the transcript formats in text) and holds no JSON, which
  the test checks: no line of it starts with `{`;
- blocks tagged otherwise (`sh`, `text`) are shell or file contents, not messages.

Inside a message block, a line that starts with a marker starts a message:

- `→ `: a client frame (client → server);
- `← ` or `data: `: a server frame (server → client; `data:` in an SSE stream);
- `GET `, `POST `, `PATCH `, `PUT ` or `DELETE ` and a path: an HTTP request; its JSON
  body, if any, follows on the same line or the next ones (header lines `Name: value` are
  skipped);
- three digits (`201`, `400 `...): an HTTP response with that status; its body follows on
  the same line or the next ones (a response pairs with the last request before it in the
  same section, else with the route its section heading names);
- `json: `, `txt: `, `vtt: ` or `srt: `: a response body in that format (only `json:` is
  JSON).

Other lines continue the message they follow; a block with no marker at all is one or more
bare JSON values one after another. A line in parentheses, and parentheses after a message
(`(close 4501)`, `(a moderator)`), are narration; SSE `id:` and `: keepalive` lines are
framing. A bare JSON value with a `type` is a frame: a client frame when the hub parses that
type from clients and never sends it, else a server frame; a bare value without `type` is an
HTTP body (of the route its section heading names).

**Elisions** are the one documented exception to plain JSON: the document cuts long values
with `…`. Inside a string it is text (a cut token). Outside strings it stands for left-out
members or elements: `{…}` and `[…]` are read as `{}` and `[]`, and a `…` between members
(`{"a":1,…}`, `[…,{…}]`) is dropped with its comma. What is left must be plain JSON, and
every key that is left is checked.

What is checked:

1. every message parses (after elisions);
2. every client frame goes through the hub's own parser (`hub.protocol.parse`) without error;
3. every server frame's `type` is one the hub's code sends (the `"type"` of the frames its
   modules build: see `emitted_types`);
4. the keys of server frames and HTTP answers, at every depth, are keys the hub really sends
   there: a real hub (in process, on loopback) runs the document's scenarios and every frame
   and answer it sends is recorded; an example's keys must be among the keys of the real
   frames of the same kind (events by channel and kind, acks by the command they answer,
   welcomes by role, HTTP answers by route);
5. the HTTP requests of the document, sent to that real hub, get the status the document
   shows.

Frames that need a media server or a relay (`media`, `talking`, the acks of `media` and
`voice`, the `voice` and `relay` events) are checked by 1-3 only: an in-process hub without
Janus never sends them. HTTP answers of routes this test does not call (the relay, the
interventions, the report review, the site, search) are checked by 1 only.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websockets

from hub import protocol
from hub.errors import HubError
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocol.md"

FENCE = re.compile(r"^\s*```(\S*)\s*$")
HEADING = re.compile(r"^#{2,4} ")
METHOD = re.compile(r"^(GET|POST|PATCH|PUT|DELETE) (/\S*)(.*)$")
STATUS = re.compile(r"^(\d{3})(?:\s+(.*))?$")
FORMAT = re.compile(r"^(json|txt|vtt|srt):\s+(.*)$")
HEADER = re.compile(r"^[A-Z][A-Za-z-]*: ")
NARRATION = re.compile(r"^\s*\(.*\)\s*$")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
ROUTE = re.compile(r"`((?:GET|POST|PATCH|PUT|DELETE) /[^`?]*)")

ELISIONS = [
    (re.compile(r"\{\s*…\s*\}"), "{}"),
    (re.compile(r"\[\s*…\s*\]"), "[]"),
    (re.compile(r",\s*…\s*(?=[}\]])"), ""),
    (re.compile(r"(?<=[{\[])\s*…\s*,"), ""),
    (re.compile(r",\s*…\s*,"), ","),
]


@dataclass
class Message:
    """One JSON message of the document."""

    line: int  # where it starts in docs/protocol.md
    section: str  # the heading it is under
    kind: str  # "client", "server", "request", "response", "bare" or "text" (not JSON)
    text: str
    status: int | None = None  # a response's status
    route: str | None = None  # a request's "METHOD /path", or a response's request
    value: Any = None
    error: str | None = None
    answers: Message | None = None  # for a server frame: the client frame before it
    request: Message | None = None  # for a response: the request before it

    @property
    def where(self) -> str:
        return f"docs/protocol.md:{self.line} ({self.section})"


@dataclass
class Block:
    line: int
    info: str
    section: str
    lines: list[str] = field(default_factory=list)


def blocks() -> list[Block]:
    found: list[Block] = []
    section = ""
    current: Block | None = None
    for number, text in enumerate(DOC.read_text(encoding="utf-8").split("\n"), start=1):
        fence = FENCE.match(text)
        if current is None:
            if fence:
                current = Block(number, fence.group(1), section)
            elif HEADING.match(text):
                section = text.lstrip("#").strip()
        elif fence and not fence.group(1):
            found.append(current)
            current = None
        else:
            current.lines.append(text)
    assert current is None, f"a block opened at line {current.line} is never closed"
    return found


def is_marker(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped.startswith(("→ ", "← ", "data: ")) or METHOD.match(stripped)
                or STATUS.match(stripped) or FORMAT.match(stripped))


def unelide(text: str) -> str:
    """`text` with the elisions outside strings read as described above."""
    parts: list[str] = []
    last = 0
    for match in STRING.finditer(text):
        parts.append(_unelide_outside(text[last:match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_unelide_outside(text[last:]))
    return "".join(parts)


def _unelide_outside(text: str) -> str:
    for pattern, replacement in ELISIONS:
        text = pattern.sub(replacement, text)
    return text


def decode_all(text: str) -> list[Any]:
    """The JSON values of `text`, one after another; narration in parentheses between them
    is skipped; anything else raises ValueError."""
    decoder = json.JSONDecoder()
    source = unelide(text)
    values: list[Any] = []
    at = 0
    while True:
        while at < len(source) and source[at].isspace():
            at += 1
        if at == len(source):
            return values
        if source[at] == "(":
            close = source.find(")", at)
            if close < 0:
                raise ValueError(f"unclosed narration: {source[at:at + 40]!r}")
            at = close + 1
            continue
        value, at = decoder.raw_decode(source, at)
        values.append(value)


def messages() -> list[Message]:
    """Every JSON message of the document (and the non-JSON bodies next to them)."""
    found: list[Message] = []
    for block in blocks():
        if block.info not in ("json", ""):
            continue
        marked = any(is_marker(line) for line in block.lines)
        if block.info == "" and not marked:
            continue  # other output; test_untagged_blocks_without_markers_hold_no_json
        found.extend(_block_messages(block))
    request: Message | None = None
    for message in found:  # responses pair with the last request of their section
        if request is not None and request.section != message.section:
            request = None
        if message.kind == "request":
            request = message
        elif message.kind in ("response", "text") and message.route is None:
            message.request = request
            routes = ROUTE.findall(message.section)
            message.route = request.route if request else (routes[0] if routes else None)
    return found


def _block_messages(block: Block) -> list[Message]:
    out: list[Message] = []
    current: Message | None = None
    for offset, raw in enumerate(block.lines, start=1):
        number = block.line + offset
        line = raw.strip()
        if not line or NARRATION.match(line) or line.startswith(("id: ", ": ")):
            if line and current is not None and current.kind != "bare":
                current = None  # narration or framing ends a message
            continue
        method, status, fmt = METHOD.match(line), STATUS.match(line), FORMAT.match(line)
        if line.startswith(("→ ", "← ", "data: ")):
            kind = "client" if line.startswith("→") else "server"
            current = Message(number, block.section, kind, line.split(" ", 1)[1])
            out.append(current)
        elif method:
            route = f"{method.group(1)} {method.group(2)}"
            rest = NARRATION.sub("", method.group(3)).strip()
            current = Message(number, block.section, "request", rest, route=route)
            out.append(current)
        elif status:
            current = Message(number, block.section, "response", status.group(2) or "",
                              status=int(status.group(1)))
            out.append(current)
        elif fmt:
            kind = "response" if fmt.group(1) == "json" else "text"
            current = Message(number, block.section, kind, fmt.group(2))
            out.append(current)
        elif current is None:
            current = Message(number, block.section, "bare", raw)
            out.append(current)
        elif current.kind == "request" and HEADER.match(line):
            continue
        else:
            current.text += "\n" + raw
    result: list[Message] = []
    for message in out:
        result.extend(_decoded(message))
    last_client: Message | None = None
    for message in result:
        if message.kind == "client":
            last_client = message
        elif message.kind == "server":
            message.answers = last_client
    return result


def _decoded(message: Message) -> list[Message]:
    body = message.text.strip()
    if message.kind == "text" or (message.kind in ("request", "response")
                                  and not body.startswith(("{", "["))):
        message.kind = "text" if body else message.kind
        return [message]  # no JSON body (plain text, or none)
    try:
        values = decode_all(body)
    except ValueError as exc:
        message.error = str(exc)
        return [message]
    if message.kind != "bare" and len(values) != 1:
        message.error = f"{len(values)} JSON values where one message was expected"
        return [message]
    decoded = []
    for value in values:
        one = Message(message.line, message.section, message.kind, message.text,
                      message.status, message.route, value)
        if one.kind == "bare":
            one.kind, one.route = _bare_kind(value)
        decoded.append(one)
    return decoded


def _bare_kind(value: Any) -> tuple[str, str | None]:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        sent = value["type"] in protocol.CLIENT_TYPES and value["type"] not in emitted_types()
        return ("client" if sent else "server"), None
    return "response", None


# -- what the hub's code sends ----------------------------------------------------------------

# Modules whose `{"type": ...}` dicts are not frames this hub sends to its readers: a relay
# speaks to its meeting as a client (its frames are client frames), the search export's
# JSON Lines and the site's search data have a `type` of their own, and the media manager's
# `{"type": "rtp"}` is a request to Janus.
NOT_SERVER_FRAMES = ("relay.py", "search/", "site/")


@functools.cache
def emitted_types() -> frozenset[str]:
    """The `type` of every frame the hub builds: the string value of a `"type"` key in a
    dict display of its modules (a Janus request, with its `"request"` key, excepted)."""
    types: set[str] = set()
    for path in sorted((ROOT / "hub").rglob("*.py")):
        if path.relative_to(ROOT / "hub").as_posix().startswith(NOT_SERVER_FRAMES):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Dict):
                continue
            keys = [key.value for key in node.keys if isinstance(key, ast.Constant)]
            if "request" in keys:
                continue
            for key, value in zip(node.keys, node.values, strict=True):
                if (isinstance(key, ast.Constant) and key.value == "type"
                        and isinstance(value, ast.Constant) and isinstance(value.value, str)):
                    types.add(value.value)
    return frozenset(types)


MESSAGES = messages()


def _id(message: Message) -> str:
    return f"line{message.line}"


# -- 1. every example parses -------------------------------------------------------------------


def test_the_document_has_examples_of_every_kind() -> None:
    kinds = {m.kind for m in MESSAGES}
    assert {"client", "server", "request", "response"} <= kinds, kinds
    assert len(MESSAGES) > 150, len(MESSAGES)


@pytest.mark.parametrize("message", MESSAGES, ids=_id)
def test_every_example_is_json(message: Message) -> None:
    assert message.error is None, f"{message.where}: {message.error}\n{message.text}"


def test_untagged_blocks_without_markers_hold_no_json() -> None:
    for block in blocks():
        if block.info == "" and not any(is_marker(line) for line in block.lines):
            starts = [line for line in block.lines if line.lstrip().startswith(("{", "["))]
            assert not starts, (f"docs/protocol.md:{block.line}: JSON in a block with no "
                                f"marker: tag it ```json or give it markers: {starts[0]}")


# -- 2. client frames go through the hub's parser --------------------------------------------

CLIENT_FRAMES = [m for m in MESSAGES if m.kind == "client" and m.error is None]


@pytest.mark.parametrize("message", CLIENT_FRAMES, ids=_id)
def test_client_examples_pass_the_hub_parser(message: Message) -> None:
    assert isinstance(message.value, dict), message.where
    try:
        frame = protocol.parse(message.value)
    except HubError as exc:
        raise AssertionError(f"{message.where}: the hub refuses {message.value}: {exc}") from exc
    assert frame.type == message.value["type"]


# -- 3. server frames have a type the hub sends ----------------------------------------------

SERVER_FRAMES = [m for m in MESSAGES if m.kind == "server" and m.error is None]


def test_the_emitted_types_are_read_from_the_code() -> None:
    # What the scan finds includes what every connection sees; nothing a client sends only.
    types = emitted_types()
    assert {"welcome", "event", "ack", "error", "pong", "presence", "bye"} <= types, types
    assert not types & (protocol.CLIENT_TYPES - {"media"}), types


@pytest.mark.parametrize("message", SERVER_FRAMES, ids=_id)
def test_server_examples_have_a_type_the_hub_sends(message: Message) -> None:
    assert isinstance(message.value, dict), message.where
    assert message.value.get("type") in emitted_types(), (
        f"{message.where}: type {message.value.get('type')!r} is not one the hub sends "
        f"({sorted(emitted_types())})")


# -- 4. server frames carry keys a real hub sends ---------------------------------------------

SCALAR = "scalar"


def shape(value: Any) -> Any:
    """What a JSON value looks like, without its data: objects keep their keys, lists one
    element shape (every element merged), everything else is a scalar."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = merge(merged, shape(item))
        return [merged] if merged is not None else []
    return SCALAR


def merge(one: Any, two: Any) -> Any:
    """The shape of values that may look like `one` or like `two`."""
    if one is None or one == SCALAR:
        return two if two is not None else one
    if two is None or two == SCALAR:
        return one
    if isinstance(one, dict) and isinstance(two, dict):
        return {key: merge(one.get(key), two.get(key)) for key in {*one, *two}}
    if isinstance(one, list) and isinstance(two, list):
        inner = merge(one[0] if one else None, two[0] if two else None)
        return [inner] if inner is not None else []
    return one  # an object here, a list there: keep the first, the check below tells


def extra_keys(example: Any, real: Any, path: str = "") -> list[str]:
    """The paths of the example's keys that the real shape does not have."""
    if isinstance(example, dict):
        if not isinstance(real, dict):
            return [] if real in (None, SCALAR) and not example else (
                [f"{path or '.'}: an object here, the hub sends {real!r}"]
                if real not in (None, SCALAR) else [f"{path or '.'}: never an object"])
        found: list[str] = []
        for key, value in example.items():
            if key not in real:
                found.append(f"{path}.{key}")
            else:
                found.extend(extra_keys(value, real[key], f"{path}.{key}"))
        return found
    if isinstance(example, list) and isinstance(real, list) and real:
        return [p for item in example for p in extra_keys(item, real[0], f"{path}[]")]
    return []


def frame_key(frame: dict[str, Any], command: str | None = None) -> tuple[str, ...]:
    """Which real frames an example is compared with."""
    kind = frame.get("type", "")
    if kind == "event":
        return ("event", str(frame.get("channel")), str(frame.get("kind")))
    if kind == "ack" and command is not None:
        return ("ack", command)
    if kind == "welcome":
        role = frame.get("you", {}).get("role") if isinstance(frame.get("you"), dict) else None
        return ("welcome", role) if role else ("welcome",)
    return (kind,)


class Recorder:
    """The shapes of every frame a real hub sent, by `frame_key` (and coarser keys)."""

    def __init__(self) -> None:
        self.shapes: dict[tuple[str, ...], Any] = {}

    def add(self, frame: dict[str, Any], command: str | None = None) -> None:
        keys = {frame_key(frame), frame_key(frame, command)}
        if frame.get("type") == "welcome":
            keys.add(("welcome",))
        for key in keys:
            self.shapes[key] = merge(self.shapes.get(key), shape(frame))


# Frames an in-process hub without a media server or a relay never sends: checked by 1-3.
NEEDS_MEDIA_OR_RELAY = {("media",), ("talking",), ("ack", "media"), ("ack", "voice"),
                        ("event", "public", "voice"), ("event", "public", "relay")}


async def _raw_frames(url: str, hello: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every frame a websocket gets before the server closes it (refused hellos)."""
    frames: list[dict[str, Any]] = []

    async def read() -> None:
        async with websockets.connect(url) as ws:
            if hello is not None:
                await ws.send(json.dumps(hello))
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in ws:
                    frames.append(json.loads(raw))

    await asyncio.wait_for(read(), 10)
    return frames


@dataclass
class Meeting:
    """What a run of the document's scenarios leaves: the session, and what the hub sent."""

    created: dict[str, Any]
    frames: Recorder
    answers: Answers
    asker: str  # a participant's identity


class Answers:
    """The shapes and statuses of every HTTP answer a real hub gave, by route."""

    def __init__(self) -> None:
        self.shapes: dict[str, Any] = {}
        self.statuses: dict[str, set[int]] = {}

    def add(self, route: str, status: int, body: Any) -> None:
        key = route_key(route)
        self.statuses.setdefault(key, set()).add(status)
        if isinstance(body, (dict, list)):
            self.shapes[key] = merge(self.shapes.get(key), shape(body))


def route_key(route: str) -> str:
    """A route with its ids and query left out: `GET /api/sessions/{id}/floor`."""
    method, path = route.split(" ", 1)
    path = re.sub(r"^/api/(sessions|events)/[^/?]+", r"/api/\1/{id}", path.split("?")[0])
    path = re.sub(r"/(people|tokens)/[^/]+$", r"/\1/{identity}", path)
    return f"{method} {path}"


async def call(hub: RunningHub, answers: Answers, method: str, path: str, body: Any = None,
               token: str = ADMIN_KEY, **kw: Any) -> tuple[int, Any]:
    status, answer, _ = await ahttp(method, f"{hub.base}{path}", body, token=token, **kw)
    answers.add(f"{method} {path}", status, answer)
    return status, answer


async def run_meeting(hub: RunningHub) -> Meeting:
    """The document's scenarios, run on a real hub: every frame every client gets is
    recorded (and the HTTP answers on the way)."""
    recorder = Recorder()
    answers = Answers()
    created = await hub.session(title="Workshop 42", languages=["en", "fr"],
                                settings={"speaking_time": 120})
    sid = created["id"]
    status, named = await call(hub, answers, "POST", f"/api/sessions/{sid}/tokens",
                               {"role": "hub", "name": "Nairobi hub", "city": "Nairobi",
                                "country": "KE"})
    assert status == 201, named
    organizer = Client(hub.ws_base, sid, ADMIN_KEY)
    mod = hub.client(created, "moderator", name="Mod A")
    amina = hub.client(created, "participant", name="Amina",
                       profile={"stakeholder": "civil_society", "country": "ke",
                                "gender": "woman", "youth": True})
    bob = hub.client(created, "participant", name="Bob")
    captioner = hub.client(created, "captioner", name="Captioner")
    nairobi = Client(hub.ws_base, sid, named["token"])
    screen = hub.client(created, "screen")
    clients = [organizer, mod, amina, bob, captioner, nairobi, screen]
    for client in clients:
        await client.connect()
    commands: list[tuple[Client, dict[str, Any]]] = []

    async def send(client: Client, frame: dict[str, Any]) -> dict[str, Any]:
        reply = await client.request(frame)
        recorder.add(reply, frame["type"])
        commands.append((client, reply))
        return reply

    await send(nairobi, {"type": "hub_status", "attendees": 35})
    status, link = await call(hub, answers, "POST", f"/api/sessions/{sid}/tokens",
                              {"role": "participant"}, token=nairobi.token)
    assert status == 201, link
    wanjiru = Client(hub.ws_base, sid, link["token"], name="Wanjiru")
    await wanjiru.connect()
    clients.append(wanjiru)
    one = (await send(amina, {"type": "ask", "kind": "question", "text": "Anon q", "key": "k1",
                              "anonymous": True}))["item"]
    await send(amina, {"type": "ask", "kind": "comment", "text": "other", "key": "k1"})
    two = (await send(amina, {"type": "ask", "kind": "question", "text": "Again", "key": "k2",
                              "lang": "en"}))["item"]
    await send(amina, {"type": "ask", "kind": "question", "text": "x", "key": "k0",
                       "lang": "english!"})
    await send(mod, {"type": "moderate", "item": one, "action": "approve"})
    await send(mod, {"type": "moderate", "item": two, "action": "merge", "into": one})
    await send(bob, {"type": "vote", "item": one})
    local = (await send(wanjiru, {"type": "ask", "kind": "question",
                                  "text": "What about rural Kenya?", "key": "w1"}))["item"]
    await send(nairobi, {"type": "forward", "item": local, "backing": 12})
    kept = (await send(wanjiru, {"type": "ask", "kind": "comment", "text": "Local",
                                 "key": "w2"}))["item"]
    await send(nairobi, {"type": "decline", "item": kept, "text": "Kept for our room"})
    await send(mod, {"type": "moderate", "item": local, "action": "approve"})
    spoken = (await send(mod, {"type": "ask", "kind": "floor", "text": "Opening", "key": "m1",
                               "on_behalf": {"name": "Dr. Li"}}))["item"]
    await send(mod, {"type": "moderate", "item": spoken, "action": "live", "seconds": 90})
    await send(captioner, {"type": "caption", "text": "Welcome all", "seq": 1})
    await send(captioner, {"type": "caption", "text": "Bienven", "lang": "fr-CA",
                           "final": False})
    await send(captioner, {"type": "caption", "text": "again", "seq": 1})
    flag = (await send(mod, {"type": "flag", "kind": "takeaway", "text": "Connectivity is key",
                             "item": one}))["id"]
    await send(mod, {"type": "flag", "kind": "call_to_action", "text": "x", "caption": 99})
    await send(mod, {"type": "flag", "kind": "takeaway", "text": "Said", "caption": 1})
    await send(mod, {"type": "flag", "id": flag, "delete": True})
    await send(mod, {"type": "floor", "ordering": "balanced"})
    await send(mod, {"type": "floor", "weights": {"gender": 2}})
    await send(organizer, {"type": "floor", "weights": {"gender": 2, "patience": 4},
                           "budgets": {"government": 600, "civil_society": 600}})
    await send(mod, {"type": "note", "to": amina.welcome["you"]["id"], "text": "You're next"})
    for n in range(25):  # past the ask rate limit: an error with retry_after
        reply = await send(bob, {"type": "ask", "kind": "question", "text": f"Q{n}",
                                 "key": f"many{n}"})
        if reply.get("code") == "rate_limited":
            break
    await send(mod, {"type": "session", "settings": {"list_closed": True}})
    await send(mod, {"type": "session", "settings": {"premoderation": False}})
    await send(mod, {"type": "ban", "identity": mod.welcome["you"]["id"]})
    await send(mod, {"type": "ban", "identity": bob.welcome["you"]["id"], "reason": "Spam"})
    await bob.closed.wait()
    banned = await _raw_frames(f"{hub.ws_base}/ws/{sid}", {"type": "hello", "token": bob.token})
    await send(mod, {"type": "ban", "identity": bob.welcome["you"]["id"], "undo": True})
    await send(screen, {"type": "ping"})
    # Joins: a recovered resume, a low-bandwidth reader, refused hellos.
    await screen.close()
    await screen.connect(resume=True)
    lite = hub.client(created, "participant", name="Lite", lite=True)
    chair = hub.client(created, "moderator", name="Chair")  # sees the organizer's weights
    for late in (lite, chair):
        await late.connect()
        clients.append(late)
    await chair.wait_for(lambda c: any(f["type"] == "presence" for f in c.frames))
    refusals = [
        await _raw_frames(f"{hub.ws_base}/ws/{sid}", {"type": "hello", "token": "nope.nope",
                                                      "ref": "h1"}),
        await _raw_frames(f"{hub.ws_base}/ws/nosuchsession", None),
        banned,
    ]
    posing = await _first_reply(f"{hub.ws_base}/ws/{sid}", {
        "type": "hello", "token": created["tokens"]["participant"],
        "name": "Moderator (official)", "ref": "hello"})
    await send(mod, {"type": "session", "state": "closed"})
    await send(captioner, {"type": "caption", "text": "again", "seq": 1})
    await send(captioner, {"type": "caption", "text": "new", "seq": 5})
    for client in clients:
        await client.close()

    for client in clients:
        recorder.add(client.welcome)
        for frame in client.frames:
            recorder.add(frame)
    for frames in refusals:
        for frame in frames:
            recorder.add(frame)
    recorder.add(posing)
    return Meeting(created, recorder, answers, amina.welcome["you"]["id"])


async def test_server_examples_have_the_keys_a_real_hub_sends(hub: RunningHub) -> None:
    recorder = (await run_meeting(hub)).frames
    checked = 0
    problems: list[str] = []
    for message in SERVER_FRAMES:
        command = message.answers.value.get("type") if (
            message.answers is not None and isinstance(message.answers.value, dict)) else None
        key = frame_key(message.value, command)
        if key in NEEDS_MEDIA_OR_RELAY:
            continue
        real = recorder.shapes.get(key)
        if real is None and len(key) > 1:
            real = recorder.shapes.get(key[:1] if key[0] != "event" else key)
        if real is None:
            problems.append(f"{message.where}: the scenario never got a {key} frame")
            continue
        checked += 1
        extra = extra_keys(message.value, real)
        if extra:
            problems.append(f"{message.where}: {key} keys the hub never sends there: {extra}")
    assert not problems, "\n".join(problems)
    assert checked > 60, checked


async def _first_reply(url: str, hello: dict[str, Any]) -> dict[str, Any]:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps(hello))
        return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))


# -- 5. HTTP examples: the requests get the document's status, the answers its keys ---------

REQUESTS = [m for m in MESSAGES if m.kind == "request" and m.error is None]
RESPONSES = [m for m in MESSAGES if m.kind == "response" and m.error is None
             and m.route is not None]


def _programme_csv() -> str:
    """The programme file of §20.3, as the document shows it."""
    [block] = [b for b in blocks() if b.info == "text" and b.section.startswith("20.3")]
    return "\n".join(block.lines) + "\n"


async def test_http_examples_match_a_real_hub(hub: RunningHub) -> None:
    """Every request of the document on the sessions and events API is sent to a real hub
    (with the real session's id, the admin key) and gets the status the document shows;
    then the answers of the other routes the document shows are fetched; every answer in
    the document must have keys the real answers of its route have."""
    meeting = await run_meeting(hub)
    answers, sid = meeting.answers, meeting.created["id"]
    replayed = 0
    for request in REQUESTS:
        assert request.route is not None
        method, path = request.route.split(" ", 1)
        path = re.sub(r"^/api/sessions/[^/?]+", f"/api/sessions/{sid}", path)
        path = re.sub(r"/people/[^/?]+", f"/people/{meeting.asker}", path)
        status, answer = await call(hub, answers, method, path, request.value)
        expected = [m.status for m in RESPONSES if m.request is request]
        assert expected, f"{request.where}: a request without the answer it gets"
        assert status == expected[0], f"{request.where}: {method} {path} got {status}: {answer}"
        replayed += 1
    assert replayed >= 10, replayed
    # The routes the document answers without showing the request.
    captioner = meeting.created["tokens"]["captioner"]
    await call(hub, answers, "GET", f"/api/sessions/{sid}")
    await call(hub, answers, "GET", f"/api/sessions/{sid}/tokens")
    await call(hub, answers, "GET", f"/api/sessions/{sid}/floor?ordering=balanced")
    await call(hub, answers, "GET", f"/api/sessions/{sid}/transcript?format=json")
    status, _ = await call(hub, answers, "POST", f"/api/sessions/{sid}/captions?lang=de",
                           "Guten Morgen", token=captioner, content_type="text/plain")
    assert status == 400
    csv = _programme_csv()
    status, imported = await call(hub, answers, "POST", "/api/events/igf2026/programme", csv,
                                  content_type="text/csv")
    assert status == 200, imported
    header, row = csv.splitlines()[:2]
    cells = row.split(",")
    cells[2], cells[3] = cells[3], cells[2]  # the end before the start
    status, refused = await call(hub, answers, "POST", "/api/events/igf2026/programme",
                                 f"{header}\n{','.join(cells)}\n", content_type="text/csv")
    assert status == 400, refused
    await call(hub, answers, "GET", "/api/events/igf2026")
    await call(hub, answers, "GET", "/api/events/igf2026/dashboard")

    documented = {route_key(m.route) for m in RESPONSES if m.route is not None}
    assert set(answers.shapes) <= documented, set(answers.shapes) - documented
    problems: list[str] = []
    compared = 0
    for message in RESPONSES:
        assert message.route is not None
        key = route_key(message.route)
        if key not in answers.shapes:
            continue  # a route this test does not call (the relay, media, the site...)
        compared += 1
        if message.status is not None and message.status not in answers.statuses[key]:
            problems.append(f"{message.where}: {key} never answered {message.status} "
                            f"({sorted(answers.statuses[key])})")
        extra = extra_keys(message.value, answers.shapes[key])
        if extra:
            problems.append(f"{message.where}: {key} keys the hub never answers: {extra}")
    assert not problems, "\n".join(problems)
    assert compared >= 20, compared
