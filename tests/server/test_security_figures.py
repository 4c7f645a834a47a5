"""What moderators see of people's declared profiles, and who counts in the figures.

Over a real server (an in-process hub on a loopback port, real HTTP and websockets):

- the floor's reasons name no one's declared group for an anonymous item, and for a named
  item only a group at least K = 5 counted people share (moderators never learn a profile);
- `/stats` stands as of the last cut-off, so one more join between two reads moves nothing
  until the next cut-off (no differencing between two reads);
- identities that joined but never acted or declared a profile count in no figure (one join
  link makes any number of them).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from hub.config import Config
from hub.domain import commands, meeting, ordering
from hub.domain import stats as figures_rules
from hub.domain.ordering import Reason
from hub.domain.snapshot import dump_state, restore
from tests.support.domain_helpers import ALICE as ALICE_ACTOR
from tests.support.domain_helpers import BOB as BOB_ACTOR
from tests.support.domain_helpers import ask as ask_item
from tests.support.domain_helpers import make_session, moderate, run
from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import HubFactory, RunningHub

ALICE: dict[str, Any] = {
    "stakeholder": "civil_society", "country": "KE", "gender": "woman", "youth": True}
# What any of Alice's attributes looks like in a reason: codes, params and English text.
ALICE_TRACES = ("civil_society", "civil society", "KE", "african", "Africa", "woman", "women",
                "youth", "young")


def cell(table: dict[str, Any], group: str) -> Any:
    return next(c["value"] for c in table["cells"] if c["group"] == group)


def table(tables: list[dict[str, Any]], dimension: str) -> dict[str, Any]:
    return next(t for t in tables if t["dimension"] == dimension)


async def joined(clients: list[Client]) -> list[Client]:
    for client in clients:
        await client.connect()
    return clients


async def floor(hub: RunningHub, created: dict[str, Any]) -> dict[str, Any]:
    status, body, _ = await ahttp(
        "GET", f"{hub.base}/api/sessions/{created['id']}/floor?ordering=balanced",
        token=created["tokens"]["moderator"])
    assert status == 200, body
    return dict(body)


async def stats(hub: RunningHub, created: dict[str, Any]) -> dict[str, Any]:
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{created['id']}/stats",
                                  token=created["tokens"]["moderator"])
    assert status == 200, body
    return dict(body)


async def stats_after(hub: RunningHub, created: dict[str, Any], ms: int) -> dict[str, Any]:
    """The figures once their cut-off has passed `ms` (the hub's period is one second)."""
    while True:
        body = await stats(hub, created)
        if body.get("as_of", 0) >= ms:
            return body
        await asyncio.sleep(0.2)


def reasons_of(answer: dict[str, Any], item: str) -> list[dict[str, Any]]:
    return list(next(s for s in answer["suggestions"] if s["item"] == item)["reasons"])


async def ask(client: Client, mod: Client, text: str, *, anonymous: bool) -> str:
    reply = await client.ok({"type": "ask", "kind": "question", "key": text, "text": text,
                             "anonymous": anonymous})
    item = str(reply["item"])
    await mod.ok({"type": "moderate", "item": item, "action": "approve"})
    return item


async def test_floor_reasons_show_nothing_of_an_anonymous_askers_profile(
    hub: RunningHub,
) -> None:
    """The attack: balanced ordering, a person with a declared profile asks anonymously;
    on main the moderator's `/floor` said "first speaker from civil society", "no woman has
    spoken yet", "first speaker from Africa", "first young speaker"."""
    created = await hub.session(title="Floor")
    mod, alice = await joined([hub.client(created, "moderator", name="Chair"),
                               hub.client(created, "participant", name="Alice", profile=ALICE)])
    item = await ask(alice, mod, "Who pays for community networks?", anonymous=True)

    reasons = reasons_of(await floor(hub, created), item)
    shown = json.dumps(reasons)
    for trace in ALICE_TRACES:
        assert trace not in shown, (trace, reasons)
    codes = [r["code"] for r in reasons]
    # Still useful: why the item ranks high, without whose group it is.
    assert codes.count("unheard_group") == 1 and "new_speaker" in codes
    assert {"code": "first_speaker", "params": {"dimension": "origin", "group": "remote"},
            "text": "first remote speaker"} in reasons  # origin shows on every item anyway
    await mod.close()
    await alice.close()


async def test_a_group_is_named_only_for_a_named_item_and_five_sharing_it(
    hub_factory: HubFactory,
) -> None:
    hub = await hub_factory(figures_every=1)
    created = await hub.session(title="Floor")
    mod = (await joined([hub.client(created, "moderator", name="Chair")]))[0]
    alice, bob = await joined([
        hub.client(created, "participant", name="Alice", profile=ALICE),
        hub.client(created, "participant", name="Bob",
                   profile={"stakeholder": "civil_society", "gender": "man"})])
    anonymous = await ask(alice, mod, "Anonymous question", anonymous=True)
    named = await ask(bob, mod, "Named question", anonymous=False)

    # Two civil society people: a group under five is named for nobody.
    answer = await floor(hub, created)
    assert "civil_society" not in json.dumps(answer["suggestions"])

    others = await joined([
        hub.client(created, "participant", name=f"Member {n}",
                   profile={"stakeholder": "civil_society"}) for n in range(4)])
    figures = await stats_after(hub, created, int(time.time() * 1000))
    assert cell(table(figures["participants"], "stakeholder"), "civil_society") == 6

    answer = await floor(hub, created)
    first = {"code": "first_speaker", "params": {"dimension": "stakeholder",
                                                 "group": "civil_society"},
             "text": "first speaker from civil society"}
    assert first in reasons_of(answer, named)  # six share it, and Bob gave his name
    assert "civil_society" not in json.dumps(reasons_of(answer, anonymous))  # never anonymous
    assert "man" not in {r["params"].get("group") for r in reasons_of(answer, named)}  # alone
    for client in (mod, alice, bob, *others):
        await client.close()


async def test_one_more_join_moves_no_figure_until_the_next_cut_off(
    hub_factory: HubFactory,
) -> None:
    """The attack: read `/stats`, watch one person join, read again: on main 6 -> 7 in the
    cells of that person's groups. Now both reads stand as of the same cut-off."""
    hub = await hub_factory(figures_every=1)
    created = await hub.session(title="Figures")
    profile = {"stakeholder": "government", "country": "FR", "gender": "man"}
    people = await joined([hub.client(created, "participant", name=f"P{n}", profile=profile)
                           for n in range(6)])
    figures = await stats_after(hub, created, int(time.time() * 1000))
    assert cell(table(figures["participants"], "stakeholder"), "government") == 6

    late: list[Client] = []
    while True:  # a pair of reads within one period (a read may straddle a cut-off: again)
        before = await stats(hub, created)
        newcomer = hub.client(created, "participant", name=f"Late {len(late)}", profile=profile)
        late.append(newcomer)
        await newcomer.connect()
        after = await stats(hub, created)
        if after.get("as_of") == before.get("as_of"):
            break
    assert after == before  # no cell moved: the newcomer is not in these figures
    assert cell(table(after["participants"], "stakeholder"), "government") < 6 + len(late)

    later = await stats_after(hub, created, int(time.time() * 1000))
    assert later["as_of"] > after["as_of"]
    assert cell(table(later["participants"], "stakeholder"), "government") == 6 + len(late)
    for client in (*people, *late):
        await client.close()


async def test_identities_that_never_acted_or_declared_count_in_no_figure(
    hub_factory: HubFactory,
) -> None:
    """One join link makes any number of identities: joining alone must not move a figure.
    On main every identity counted: the attendance said 12 remote people, not 7."""
    hub = await hub_factory(figures_every=1)
    created = await hub.session(title="Figures", settings={"premoderation": False})
    sid = created["id"]
    mod = (await joined([hub.client(created, "moderator", name="Chair")]))[0]
    declared = await joined([
        hub.client(created, "participant", name=f"D{n}", profile={"stakeholder": "media"})
        for n in range(5)])
    asker, voter = await joined([hub.client(created, "participant", name="Asker"),
                                 hub.client(created, "participant", name="Voter")])
    lurkers = await joined([hub.client(created, "participant", name=f"L{n}")
                            for n in range(5)])
    item = (await asker.ok({"type": "ask", "kind": "question", "key": "q",
                            "text": "A question"}))["item"]
    await voter.ok({"type": "vote", "item": item})

    figures = await stats_after(hub, created, int(time.time() * 1000))
    assert cell(figures["attendance"], "remote") == 7  # five declared, one asked, one voted
    assert table(figures["participants"], "stakeholder")["total"] == 7

    status, body, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}",
                                  {"state": "closed"}, token=ADMIN_KEY)
    assert status == 200, body
    status, report, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/report?format=json",
                                    token=ADMIN_KEY)
    assert status == 200, report
    assert cell(report["participation"]["attendance"], "remote") == 7
    assert report["participation"]["as_of"] >= figures["as_of"]  # closed: final, as of now
    status, markdown, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/report",
                                      token=ADMIN_KEY)
    assert status == 200 and "Figures as of " in markdown
    # Closed, the figures are final: declaring a profile now counts nobody.
    late = hub.client(created, "participant", name="Late", profile={"stakeholder": "media"})
    await late.connect()
    figures = await stats(hub, created)
    assert cell(figures["attendance"], "remote") == 7
    for client in (mod, *declared, asker, voter, *lurkers, late):
        await client.close()


