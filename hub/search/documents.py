"""Which content of a session and its event is public, and the search documents it makes.

Pure: from a session's folded state and its event's. What becomes searchable:

- the final caption lines of every language, each with its time, so that a result opens
  the session page at that moment (`?t=` seconds from the first line of that language,
  the `start` of the transcript export);
- questions and comments the moderators approved (approved, on the floor, answered):
  never a pending, rejected, withdrawn or merged one, and never an author's name (an
  anonymous asker's must never show, and a name is not what people search an archive
  for), nor an item whose text was erased at the person's request;
- the key takeaways, calls to action and summary of the report as published for the event
  (`ForumState.reports[s].published`), never a draft.

Only a session of an event's programme is public (the event site shows it to anyone): a
session outside any event is reached with a join link only, so none of it is indexed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..domain import items
from ..domain.erasure import ERASED_TEXT
from ..domain.forum import ForumState, ProgrammeSession
from ..domain.session import SessionState

TRANSCRIPT, QUESTION, COMMENT, TAKEAWAY, CALL, SUMMARY = (
    "transcript", "question", "comment", "takeaway", "call", "summary")
KINDS = (TRANSCRIPT, QUESTION, COMMENT, TAKEAWAY, CALL, SUMMARY)
PUBLIC_STATUSES = frozenset({items.APPROVED, items.LIVE, items.DONE})


@dataclass(frozen=True, slots=True)
class Document:
    """One searchable piece of public content, with the facets it is counted under.

    `key` names it within its session (stable across re-indexing: a line's position, an
    item's id, a takeaway's number), so indexing the same content twice changes nothing."""

    session: str
    key: str
    kind: str
    text: str
    lang: str
    event: str
    title: str  # the session's
    track: str
    type: str  # the session's type in the programme (workshop, open forum, ...)
    day: str  # the session's day, YYYY-MM-DD in the event's time zone
    ts: int  # ms since the Unix epoch
    url: str  # the session page, at the moment for a transcript line

    @property
    def year(self) -> int:
        return int(self.day[:4])


def session_page(event: str, session: str) -> str:
    return f"/e/{event}/s/{session}"


def public(state: SessionState, forum: ForumState | None) -> ProgrammeSession | None:
    """The programme entry that makes `state` public, or None (then nothing is indexed)."""
    if forum is None:
        return None
    return forum.sessions.get(state.id)


def documents(state: SessionState, forum: ForumState | None) -> list[Document]:
    """Every document of a session (empty when the session is not public)."""
    entry = public(state, forum)
    if entry is None or forum is None:
        return []
    return [*caption_documents(state, forum, entry, 0), *_item_documents(state, forum, entry),
            *_report_documents(state, forum, entry)]


def caption_documents(state: SessionState, forum: ForumState, entry: ProgrammeSession,
                      start: int) -> list[Document]:
    """The documents of the final caption lines from position `start` of `state.captions`
    (the indexer adds lines as they become final)."""
    origins: dict[str, int] = {}
    for line in state.captions:  # the first line of each language: the transcript's zero
        if line.text.strip():
            origins.setdefault(line.lang, line.ts)
    out: list[Document] = []
    for position in range(start, len(state.captions)):
        line = state.captions[position]
        text = " ".join(line.text.split())
        if not line.final or not text:
            continue
        seconds = max(0, line.ts - origins.get(line.lang, line.ts)) // 1000
        page = session_page(forum.id, state.id)
        out.append(_document(state, forum, entry, f"t{position}", TRANSCRIPT, text,
                             line.lang, line.ts, f"{page}?t={seconds}"))
    return out


def _item_documents(state: SessionState, forum: ForumState,
                    entry: ProgrammeSession) -> Iterable[Document]:
    for item in state.items.values():
        if (item.kind not in (QUESTION, COMMENT) or not item.public
                or item.status not in PUBLIC_STATUSES or item.text == ERASED_TEXT):
            continue
        text = item.text.strip()
        if text:
            yield _document(state, forum, entry, f"i{item.id}", item.kind, text, item.lang,
                            item.created, session_page(forum.id, state.id))


def _report_documents(state: SessionState, forum: ForumState,
                      entry: ProgrammeSession) -> Iterable[Document]:
    report = forum.report(state.id).published
    if report is None:
        return
    lang = state.languages[0] if state.languages else forum.languages[0]
    page = session_page(forum.id, state.id)
    parts = [(f"k{n}", TAKEAWAY, text) for n, text in enumerate(report.takeaways)]
    parts += [(f"c{n}", CALL, text) for n, text in enumerate(report.calls)]
    parts += [("s", SUMMARY, report.summary)]
    for key, kind, text in parts:
        if text.strip():
            yield _document(state, forum, entry, key, kind, text.strip(), lang, report.ts,
                            page)


def _document(state: SessionState, forum: ForumState, entry: ProgrammeSession, key: str,
              kind: str, text: str, lang: str, ts: int, url: str) -> Document:
    return Document(session=state.id, key=key, kind=kind, text=text, lang=lang,
                    event=forum.id, title=entry.title or state.title, track=entry.track,
                    type=entry.kind, day=forum.day_of(entry.start), ts=ts, url=url)
