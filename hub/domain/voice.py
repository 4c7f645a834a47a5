"""Voice: who may publish audio now, and the voice facts (pure: no I/O).

The floor and the microphone are bound together. From the session's state alone this
module says who may publish into the session's audio room at a given instant: the desk
(the venue's sound technician, one at a time), and the author of the live item when that
item is a remote participant's or a hub's. The media manager (`hub.media.manager`) makes
Janus agree with it; the `media` command asks it before any grant is made.

A speaker's turn on audio, as a table (the `voice` facts and what ends them):

| event                                  | may publish?  | fact                        |
|----------------------------------------|---------------|-----------------------------|
| their remote item goes live            | yes           | (items, live)               |
| first `speak` grant of the turn        | yes           | voice/speak: intervention n |
| moderator `mute` / `unmute`            | yes (muted)   | voice/mute, voice/unmute    |
| moderator `cut`, or the desk's `cut`   | no            | voice/cut: intervention ends|
| speaking time + GRACE_MS over          | no            | none (time: the manager     |
|                                        |               | checks it every second)     |
| item done, another live, ban, erasure, | no            | (items / ban / erased /     |
| session closed                         |               | session): intervention ends |
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import HubError, bad_request, conflict, forbidden
from .facts import Fact, VoiceFact
from .items import Item
from .roles import DESK, HUB, PARTICIPANT

if TYPE_CHECKING:
    from .commands import Actor, Decision
    from .session import SessionState

LISTEN, SPEAK, DESK_WANT = "listen", "speak", "desk"
WANTS = (LISTEN, SPEAK, DESK_WANT)
ACTIONS = ("mute", "unmute", "cut")
DESK_ACTIONS = ("cut",)  # the audio desk may end the live audio, not mute or restore it
CUT_BY = ("moderator", "desk")  # `cut_by`: staff (moderator or organizer), or the desk
GRACE_MS = 5_000  # after the speaking time: the end of a sentence
SPEAK_MAX_MS = 4 * 3600_000  # a speak grant without a time limit still ends
DESK_GRANT_MS = 12 * 3600_000  # a desk grant, a listen grant
LISTEN_GRANT_MS = 12 * 3600_000
REFRESH_MS = 3600_000  # a desk asking again with less than this left gets a new grant
ROOM_ORIGIN = "room"


@dataclass(frozen=True, slots=True)
class Intervention:
    """One remote speaker's turn on audio: from their first `speak` grant to its end."""

    n: int
    item: str
    speaker: str  # identity id
    origin: str
    hub: str | None  # the hub's identity id it came through, if any
    start: int
    limit_end: int | None  # when the speaking time (with the grace) ran out, if limited
    end: int | None = None
    turn: int = 0  # the turn's number (it names the speaker's participant id on Janus)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def ended(self, now: int) -> int | None:
        """When it ended (capped by the speaking time); None while it goes on at `now`."""
        ends = [t for t in (self.end, self.limit_end) if t is not None]
        if not ends or (self.end is None and min(ends) > now):
            return None
        return min(ends)


@dataclass(slots=True)
class VoiceState:
    """The voice facts folded: the desk, the live speaker's audio, the interventions."""

    desk: str | None = None  # the identity holding the desk
    desk_gen: int = 0  # how many times the desk was granted (new holder or refreshed)
    desk_since: int = 0  # when the latest desk grant was made (ms)
    turn: int = 0  # the turn (1-based, `len(state.turns)`) the fields below are about
    since: int | None = None  # when the speaker took their first speak grant this turn
    muted: bool = False
    cut: bool = False
    cut_by: str | None = None  # who cut this turn: `moderator` or `desk` (CUT_BY)
    interventions: list[Intervention] = field(default_factory=list)


# -- who may publish ---------------------------------------------------------------------


def remote_live(state: SessionState) -> Item | None:
    """The live item when its author may speak from afar: a remote participant's or a
    hub's own item (not one a moderator added for a room speaker, not from the room)."""
    if state.live is None:
        return None
    item = state.items[state.live]
    if item.on_behalf or item.origin == ROOM_ORIGIN:
        return None
    author = state.identities.get(item.author_id)
    if author is None or author.role not in (PARTICIPANT, HUB):
        return None
    return item


def current_turn(state: SessionState) -> int:
    return len(state.turns)