# -- the pure parts -------------------------------------------------------------------------

FIRST_CS = Reason("first_speaker", {"dimension": "stakeholder", "group": "civil_society"})
QUIET_WOMEN = Reason("not_heard_for", {"dimension": "gender", "group": "woman", "minutes": 12})
PASSED_YOUTH = Reason("group_passed_over", {"dimension": "youth", "group": "youth", "turns": 4})
FIRST_REMOTE = Reason("first_speaker", {"dimension": "origin", "group": "remote"})
MANY = {("stakeholder", "civil_society"): 5, ("gender", "woman"): 9, ("youth", "youth"): 5,
        (ordering.MIC, "civil_society"): 5}


def test_disclose_names_a_group_only_for_a_named_item_that_five_share() -> None:
    reasons = (FIRST_CS, QUIET_WOMEN, PASSED_YOUTH, FIRST_REMOTE)
    assert ordering.disclose(reasons, anonymous=False, shared=MANY, k=5) == reasons
    few = {**MANY, ("stakeholder", "civil_society"): 4}
    assert ordering.disclose(reasons, anonymous=False, shared=few, k=5) == (
        Reason("unheard_group", {}), QUIET_WOMEN, PASSED_YOUTH, FIRST_REMOTE)


def test_disclose_never_names_a_declared_group_for_an_anonymous_item() -> None:
    reasons = (FIRST_CS, QUIET_WOMEN, PASSED_YOUTH, FIRST_REMOTE, Reason("new_speaker", {}))
    assert ordering.disclose(reasons, anonymous=True, shared=MANY, k=5) == (
        Reason("unheard_group", {}), Reason("quiet_group", {}), Reason("passed_over_group", {}),
        FIRST_REMOTE, Reason("new_speaker", {}))


