"""Inputs from the regions: what the event's registered hubs brought to its sessions.

For each hub registered for an event (national and regional IGFs, regional and remote
hubs, `forum.ForumHub`), across the sessions it follows: its attendance (the most
attendees it reported in each session, and the sessions it was connected to) and its
inputs (items it asked, or forwarded for its attendees), grouped by session with counts;
and the same for the whole event. Built from the event's state and the states of the
sessions the hubs followed; pure (no I/O); rendered as Markdown, HTML or JSON.

Only what the meeting made public is an input here, as on the public pages and in the
session report: an item counts once it was approved (queued, on the floor, answered, or
merged into another), never while pending, never rejected (by the moderators or declined
by the hub) or withdrawn by its asker; an anonymous asker is never named. Attendance is a
count of people, so it follows the figures' rule: a hub's per-session counts under 5 are
suppressed, with secondary suppression so that its total does not give them away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final

from . import items as it
from .forum import ForumHub, ForumState, ProgrammeSession, followed
from .items import Item
from .roles import HUB
from .session import SessionState
from .stats import K, suppression

# The statuses of an item the meeting took up (it was approved, so it is public for good).
TAKEN_UP: Final = frozenset({it.APPROVED, it.LIVE, it.DONE, it.MERGED})
STATUS_LABELS: Final = {it.APPROVED: "in the queue", it.LIVE: "on the floor",
                        it.DONE: "answered", it.MERGED: "merged with a similar one"}
KIND_LABELS: Final = {"question": "Question", "comment": "Comment", "floor": "Request to speak",
                      it.POINT_OF_ORDER: "Point of order"}
HUB_KIND_LABELS: Final = {"nri": "National or regional IGF", "regional": "Regional hub",
                          "remote": "Remote hub"}
STYLESHEET: Final = "/static/css/report.css"


@dataclass(frozen=True, slots=True)
class Input:
    """One item a hub brought to a session, as the public saw it."""

    session: str
    item: str
    hub: str  # the hub's id
    hub_name: str
    kind: str
    text: str
    status: str
    by_hub: bool  # asked by the hub itself (else: an attendee's, forwarded by the hub)
    author: str | None  # None: asked anonymously (or the hub itself, see `by_hub`)
    backing: int | None  # how many of the hub's attendees backed it
    votes: int
    lang: str
    created: int


@dataclass(frozen=True, slots=True)
class Attendance:
    """A hub in one session: whether it connected, and the most attendees it reported
    (None: suppressed, fewer than 5 or revealing such a count)."""

    session: str
    title: str
    connected: bool
    peak: int | None
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class SessionInputs:
    """One session's inputs (from one hub, or from every hub for the event's digest)."""

    session: str
    title: str
    day: str
    start: int
    inputs: tuple[Input, ...]

    def kinds(self) -> dict[str, int]:
        return dict(Counter(i.kind for i in self.inputs))


@dataclass(frozen=True, slots=True)
class HubDigest:
    """One hub across the event."""

    id: str
    name: str
    kind: str
    city: str
    country: str
    followed: int  # sessions it follows
    attendance: tuple[Attendance, ...]  # per session followed, in programme order
    peak_total: int | None  # sum of its per-session peaks (None: suppressed)
    sessions: tuple[SessionInputs, ...]  # sessions where it brought inputs

    @property
    def connected(self) -> int:
        return sum(1 for a in self.attendance if a.connected)

    @property
    def inputs(self) -> int:
        return sum(len(s.inputs) for s in self.sessions)


@dataclass(frozen=True, slots=True)
class Digest:
    """The inputs from the regions, for the event (every hub) or for one hub."""

    event: str
    title: str
    hubs: tuple[HubDigest, ...]
    sessions: tuple[SessionInputs, ...]  # every hub's inputs, by session
    as_of: int  # ms

    @property
    def inputs(self) -> int:
        return sum(len(s.inputs) for s in self.sessions)

    def kinds(self) -> dict[str, int]:
        return dict(Counter(i.kind for s in self.sessions for i in s.inputs))


# -- building -------------------------------------------------------------------------


def is_input(item: Item) -> bool:
    """Whether an item counts as an input: taken up by the meeting (public), never pending,
    rejected or withdrawn."""
    return item.public and item.status in TAKEN_UP


def hub_inputs(hub: ForumHub, state: SessionState) -> list[Input]:
    """What `hub` brought to one session, oldest first."""
    out = []
    for item in state.items.values():
        if item.hub != hub.id or not is_input(item):
            continue
        by_hub = item.author_id == hub.id and not item.on_behalf
        author = None if item.anonymous or by_hub else item.author
        out.append(Input(state.id, item.id, hub.id, hub.name, item.kind, item.text,
                         item.status, by_hub, author, item.backing, item.votes, item.lang,
                         item.created))
    return sorted(out, key=lambda i: (i.created, i.item))


def attendance(hub: ForumHub, rows: Sequence[ProgrammeSession],
               states: Mapping[str, SessionState], k: int = K
               ) -> tuple[tuple[Attendance, ...], int | None]:
    """A hub's attendance in each session it follows, and the sum of its peaks; counts
    under `k` suppressed as the figures suppress them."""
    peaks: dict[str, int] = {}
    connected: dict[str, bool] = {}
    titles: dict[str, str] = {}
    for row in rows:
        state = states.get(row.session)
        joined = state is not None and _joined(state, hub.id)
        status = state.hubs.get(hub.id) if state is not None and joined else None
        connected[row.session] = joined
        peaks[row.session] = status.peak if status is not None else 0
        titles[row.session] = row.title
    hidden, total_hidden = suppression(peaks, k)
    out = tuple(Attendance(s, titles[s], connected[s], None if s in hidden else peaks[s],
                           s in hidden) for s in peaks)
    return out, None if total_hidden else sum(peaks.values())


def _joined(state: SessionState, hub_id: str) -> bool:
    known = state.identities.get(hub_id)
    return known is not None and known.role == HUB and hub_id not in state.erased


def build(forum: ForumState, states: Mapping[str, SessionState], *, now: int,
          hub_id: str | None = None) -> Digest:
    """The digest of every registered hub (or of `hub_id` alone) from the event's state and
    the states of the sessions they follow (a session missing from `states` counts as one
    where nothing happened)."""
    hubs = [h for h in sorted(forum.hubs.values(), key=lambda h: (h.name.casefold(), h.id))
            if hub_id is None or h.id == hub_id]
    digests = []
    by_session: dict[str, list[Input]] = {}
    for hub in hubs:
        rows = followed(forum, hub)
        per_session, total = attendance(hub, rows, states)
        sessions = []
        for row in rows:
            state = states.get(row.session)
            found = hub_inputs(hub, state) if state is not None else []
            if found:
                sessions.append(_session_inputs(forum, row, found))
                by_session.setdefault(row.session, []).extend(found)
        digests.append(HubDigest(hub.id, hub.name, hub.kind, hub.city, hub.country, len(rows),
                                 per_session, total, tuple(sessions)))
    grouped = tuple(
        _session_inputs(forum, row, sorted(by_session[row.session],
                                           key=lambda i: (i.created, i.item)))
        for row in forum.programme() if row.session in by_session)
    return Digest(forum.id, forum.title, tuple(digests), grouped, now)


def _session_inputs(forum: ForumState, row: ProgrammeSession,
                    inputs: Iterable[Input]) -> SessionInputs:
    return SessionInputs(row.session, row.title, forum.day_of(row.start), row.start,
                         tuple(inputs))


# -- JSON -----------------------------------------------------------------------------


def to_json(digest: Digest) -> dict[str, Any]:
    """The digest as JSON: hubs with attendance and inputs by session, then every hub's
    inputs by session, with counts."""
    return {
        "event": digest.event, "title": digest.title, "as_of": digest.as_of,
        "counts": {"hubs": len(digest.hubs),
                   "hubs_with_inputs": sum(1 for h in digest.hubs if h.inputs),
                   "sessions": len(digest.sessions), "inputs": digest.inputs,
                   "kinds": digest.kinds()},
        "hubs": [_hub_json(h) for h in digest.hubs],
        "sessions": [_session_json(s) for s in digest.sessions],
    }


def _hub_json(hub: HubDigest) -> dict[str, Any]:
    return {
        "id": hub.id, "name": hub.name, "kind": hub.kind, "city": hub.city,
        "country": hub.country,
        "attendance": {
            "followed": hub.followed, "connected": hub.connected, "peak_total": hub.peak_total,
            "sessions": [{"session": a.session, "title": a.title, "connected": a.connected,
                          "peak": a.peak, "suppressed": a.suppressed}
                         for a in hub.attendance]},
        "inputs": hub.inputs,
        "sessions": [_session_json(s) for s in hub.sessions],
    }


def _session_json(group: SessionInputs) -> dict[str, Any]:
    return {"session": group.session, "title": group.title, "day": group.day,
            "start": group.start, "count": len(group.inputs), "kinds": group.kinds(),
            "inputs": [_input_json(i) for i in group.inputs]}


def _input_json(item: Input) -> dict[str, Any]:
    return {"item": item.item, "hub": item.hub, "hub_name": item.hub_name, "kind": item.kind,
            "text": item.text, "status": item.status,
            "from": "hub" if item.by_hub else "attendee", "author": item.author,
            "backing": item.backing, "votes": item.votes, "lang": item.lang,
            "created": item.created}


# -- Markdown -------------------------------------------------------------------------

_MD_SPECIAL: Final = frozenset("\\`*_{}[]()#+-.!|<>~")


def _md(text: str) -> str:
    """User text as inert inline Markdown, on one line."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in " ".join(text.split()))