def turn_voice(state: SessionState) -> VoiceState:
    """The voice state of the current turn (fresh fields when the turn has none yet)."""
    voice = state.voice
    if voice.turn == current_turn(state):
        return voice
    return VoiceState(desk=voice.desk, desk_gen=voice.desk_gen, desk_since=voice.desk_since,
                      turn=current_turn(state))


def time_over(state: SessionState, now: int) -> bool:
    if state.live_limit is None or state.live_since is None:
        return False
    return now > state.live_since + state.live_limit * 1000 + GRACE_MS


def speak_refusal(state: SessionState, identity: str, now: int) -> tuple[str, str] | None:
    """Why `identity` may not publish as the speaker at `now` ((reason, message)), or None."""
    from .session import CLOSED

    if state.state == CLOSED:
        return "closed", "the session is closed"
    item = remote_live(state)
    if item is None or item.author_id != identity:
        return "not_your_turn", "you do not have the floor: wait until a moderator gives it to you"
    if identity in state.banned or identity in state.erased:
        return "not_your_turn", "you were removed from this session"
    if turn_voice(state).cut:
        return "cut", "your audio was cut for this turn (by a moderator or the audio desk)"
    if time_over(state, now):
        return "not_your_turn", "your speaking time is over"
    return None


def speaker_now(state: SessionState, now: int) -> str | None:
    """The identity that may publish as the speaker at `now`, or None."""
    item = remote_live(state)
    if item is None or speak_refusal(state, item.author_id, now) is not None:
        return None
    return item.author_id


def desk_now(state: SessionState, now: int) -> str | None:
    """The identity holding the desk at `now` (its grant not expired), or None."""
    from .session import CLOSED

    voice = state.voice
    if voice.desk is None or state.state == CLOSED:
        return None
    if voice.desk in state.banned or voice.desk in state.erased:
        return None
    if now > voice.desk_since + DESK_GRANT_MS:
        return None
    return voice.desk


@dataclass(frozen=True, slots=True)
class Desired:
    """What Janus must allow for one session at one instant."""

    speaker: str | None
    turn: int  # the current turn's number (speak grants of older turns are void)
    desk: str | None
    desk_gen: int  # desk grants of older generations are void
    muted: bool
    desk_since: int
    speak_expires: int  # ms: when the speaker's grant ends at the latest


def desired(state: SessionState, now: int) -> Desired:
    voice = turn_voice(state)
    return Desired(speaker_now(state, now), current_turn(state), desk_now(state, now),
                   state.voice.desk_gen, voice.muted, state.voice.desk_since,
                   speak_expires(state))


def speak_expires(state: SessionState) -> int:
    """When the current turn's speak grant ends at the latest (ms)."""
    since = state.live_since or 0
    if state.live_limit is not None:
        return since + state.live_limit * 1000 + GRACE_MS
    return since + SPEAK_MAX_MS


# -- commands ----------------------------------------------------------------------------


def grant(state: SessionState, actor: Actor, want: Any, take_over: Any, now: int) -> Decision:
    """A `media` request: checked; the fact it records (first speak grant of a turn, a desk
    change), never the credentials (the server makes those for the moment)."""
    from .commands import Decision
    from .session import CLOSED

    if want not in WANTS:
        raise bad_request(f"`want` must be one of {', '.join(WANTS)}")
    if not isinstance(take_over, bool):
        raise bad_request("`take_over` takes true or false")
    if state.state == CLOSED:
        raise HubError("conflict", "the session is closed: it has no sound any more",
                       reason="closed")
    if want == LISTEN:
        return Decision(None, {"want": want})
    if want == SPEAK:
        if actor.role not in (PARTICIPANT, HUB):
            raise forbidden(f"a {actor.role} does not speak through the hub: only the "
                            "remote participant or hub given the floor does")
        refusal = speak_refusal(state, actor.id, now)
        if refusal is not None:
            raise HubError("conflict", refusal[1], reason=refusal[0])
        voice = turn_voice(state)
        assert state.live is not None
        result = {"want": want, "item": state.live}
        if voice.since is not None:
            return Decision(None, result)
        item = state.items[state.live]
        speak: VoiceFact = {"kind": "voice", "action": "speak", "turn": current_turn(state),
                            "item": item.id, "identity": actor.id, "ts": now, "by": actor.id}
        return Decision(speak, result)
    # desk
    if actor.role != DESK:
        raise forbidden("only the audio desk's link takes the desk")
    holder = desk_now(state, now)
    if holder is not None and holder != actor.id and not take_over:
        name = state.identities[holder].name if holder in state.identities else holder
        raise HubError("conflict", f"another audio desk ({name}) holds the room's sound: "
                       "take it over only after confirming", reason="desk_active")
    if holder == actor.id and now < state.voice.desk_since + DESK_GRANT_MS - REFRESH_MS:
        return Decision(None, {"want": want})
    fact: VoiceFact = {"kind": "voice", "action": "desk", "identity": actor.id,
                       "gen": state.voice.desk_gen + 1, "ts": now, "by": actor.id,
                       "took_over": holder if holder not in (None, actor.id) else None}
    return Decision(fact, {"want": want})