def test_disclose_gives_each_unnamed_reason_once() -> None:
    region = Reason("first_speaker", {"dimension": "region", "group": "african"})
    shown = ordering.disclose((FIRST_CS, region), anonymous=True, shared={}, k=5)
    assert shown == (Reason("unheard_group", {}),)


def test_disclose_budgets_and_microphones() -> None:
    spent = Reason("budget_spent", {"group": "civil_society"})
    mic = Reason("slot", {"slot": "civil_society", "round": 2})
    remote = Reason("slot", {"slot": "remote", "round": 2})
    assert ordering.disclose((spent,), anonymous=False, shared=MANY, k=5) == (spent,)
    assert ordering.disclose((spent,), anonymous=True, shared=MANY, k=5) == (
        Reason("group_budget_spent", {}),)
    assert ordering.disclose((mic,), anonymous=False, shared=MANY, k=5) == (mic,)
    assert ordering.disclose((mic,), anonymous=False, shared={}, k=5) == (
        Reason("slot", {"slot": "room", "round": 2}),)
    assert ordering.disclose((remote,), anonymous=True, shared={}, k=5) == (remote,)


def test_unnamed_reasons_read_in_english() -> None:
    assert ordering.describe(Reason("unheard_group", {})) == "from a group not heard yet"
    assert ordering.describe(Reason("quiet_group", {})) == "from a group not heard for a while"
    assert "passed over" in ordering.describe(Reason("passed_over_group", {}))
    assert ordering.describe(Reason("group_budget_spent", {})) == (
        "their group used up its speaking time")
    assert ordering.describe(Reason("slot", {"slot": "room", "round": 3})) == (
        "room microphone, round 3")


def test_shared_groups_counts_declared_cuts_and_microphones() -> None:
    people: list[tuple[str, dict[str, Any]]] = [
        ("remote", ALICE), ("room", {"stakeholder": "academia"}), ("remote", {})]
    counts = ordering.shared_groups(people)
    assert counts[("stakeholder", "civil_society")] == 1
    assert counts[("region", "african")] == 1
    assert counts[("youth", "youth")] == 1
    assert counts[(ordering.MIC, "technical_academic")] == 1
    assert counts[("stakeholder", "not_declared")] == 1
    assert not any(dimension == "origin" for dimension, _ in counts)