def _who(item: Input) -> str:
    if item.by_hub:
        return f"asked by {item.hub_name}"
    name = item.author if item.author is not None else "an anonymous attendee"
    return f"from {name}, forwarded by {item.hub_name}"


def _detail(item: Input) -> str:
    parts = [KIND_LABELS.get(item.kind, item.kind), _who(item),
             STATUS_LABELS.get(item.status, item.status)]
    if item.backing:
        parts.append(f"backed by {item.backing} in the room")
    return "; ".join(parts)


def _place(hub: HubDigest) -> str:
    where = ", ".join(p for p in (hub.city, hub.country) if p)
    kind = HUB_KIND_LABELS.get(hub.kind, hub.kind)
    return f"{kind}, {where}" if where else kind


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _peak(value: int | None) -> str:
    return f"fewer than {K} (or hidden with them)" if value is None else str(value)


def _summary(digest: Digest) -> str:
    return (f"{_count(len(digest.hubs), 'hub', 'hubs')}, "
            f"{_count(digest.inputs, 'input', 'inputs')} in "
            f"{_count(len(digest.sessions), 'session', 'sessions')}")


NOTE: Final = ("Only what the meeting took up (approved, on the floor, answered) is listed; "
               "anonymous askers are not named. Attendance is the most attendees a hub "
               f"reported in a session; counts under {K} are hidden.")