def control(state: SessionState, actor: Actor, action: Any, now: int) -> Decision:
    """A `voice` command on the live remote audio: a moderator's mute, unmute or cut, or
    the audio desk's cut (only while it holds the desk: the room's sound is its to stop,
    the floor stays the moderators')."""
    from .commands import Decision

    if action not in ACTIONS:
        raise bad_request(f"`action` must be one of {', '.join(ACTIONS)}")
    by = "moderator"
    if actor.role == DESK:
        by = "desk"
        if action not in DESK_ACTIONS:
            raise forbidden(f"the audio desk may only cut the live audio, not {action} it: "
                            "muting and restoring are the moderators'")
        if desk_now(state, now) != actor.id:
            raise HubError("conflict", "this audio desk does not hold the room's sound "
                           "(start the desk, or another desk took it over)",
                           reason="not_desk")
    item = remote_live(state)
    if item is None:
        raise conflict("no remote speaker has the floor")
    voice = turn_voice(state)
    if (action == "mute" and voice.muted) or (action == "unmute" and not voice.muted) or (
            voice.cut):
        return Decision(None, {"action": action})
    fact: VoiceFact = {"kind": "voice", "action": action, "turn": current_turn(state),
                       "item": item.id, "ts": now, "by": actor.id, "by_name": actor.name,
                       "by_role": by}
    return Decision(fact, {"action": action})


# -- fold --------------------------------------------------------------------------------


def fold_voice(state: SessionState, fact: VoiceFact) -> None:
    """Record a `voice` fact."""
    voice = state.voice
    action = fact["action"]
    ts = fact.get("ts", 0)
    if action == "desk":
        voice.desk, voice.desk_gen, voice.desk_since = fact["identity"], fact["gen"], ts
        return
    if voice.turn != fact["turn"]:
        voice.turn, voice.since, voice.muted, voice.cut = fact["turn"], None, False, False
        voice.cut_by = None
    if action == "speak":
        voice.since = ts
        item = state.items[fact["item"]]
        limit_end = (state.live_since + state.live_limit * 1000 + GRACE_MS
                     if state.live_limit is not None and state.live_since is not None else None)
        voice.interventions.append(Intervention(
            len(voice.interventions) + 1, item.id, fact["identity"], item.origin, item.hub,
            ts, limit_end, turn=fact["turn"]))
    elif action in ("mute", "unmute"):
        voice.muted = action == "mute"
    elif action == "cut":
        voice.cut = True
        voice.cut_by = fact.get("by_role", "moderator")  # facts before the desk could cut
        end_intervention(state, ts)


def end_intervention(state: SessionState, ts: int) -> None:
    """The open intervention (if any) ends at `ts`."""
    interventions = state.voice.interventions
    if interventions and interventions[-1].end is None:
        interventions[-1] = replace(interventions[-1], end=ts)


def after(state: SessionState, fact: Fact) -> None:
    """After any other fact: the open intervention ends when its speaker lost the floor
    (the item done, another live, banned, erased, the session closed)."""
    open_ = state.voice.interventions[-1] if state.voice.interventions else None
    if open_ is None or open_.end is not None:
        return
    item = remote_live(state)
    still = (item is not None and item.id == open_.item and item.author_id == open_.speaker
             and open_.speaker not in state.banned and open_.speaker not in state.erased
             and state.state != "closed")
    if not still:
        ts = fact.get("ts")
        end_intervention(state, ts if isinstance(ts, int) and ts else 0)


# -- views -------------------------------------------------------------------------------


