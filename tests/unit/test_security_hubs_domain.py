"""Join sources and hubs, decided purely: sources and their budgets, address bans, attendee
counts and jumps, and what a hub may declare."""

from __future__ import annotations

import pytest

from hub.config import Config
from hub.domain import commands, fact_kinds, report, sources, views
from hub.domain.commands import Actor
from hub.domain.fact_kinds import apply
from hub.domain.roles import COMMAND_ROLES
from hub.domain.session import SessionState, new_session
from hub.domain.snapshot import dump_state
from hub.errors import HubError
from hub.ratelimit import RateLimits
from tests.support.domain_helpers import MOD, NAIROBI, ask, make_session, run

TIGHT = sources.Budgets(identities=2, shared_identities=4, votes=2, shared_votes=3)
HOME = sources.address_source("AAAAAAAAAAAAAAAA", shared=False)
VENUE = sources.address_source("BBBBBBBBBBBBBBBB", shared=True)


def join(state: SessionState, who: str, source: str, now: int = 1_000) -> None:
    run(state, commands.join(state, who, "participant", who.title(), None, False, now,
                             source=source, budgets=TIGHT))


def test_the_source_table() -> None:
    assert HOME.startswith("a:") and VENUE.startswith("s:")
    assert sources.hub_source("h1") == "h:h1"
    assert [sources.bannable(s) for s in (HOME, VENUE, "h:h1", "")] == [True, False, False, False]
    assert [sources.identity_budget(TIGHT, s) for s in (HOME, VENUE, "h:h1", "")] == [
        2, 4, 4, None]
    assert [sources.vote_budget(TIGHT, s) for s in (HOME, VENUE, "h:h1", "")] == [2, 3, 3, None]


def test_wait_counts_the_last_ten_minutes_only() -> None:
    assert sources.wait_ms([], 2, 0) == 0
    assert sources.wait_ms([1_000], 2, 2_000) == 0
    assert sources.wait_ms([1_000, 2_000], 2, 3_000) == 1_000 + sources.WINDOW_MS - 3_000
    assert sources.wait_ms([1_000, 2_000], 2, 1_000 + sources.WINDOW_MS) == 0


def test_new_identities_from_one_source_have_a_budget_per_window() -> None:
    state = make_session()
    join(state, "sock1", HOME, now=1_000)
    join(state, "sock2", HOME, now=2_000)
    with pytest.raises(HubError) as err:
        join(state, "sock3", HOME, now=3_000)
    assert err.value.code == "rate_limited" and err.value.extra["retry_after"] > 0
    join(state, "sock7", VENUE, now=3_000)  # another source: its own budget
    join(state, "sock8", HOME, now=1_001 + sources.WINDOW_MS)  # the window moved on
    # A known identity coming back (new name, same source) costs nothing.
    run(state, commands.join(state, "sock1", "participant", "Renamed", None, False, 5_000,
                             source=HOME, budgets=TIGHT))
    assert state.identities["sock1"].source == HOME


def test_the_budget_survives_a_snapshot_restore() -> None:
    state = make_session()
    join(state, "sock1", HOME, now=1_000)
    join(state, "sock2", HOME, now=2_000)
    restored = new_session(state.id)
    apply(restored, {"kind": "restored", "state": dump_state(state)})
    assert restored.arrivals == {HOME: [1_000, 2_000]}
    with pytest.raises(HubError):
        join(restored, "sock3", HOME, now=3_000)


def test_a_ban_covers_an_address_not_a_venue_nor_a_hub_link() -> None:
    state = make_session()
    join(state, "sock1", HOME)
    join(state, "sock2", VENUE)
    join(state, "sock3", "h:h1")
    for who in ("sock1", "sock2", "sock3"):
        fact = run(state, commands.ban(state, MOD, who, "spam", False))
        assert fact == {"identity": who, "banned": True}
    assert state.banned.keys() == {"sock1", "sock2", "sock3"}
    with pytest.raises(HubError) as err:
        join(state, "sock4", HOME, now=2_000)
    assert (err.value.code, err.value.extra) == ("forbidden", {"reason": "banned"})
    join(state, "sock5", VENUE, now=2_000)
    join(state, "sock6", "h:h1", now=2_000)
    run(state, commands.ban(state, MOD, "sock1", None, True))
    join(state, "sock4", HOME, now=3_000)


def test_the_ban_fact_carries_the_hashed_source_and_no_channel_shows_it() -> None:
    state = make_session()
    join(state, "sock1", HOME)
    decision = commands.ban(state, MOD, "sock1", None, False)
    assert decision.fact is not None and decision.fact["source"] == HOME
    events = fact_kinds.project(state, decision.fact)
    assert all(HOME not in repr(data) for _, _, data in events)


