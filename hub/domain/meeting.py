"""A session's state as the floor orderings, the statistics and the report need it.

Pure functions from `SessionState` to the plain inputs of `ordering`, `stats` and
`report`: who is waiting, who had the floor, who took part. No person's profile
leaves here except inside aggregate figures, or a floor reason naming a group that at
least `stats.K` counted people share (`ordering.disclose`).

Who counts in the figures: a participant who acted (asked, voted, took the
floor) or declared a profile, from that moment (`Identity.counted`). Figures are computed
as of a cut-off (`figures_cutoff`), so they do not move between two cut-offs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import ordering, report, stats
from .items import APPROVED, Item
from .roles import HUB, MODERATOR, ORGANIZER, PARTICIPANT, STAFF
from .session import CLOSED, SessionState
from .transcript import build_cues


def speaker_key(state: SessionState, item: Item) -> str:
    """Who will speak for `item`: its author, or for a room speaker a moderator added, that
    speaker (else every room speaker would count as the moderator)."""
    author = state.identities.get(item.author_id)
    if author is None or author.role in STAFF:
        return "room:" + item.author.casefold()
    return item.author_id


def profile_of(state: SessionState, item: Item) -> dict[str, Any]:
    """The self-declared profile behind `item` (empty for room speakers and unknown people)."""
    if speaker_key(state, item) != item.author_id:
        return {}
    return dict(state.identities[item.author_id].profile)


def candidates(state: SessionState) -> list[ordering.Candidate]:
    """The approved items waiting for the floor."""
    out = []
    for item_id in state.order:
        item = state.items[item_id]
        if item.status != APPROVED:
            continue
        out.append(ordering.Candidate(
            item_id=item.id, kind=item.kind, origin=item.origin, author_id=speaker_key(state, item),
            created_ms=item.created, votes=item.votes, profile=profile_of(state, item)))
    return out


def history(state: SessionState) -> list[ordering.Turn]:
    """Every turn on the floor so far, the current one last (still open)."""
    out = []
    for turn in state.turns:
        item = state.items[turn.item]
        out.append(ordering.Turn(
            item_id=item.id, author_id=speaker_key(state, item), origin=item.origin,
            profile=profile_of(state, item), started_ms=turn.started, ended_ms=turn.ended))
    return out


def suggestions(
    state: SessionState, name: str | None, now_ms: int, every_ms: int = stats.EVERY_MS
) -> dict[str, Any]:
    """The queue ranked by ordering `name` (default: the session's), each with its reasons.

    The ranking reads profiles; what is shown does not reveal them: reasons go through
    `ordering.disclose` (groups shared by the people counted at the figures' cut-off), and
    the score is the rank (a balanced score would add up a person's groups' weights).
    """
    chosen = name or state.floor.get("ordering", "arrival")
    weights = ordering.Weights().merged(state.floor.get("weights") or {})
    budgets = state.floor.get("budgets") or None
    past = history(state)
    ranked = ordering.suggest(chosen, candidates(state), past, weights, now_ms, budgets)
    by_group = ordering.time_by_group(past, "stakeholder", now_ms)
    cutoff = figures_cutoff(state, now_ms, every_ms)
    shared = ordering.shared_groups(
        (p.origin, p.profile) for p in counted_participants(state, cutoff))

    def shown(suggestion: ordering.Suggestion) -> list[ordering.Reason]:
        anonymous = state.items[suggestion.item_id].anonymous
        return list(ordering.disclose(suggestion.reasons, anonymous=anonymous, shared=shared,
                                      k=stats.K))

    return {
        "ordering": chosen,
        "orderings": list(ordering.ORDERINGS),
        "weights": weights.to_dict(),
        "suggestions": [
            {
                "item": s.item_id,
                "score": len(ranked) - rank,
                "reasons": [{"code": r.code, "params": dict(r.params),
                             "text": ordering.describe(r)} for r in shown(s)],
            }
            for rank, s in enumerate(ranked)
        ],
        "budgets": {
            group: {"budget": seconds, "used": round(by_group.get(group, 0) / 1000)}
            for group, seconds in (budgets or {}).items()
        },
    }


def figures_cutoff(state: SessionState, now_ms: int, every_ms: int = stats.EVERY_MS) -> int:
    """The moment the figures are computed as of: the start of the current period of
    `every_ms` (`stats.cutoff`); for a closed session, `now_ms`: nobody starts to count once
    it is closed, so its figures are final."""
    return now_ms if state.state == CLOSED else stats.cutoff(now_ms, every_ms)


def counted_participants(state: SessionState, cutoff_ms: int) -> list[stats.Participant]:
    """The participants the figures count at `cutoff_ms`: those who acted or declared a
    profile by then. Joining alone counts nobody: one join link makes any number of
    identities. Attendees of a remote hub count in their hub's own figure."""
    return [
        stats.Participant("room" if ident.in_room else "remote", dict(ident.profile))
        for ident in state.identities.values()
        if ident.role == PARTICIPANT and ident.hub is None
        and ident.counted is not None and ident.counted <= cutoff_ms
    ]


def participation(state: SessionState, cutoff_ms: int) -> stats.ParticipationStats:
    """Every published figure of the session as of `cutoff_ms` (see `figures_cutoff`): the
    people counted by then, the floor until then; cells under five people suppressed."""
    people = counted_participants(state, cutoff_ms)
    room = state.settings.room_count or None
    turns = stats.as_of(history(state), cutoff_ms)
    return stats.participation(people, turns, hub_attendees(state), room, cutoff_ms)


def hub_attendees(state: SessionState) -> dict[str, int]:
    """The attendees each remote hub reported, by hub name (the hubs' own latest counts)."""
    hubs: dict[str, int] = {}
    for hub_id, hub in state.hubs.items():
        ident = state.identities.get(hub_id)
        if ident is not None and ident.role == HUB:
            hubs[ident.name] = hubs.get(ident.name, 0) + hub.attendees
    return hubs


def remote_interventions(
    state: SessionState, now_ms: int, audio: dict[int, str] | None = None
) -> tuple[list[report.RemoteIntervention], list[report.RemoteTime]]:
    """The remote interventions as the report lists them, and their speaking time by
    origin and by stakeholder group (suppressed like every figure: `stats.count_table`)."""
    listed = []
    people: dict[str, dict[str, set[str]]] = {"origin": {}, "stakeholder": {}}
    seconds: dict[str, dict[str, int]] = {"origin": {}, "stakeholder": {}}
    for record in state.voice.interventions:
        item = state.items.get(record.item)
        who = state.identities.get(record.speaker)
        end = record.ended(now_ms)
        length = max(0, ((end if end is not None else now_ms) - record.start) // 1000)
        speaker = None if item is None or item.anonymous or who is None else who.name
        listed.append(report.RemoteIntervention(record.n, record.item, speaker, record.origin,
                                                record.start, length,
                                                (audio or {}).get(record.n)))
        profile = dict(who.profile) if who is not None else {}
        for dimension in people:
            group = ordering.group_of(dimension, record.origin, profile)
            people[dimension].setdefault(group, set()).add(record.speaker)
            seconds[dimension][group] = seconds[dimension].get(group, 0) + length
    cuts = []
    if listed:
        for dimension in people:
            speakers = stats.count_table(
                dimension, {g: len(who) for g, who in people[dimension].items()})
            cuts.append(report.RemoteTime(speakers, stats.time_table(dimension,
                                                                     seconds[dimension],
                                                                     speakers)))
    return listed, cuts


def build_report(
    state: SessionState, now_ms: int, every_ms: int = stats.EVERY_MS,
    audio: dict[int, str] | None = None,
) -> report.Report:
    """The session report: info, takeaways, calls to action, figures, questions, transcript.

    Its figures follow the same cut-off as the live ones (`figures_cutoff`), or one report
    read just before and one just after a join would be a difference of the two."""
    def names(role: str) -> tuple[str, ...]:
        return tuple(sorted({i.name for i in state.identities.values() if i.role == role}))

    info = report.SessionInfo(
        title=state.title,
        date=datetime.fromtimestamp(state.created / 1000, UTC).strftime("%Y-%m-%d"),
        organizers=names(ORGANIZER),
        moderators=names(MODERATOR),
        room_count=state.settings.room_count or None,
        languages=tuple(state.languages),
    )
    flags = [
        report.ReportFlag(f.text, f.kind, item_id=f.item, caption_seq=f.caption,
                    caption_ts=f.caption_ts)
        for f in state.flags.values()
    ]
    items = []
    for item in state.items.values():
        if not item.public:
            continue  # what never reached the meeting is not in its record
        # Profiles are for aggregates only: the report's readers are staff, who
        # know who asked an anonymous question, so no question carries its asker's group.
        items.append(report.raised_from_item(item))
    cues = build_cues(state.captions, state.floor_language)
    cutoff = figures_cutoff(state, now_ms, every_ms)
    listed, cuts = remote_interventions(state, now_ms, audio)
    return report.build_report(info, participation(state, cutoff), flags=flags, items=items,
                               cues=cues, as_of_ms=cutoff, interventions=listed,
                               remote_time=cuts)


def stats_json(figures: stats.ParticipationStats, as_of: int) -> dict[str, Any]:
    """The figures as JSON: the cut-off they are computed as of (ms), then each table with
    its cells (suppressed ones have no value)."""
    table = report.table_json
    return {
        "as_of": as_of,
        "attendance": table(figures.attendance),
        "hubs": table(figures.hubs),
        "participants": [table(t) for t in figures.participants],
        "speakers": [table(t) for t in figures.speakers],
        "speaking_time": [table(t) for t in figures.speaking_time],
    }