def voice_data(state: SessionState, *, staff: bool = False) -> dict[str, Any]:
    """The `voice` event's data (and `snapshot.voice`): see docs/protocol.md §19.4."""
    item = remote_live(state)
    if item is not None and (item.author_id in state.banned or item.author_id in state.erased
                             or state.state == "closed"):
        item = None
    desk = state.voice.desk
    if desk is not None and (desk in state.banned or desk in state.erased
                             or state.state == "closed"):
        desk = None
    voice = turn_voice(state)
    data: dict[str, Any] = {
        "desk": desk is not None,
        "desk_id": desk,
        "item": item.id if item else None,
        "speaker": (None if item is None or item.anonymous else item.author),
        "origin": item.origin if item else None,
        "since": voice.since if item else None,
        "muted": voice.muted if item else False,
        "cut": voice.cut if item else False,
        "cut_by": voice.cut_by if item and voice.cut else None,
    }
    if staff:
        data["speaker_id"] = item.author_id if item else None
    return data


def intervention_view(state: SessionState, record: Intervention, now: int, *,
                      staff: bool, audio: str | None) -> dict[str, Any]:
    """One intervention as the interventions API and the transcript give it."""
    item = state.items.get(record.item)
    anonymous = item is None or item.anonymous
    who = state.identities.get(record.speaker)
    hub_name = None
    if record.hub is not None:
        hub = state.identities.get(record.hub)
        hub_name = hub.name if hub else None
    elif who is not None and who.role == HUB:
        hub_name = who.name
    end = record.ended(now)
    view: dict[str, Any] = {
        "n": record.n, "item": record.item,
        "speaker": None if anonymous or who is None else who.name,
        "origin": record.origin, "hub": hub_name,
        "start": record.start, "end": end,
        "seconds": round(((end if end is not None else now) - record.start) / 1000, 1),
        "audio": audio,
    }
    if staff:
        view["speaker_id"] = record.speaker
    return view


# -- talking (transient: never a fact) ----------------------------------------------------
#
# Whether the live speaker is talking right now, as Janus's AudioBridge detects it (the
# average of the RTP audio-level extension over short windows; hub/media/levels.py asks).
# It changes every few seconds while someone speaks: it is sent as a `talking` frame to the
# moderators and the desk (docs/protocol.md §19.6), never written to the session log.

TALK_HOLD_MS = 1500  # "talking" stays on this long after Janus last heard them: pauses
# between words and sentences do not flip it (nor a screen reader's announcement)
LEVELS = 4  # `level` buckets: 0 silent, 1 faint, 2 speaking, 3 loud
PEAK_POLLS = 3  # `level` is the loudest of this many latest readings (a meter's peak hold)


@dataclass(frozen=True, slots=True)
class Talking:
    """The live speaker's talking state as the moderators and the desk are told it."""

    item: str | None = None  # the live item whose speaker is on air, or None
    talking: bool = False
    level: int = 0  # 0 .. LEVELS-1
    heard_at: int = 0  # ms: when Janus last said they were talking
    recent: tuple[int, ...] = ()  # the latest level readings (buckets), newest last

    def frame(self) -> dict[str, Any]:
        return {"type": "talking", "item": self.item, "talking": self.talking,
                "level": self.level}

    def shown(self) -> tuple[str | None, bool, int]:
        """What a page shows (a change in it is a new frame)."""
        return self.item, self.talking, self.level


def on_air(state: SessionState, now: int) -> str | None:
    """The live item whose speaker may publish and took their grant this turn, or None."""
    if speaker_now(state, now) is None or turn_voice(state).since is None:
        return None
    item = remote_live(state)
    return item.id if item is not None else None


def level_bucket(dbov: int | None) -> int:
    """A coarse bucket of an RTP audio level (RFC 6464: -dBov, 0 loudest, 127 silence)."""
    if dbov is None or dbov >= 60:
        return 0
    if dbov >= 40:
        return 1
    if dbov >= 25:
        return 2
    return 3


def talking_next(prev: Talking, item: str | None, janus_talking: bool, dbov: int | None,
                 now: int) -> Talking:
    """The next state from what Janus says at `now`. Talking: at once when Janus says so,
    off only after TALK_HOLD_MS without it. Level: the peak of the latest readings, at
    least 1 while talking, at most 1 while not (a level between words is not speech). A
    new item (or none) starts afresh."""
    if item is None:
        return Talking()
    if item != prev.item:
        prev = Talking(item=item)
    recent = (*prev.recent[-(PEAK_POLLS - 1):], level_bucket(dbov))
    talking = janus_talking or (prev.talking and now - prev.heard_at < TALK_HOLD_MS)
    peak = max(recent)
    level = max(peak, 1) if talking else min(peak, 1)
    return Talking(item, talking, level, now if janus_talking else prev.heard_at, recent)