def to_markdown(digest: Digest) -> str:
    """The digest as Markdown: the summary, each hub, then every input by session."""
    lines = [f"# Inputs from the regions: {_md(digest.title)}", "", _summary(digest), "",
             f"_{_md(NOTE)}_", ""]
    for hub in digest.hubs:
        lines += [f"## {_md(hub.name)}", "", _md(_place(hub)), "",
                  f"- Sessions followed: {hub.followed}; connected to: {hub.connected}",
                  f"- Attendance, summed over sessions: {_peak(hub.peak_total)}",
                  f"- Inputs: {hub.inputs}", ""]
        for group in hub.sessions:
            lines += _md_session(group, level="###")
    lines += ["## By session", ""]
    if not digest.sessions:
        lines += ["No input from the hubs has been taken up yet.", ""]
    for group in digest.sessions:
        lines += _md_session(group, level="###")
    return "\n".join(lines).rstrip() + "\n"


def _md_session(group: SessionInputs, *, level: str) -> list[str]:
    kinds = ", ".join(f"{KIND_LABELS.get(k, k).lower()}: {n}" for k, n in group.kinds().items())
    lines = [f"{level} {_md(group.title)} ({group.day})", "",
             f"{_count(len(group.inputs), 'input', 'inputs')} ({kinds})", ""]
    lines += [f"- {_md(i.text)} — {_md(_detail(i))}" for i in group.inputs]
    return [*lines, ""]


# -- HTML -----------------------------------------------------------------------------


def _h(text: str) -> str:
    return escape(text, quote=True)


def to_html(digest: Digest) -> str:
    """The digest as a complete HTML document: semantic, readable without CSS."""
    hubs = "".join(_html_hub(h) for h in digest.hubs)
    sessions = "".join(_html_session(g, "h3") for g in digest.sessions) or (
        "<p>No input from the hubs has been taken up yet.</p>")
    title = _h(f"Inputs from the regions: {digest.title}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="{STYLESHEET}"></head>'
        f"<body><header><h1>{title}</h1><p>{_h(_summary(digest))}</p>"
        f"<p>{_h(NOTE)}</p></header><main>"
        f'<section aria-labelledby="hubs"><h2 id="hubs">Hubs</h2>{hubs}</section>'
        f'<section aria-labelledby="by-session"><h2 id="by-session">By session</h2>'
        f"{sessions}</section></main></body></html>\n"
    )


def _html_hub(hub: HubDigest) -> str:
    rows = "".join(
        f"<tr><th scope=\"row\">{_h(a.title)}</th><td>{'yes' if a.connected else 'no'}</td>"
        f"<td>{_h(_peak(a.peak))}</td></tr>" for a in hub.attendance)
    table = (f"<table><caption>Attendance of {_h(hub.name)}, by session</caption><thead><tr>"
             '<th scope="col">Session</th><th scope="col">Connected</th>'
             f'<th scope="col">Most attendees</th></tr></thead><tbody>{rows}</tbody>'
             f"<tfoot><tr><th scope=\"row\">Total</th><td>{hub.connected}</td>"
             f"<td>{_h(_peak(hub.peak_total))}</td></tr></tfoot></table>")
    sessions = "".join(_html_session(g, "h4") for g in hub.sessions)
    return (f'<article><h3>{_h(hub.name)}</h3><p>{_h(_place(hub))}</p>'
            f"<p>Sessions followed: {hub.followed}; connected to: {hub.connected}; "
            f"inputs: {hub.inputs}</p>{table}{sessions}</article>")


def _html_session(group: SessionInputs, heading: str) -> str:
    kinds = ", ".join(f"{_h(KIND_LABELS.get(k, k).lower())}: {n}"
                      for k, n in group.kinds().items())
    items = "".join(f'<li><p dir="auto">{_h(i.text)}</p><p>{_h(_detail(i))}</p></li>'
                    for i in group.inputs)
    return (f"<{heading}>{_h(group.title)} ({_h(group.day)})</{heading}>"
            f"<p>{_h(_count(len(group.inputs), 'input', 'inputs'))} ({kinds})</p>"
            f"<ul>{items}</ul>")
