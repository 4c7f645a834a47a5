"""Every JSON example of docs/protocol.md, checked against the hub.

How the examples are found. Every fenced block of the document is read:

- a block tagged `json` holds JSON messages;
- an untagged block holds JSON messages when one of its lines starts with a marker below
  (an SSE stream, an HTTP exchange, a `→`/`←` transcript); otherwise it is other output
  (a token, the relay's console, the transcript formats in text) and holds no JSON, which
  the test checks: no line of it starts with `{`;
- blocks tagged otherwise (`sh`, `text`) are shell or file contents, not messages.

Inside a message block, a line that starts with a marker starts a message:

| marker | message |
|---|---|
| `→ ` | a client frame (client → server) |
| `← `, `data: ` | a server frame (server → client; `data:` in an SSE stream) |
| `GET `, `POST `, `PATCH `, `PUT `, `DELETE ` and a path | an HTTP request; its JSON body, if any, follows on the same line or the next ones (header lines `Name: value` are skipped) |
| three digits (`201`, `400 `...) | an HTTP response with that status; its body follows on the same line or the next ones |
| `json: `, `txt: `, `vtt: `, `srt: ` | a response body in that format (only `json:` is JSON) |

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

Frames that need a media server (`media`, `talking`, the `voice` event) are checked by 1-3
only: an in-process hub without Janus never sends them.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hub import protocol
from hub.errors import HubError

ROOT = Path(__file__).resolve().parent.parent
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
    return found


def _block_messages(block: Block) -> list[Message]:
    out: list[Message] = []
    current: Message | None = None
    route: str | None = None
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
                              status=int(status.group(1)), route=route)
            out.append(current)
        elif fmt:
            kind = "response" if fmt.group(1) == "json" else "text"
            current = Message(number, block.section, kind, fmt.group(2), route=route)
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
            one.kind, one.route = _bare_kind(value, message.section)
        decoded.append(one)
    return decoded


def _bare_kind(value: Any, section: str) -> tuple[str, str | None]:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        sent = value["type"] in protocol.CLIENT_TYPES and value["type"] not in emitted_types()
        return ("client" if sent else "server"), None
    routes = ROUTE.findall(section)
    return "response", (routes[0] if routes else None)


# -- what the hub's code sends ----------------------------------------------------------------

# Modules whose `{"type": ...}` dicts are not frames this hub sends to its readers: a relay
# speaks to its meeting as a client (its frames are client frames), the search export's
# JSON Lines and the site's search data have a `type` of their own, and the media manager's
# `{"type": "rtp"}` is a request to Janus.
NOT_SERVER_FRAMES = ("relay.py", "search/", "site/")


def emitted_types() -> frozenset[str]:
    """The `type` of every frame the hub builds: the string value of a `"type"` key in a
    dict display of its modules (a Janus request, with its `"request"` key, excepted)."""
    global _EMITTED
    if _EMITTED is None:
        types: set[str] = set()
        for path in sorted((ROOT / "hub").rglob("*.py")):
            name = path.relative_to(ROOT / "hub").as_posix()
            if name.startswith(NOT_SERVER_FRAMES) or name == "relay.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Dict):
                    continue
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                if "request" in keys:
                    continue
                for key, value in zip(node.keys, node.values, strict=True):
                    if (isinstance(key, ast.Constant) and key.value == "type"
                            and isinstance(value, ast.Constant) and isinstance(value.value, str)):
                        types.add(value.value)
        _EMITTED = frozenset(types)
    return _EMITTED


_EMITTED: frozenset[str] | None = None

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