def test_cutoff_is_the_start_of_the_current_period() -> None:
    assert figures_rules.cutoff(1_000_000, 300_000) == 900_000
    assert figures_rules.cutoff(900_000, 300_000) == 900_000
    assert figures_rules.cutoff(1_199_999, 300_000) == 900_000
    assert figures_rules.cutoff(599_999) == 300_000  # the default period, five minutes


def test_turns_as_of_a_cutoff() -> None:
    turns = [ordering.Turn("i1", "a", "remote", {}, 100, 200),
             ordering.Turn("i2", "b", "remote", {}, 300, 500),
             ordering.Turn("i3", "c", "remote", {}, 600, None)]
    assert figures_rules.as_of(turns, 400) == [
        turns[0], ordering.Turn("i2", "b", "remote", {}, 300, None)]
    assert figures_rules.as_of(turns, 50) == []


def test_an_identity_counts_from_its_first_act_or_declaration() -> None:
    state = make_session()  # Alice and Bob joined at 1000 without a profile
    assert state.identities[ALICE_ACTOR.id].counted is None
    item = ask_item(state, ALICE_ACTOR, now=2500)
    assert state.identities[ALICE_ACTOR.id].counted == 2500
    moderate(state, item, "approve")
    run(state, commands.vote(state, BOB_ACTOR, item, False, now=3000))
    assert state.identities[BOB_ACTOR.id].counted == 3000
    run(state, commands.vote(state, BOB_ACTOR, item, True, now=4000))  # undone: still acted
    assert state.identities[BOB_ACTOR.id].counted == 3000
    run(state, commands.join(state, "p9", "participant", "Cleo", {"gender": "woman"}, False,
                             5000))
    assert state.identities["p9"].counted == 5000
    run(state, commands.join(state, "p9", "participant", "Cleo B", None, False, 6000))
    assert state.identities["p9"].counted == 5000  # a later change keeps the first time
    copy = make_session()
    restore(copy, {"state": dump_state(state)})
    assert copy.identities["p9"].counted == 5000


def test_declaring_after_closing_counts_nobody() -> None:
    state = make_session()
    run(state, commands.change_session(state, actor=commands.Actor("o", "organizer", "O"),
                                       new_state="closed", title=None, languages=None,
                                       settings=None))
    run(state, commands.join(state, "p9", "participant", "Late", {"gender": "woman"}, False,
                             9000))
    assert state.identities["p9"].counted is None
    assert meeting.figures_cutoff(state, 9_999_999, 300_000) == 9_999_999  # final figures


def test_participation_counts_who_counted_by_the_cutoff() -> None:
    state = make_session()
    for n in range(6):
        run(state, commands.join(state, f"d{n}", "participant", f"D{n}",
                                 {"stakeholder": "media"}, False, 10_000 + n * 1000))
    figures = meeting.participation(state, 14_000)  # d0..d4 declared by then
    assert figures.table("participants", "stakeholder").value("media") == 5
    figures = meeting.participation(state, 15_000)
    assert figures.table("participants", "stakeholder").value("media") == 6
    assert figures.attendance.value("remote") == 6  # Alice and Bob only joined


def test_floor_answer_hides_an_anonymous_askers_groups_and_scores_by_rank() -> None:
    state = make_session()
    run(state, commands.join(state, ALICE_ACTOR.id, "participant", "Alice", dict(ALICE), False,
                             1500))
    item = ask_item(state, ALICE_ACTOR, anonymous=True, now=2000)
    moderate(state, item, "approve")
    answer = meeting.suggestions(state, "balanced", 3000, 300_000)
    shown = json.dumps(answer["suggestions"])
    for trace in ALICE_TRACES:
        assert trace not in shown
    assert [s["score"] for s in answer["suggestions"]] == [1]


def test_the_figures_period_is_checked_at_start() -> None:
    assert Config.from_env({}).figures_every == 300
    assert Config.from_env({"HUB_FIGURES_EVERY": "60"}).figures_every == 60
    for bad in ("0", "3601"):
        with pytest.raises(ValueError, match="HUB_FIGURES_EVERY takes 1 to 3600 seconds"):
            Config.from_env({"HUB_FIGURES_EVERY": bad})