def test_votes_per_item_are_bounded_per_source() -> None:
    state = make_session(premoderation=False)
    item = ask(state, text="Shall we?", key="q")
    for n in range(4):  # the identity budget (2 per 10 minutes) spread out in time
        join(state, f"home{n}", HOME, now=n * sources.WINDOW_MS)
        join(state, f"venue{n}", VENUE, now=n * sources.WINDOW_MS)
    home = [Actor(f"home{n}", "participant", "x") for n in range(4)]
    venue = [Actor(f"venue{n}", "participant", "x") for n in range(4)]
    for actor in home[:2] + venue[:3]:
        run(state, commands.vote(state, actor, item, False, TIGHT))
    for actor in (home[2], venue[3]):
        with pytest.raises(HubError) as err:
            commands.vote(state, actor, item, False, TIGHT)
        assert err.value.code == "forbidden" and err.value.extra == {"reason": "source_votes"}
    assert state.items[item].votes == 5
    run(state, commands.vote(state, home[0], item, True, TIGHT))  # an undo frees a slot
    run(state, commands.vote(state, home[2], item, False, TIGHT))
    run(state, commands.vote(state, MOD, item, False, TIGHT))  # no source: not bounded


def test_attendee_counts_are_bounded_and_jumps_marked() -> None:
    state = make_session()
    with pytest.raises(HubError) as err:
        commands.hub_status(state, NAIROBI, attendees=101, now=1, max_attendees=100)
    assert err.value.code == "bad_request" and "HUB_MAX_ATTENDEES" in err.value.message
    run(state, commands.hub_status(state, NAIROBI, attendees=150, now=1))
    assert state.hubs[NAIROBI.id].jump is None  # 0 -> 150: a room arriving
    run(state, commands.hub_status(state, NAIROBI, attendees=5_000, now=2))
    assert state.hubs[NAIROBI.id].jump == 150
    assert views.snapshot(state, "moderator", MOD.id)["hubs"][0]["jump"] == 150
    run(state, commands.hub_status(state, NAIROBI, connected=True, now=3))
    assert state.hubs[NAIROBI.id].jump == 150  # only a new count clears the mark
    run(state, commands.hub_status(state, NAIROBI, attendees=4_900, now=4))
    assert state.hubs[NAIROBI.id].jump is None
    assert commands.implausible_jump(0, 201) and not commands.implausible_jump(0, 200)
    assert commands.implausible_jump(300, 601) and not commands.implausible_jump(300, 600)


def test_a_hubs_backing_is_bounded_by_its_count_and_its_names_are_labelled() -> None:
    state = make_session(premoderation=False)
    run(state, commands.join(state, NAIROBI.id, "hub", "Nairobi", None, False, 1))
    made = run(state, commands.ask(state, NAIROBI, kind="question", text="x", key="relay-1",
                                   lang=None, anonymous=False, on_behalf={"name": "Amina"},
                                   backing=50, now=2))["item"]
    item = state.items[made]
    assert item.backing == 1  # no count reported yet: at most 1
    public = views.public_item(item)
    assert (public["author"], public["hub_attendee"]) == ("Amina", True)
    with pytest.raises(HubError) as err:
        commands.ask(state, NAIROBI, kind="question", text="x", key="k2", lang=None,
                     anonymous=False, on_behalf={"name": "A", "affiliation": "UN"}, now=3)
    assert err.value.code == "forbidden"
    # A moderator adding a room speaker is not a hub's declaration.
    by_mod = run(state, commands.ask(state, MOD, kind="floor", text="y", key="m", lang=None,
                                     anonymous=False, on_behalf={"name": "Speaker",
                                                                 "affiliation": "UN"}, now=4))
    assert views.public_item(state.items[by_mod["item"]])["hub_attendee"] is False


def test_every_command_that_stores_something_has_a_budget() -> None:
    limits = RateLimits(Config())
    assert [c for c in COMMAND_ROLES if c != "ping" and not limits.limited(c)] == []
    assert not limits.limited("ping")


def test_shared_addresses_parse_and_bad_ones_are_named() -> None:
    limits = RateLimits(Config(
        shared_addresses=("203.0.113.7", "198.51.100.0/24", "2001:db8::/32")))
    assert limits.shared("203.0.113.7") and limits.shared("198.51.100.9")
    assert limits.shared("2001:db8::1") and not limits.shared("203.0.113.8")
    assert not limits.shared("unknown")
    with pytest.raises(ValueError, match="HUB_SHARED_ADDRESSES"):
        RateLimits(Config(shared_addresses=("venue-wifi",)))
    env = {"HUB_SHARED_ADDRESSES": "203.0.113.7, 198.51.100.0/24", "HUB_MAX_ATTENDEES": "500",
           "HUB_NEW_IDENTITIES_PER_ADDRESS": "7", "HUB_VOTES_PER_ADDRESS": "3"}
    config = Config.from_env(env)
    assert config.shared_addresses == ("203.0.113.7", "198.51.100.0/24")
    assert (config.max_attendees, config.new_identities_per_address,
            config.votes_per_address) == (500, 7, 3)


def test_the_report_labels_a_name_a_hub_declared() -> None:
    state = make_session(premoderation=False)
    made = run(state, commands.ask(state, NAIROBI, kind="question", text="x", key="relay-1",
                                   lang=None, anonymous=False, on_behalf={"name": "Amina"},
                                   now=2))["item"]
    raised = report.raised_from_item(state.items[made])
    assert raised.author == "Amina (forwarded by Nairobi on behalf of an attendee)"
    own = ask(state, NAIROBI, text="The hub's own", key="own")
    assert report.raised_from_item(state.items[own]).author == "Nairobi"
