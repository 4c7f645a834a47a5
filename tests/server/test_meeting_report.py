"""A whole meeting over real websockets (room, remote, two hubs) and the report it yields."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from typing import Any

from tests.support.harness import ADMIN_KEY, Client, ahttp
from tests.support.inprocess import RunningHub

XSS = "<img src=x onerror=alert(1)>"


def cell(table: dict[str, Any], group: str) -> Any:
    return next(c["value"] for c in table["cells"] if c["group"] == group)


def table(tables: list[dict[str, Any]], dimension: str) -> dict[str, Any]:
    return next(t for t in tables if t["dimension"] == dimension)


class Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.ids.update(v for k, v in attrs if k == "id" and v)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_meeting_with_room_remote_and_two_hubs(hub: RunningHub) -> None:
    created = await hub.session(title="Meaningful connectivity", settings={"room_count": 40})
    sid, tokens = created["id"], created["tokens"]
    mod = hub.client(created, "moderator", name="Chair")
    cap = hub.client(created, "captioner", name="Captioner")
    remote = [hub.client(created, "participant", name=f"Remote {n}",
                         profile={"stakeholder": "civil_society", "country": "KE",
                                  "gender": "woman", "youth": n < 5})
              for n in range(6)]
    room = [hub.client(created, "participant", name=f"Room {n}", in_room=True,
                       profile={"stakeholder": "government", "country": "FR", "gender": "man"})
            for n in range(5)]
    hubs = []
    for name, attendees in (("Nairobi hub", 35), ("Dhaka hub", 20)):
        status, minted, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/tokens",
                                        {"role": "hub", "name": name}, token=ADMIN_KEY)
        assert status == 201
        client = Client(hub.ws_base, sid, minted["token"])
        hubs.append((client, attendees))
    everyone = [mod, cap, *remote, *room, *(c for c, _ in hubs)]
    for client in everyone:
        await client.connect()
    for client, attendees in hubs:
        await client.ok({"type": "hub_status", "attendees": attendees})

    asked = {}
    asked["remote"] = (await remote[0].ok({"type": "ask", "kind": "question", "key": "r",
                                           "text": "How do we fund community networks?"}))["item"]
    asked["xss"] = (await remote[1].ok({"type": "ask", "kind": "question", "key": "x",
                                        "text": XSS, "anonymous": True}))["item"]
    asked["room"] = (await room[0].ok({"type": "ask", "kind": "comment", "key": "c",
                                       "text": "Spectrum policy matters"}))["item"]
    asked["hub"] = (await hubs[0][0].ok({"type": "ask", "kind": "question", "key": "h",
                                         "text": "What about rural Kenya?"}))["item"]
    asked["speaker"] = (await mod.ok({"type": "ask", "kind": "floor", "key": "s",
                                      "text": "Raised hand",
                                      "on_behalf": {"name": "Ana", "affiliation": "ITU"}}))["item"]
    for key in ("remote", "xss", "room", "hub"):
        await mod.ok({"type": "moderate", "item": asked[key], "action": "approve"})
    await room[1].ok({"type": "vote", "item": asked["hub"]})

    status, floor, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/floor?ordering=balanced",
                                   token=tokens["moderator"])
    assert status == 200 and floor["ordering"] == "balanced"
    assert {s["item"] for s in floor["suggestions"]} == {
        asked[k] for k in ("remote", "xss", "room", "hub", "speaker")}
    assert all(r["text"] for s in floor["suggestions"] for r in s["reasons"])
    await mod.ok({"type": "floor", "ordering": "alternate"})

    await cap.ok({"type": "caption", "text": "Welcome to the workshop", "seq": 1})
    await mod.ok({"type": "moderate", "item": asked["remote"], "action": "live"})
    await cap.ok({"type": "caption", "text": "Community networks need spectrum", "seq": 2})
    await mod.ok({"type": "flag", "kind": "takeaway", "text": "Community networks need spectrum",
                  "caption": 2})
    await mod.ok({"type": "moderate", "item": asked["hub"], "action": "live"})
    await cap.ok({"type": "caption", "text": "Rural Kenya needs backhaul", "seq": 3})
    await mod.ok({"type": "moderate", "item": asked["hub"], "action": "done"})
    await mod.ok({"type": "flag", "kind": "call_to_action", "text": "Fund rural backhaul",
                  "item": asked["hub"]})

    # Live, the figures stand as of the last cut-off (no differencing); closed, they are final.
    status, body, _ = await ahttp("PATCH", f"{hub.base}/api/sessions/{sid}",
                                  {"state": "closed"}, token=ADMIN_KEY)
    assert status == 200, body
    status, body, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/report?format=json",
                                  token=tokens["moderator"])
    assert status == 200, body
    assert body["info"]["title"] == "Meaningful connectivity"
    assert body["info"]["moderators"] == ["Chair"] and body["info"]["room_count"] == 40
    part = body["participation"]
    assert cell(part["attendance"], "room") == 40  # the organizer's head count
    assert cell(part["attendance"], "remote") == 6
    assert cell(part["attendance"], "hubs") == 55
    assert cell(part["hubs"], "Nairobi hub") == 35 and cell(part["hubs"], "Dhaka hub") == 20
    stakeholders = table(part["participants"], "stakeholder")
    assert cell(stakeholders, "civil_society") == 6 and cell(stakeholders, "government") == 5
    gender = table(part["participants"], "gender")
    assert cell(gender, "woman") == 6 and cell(gender, "man") == 5
    youth = table(part["participants"], "youth")
    assert all(c["suppressed"] or c["value"] in (0, None) or c["value"] >= 5
               for c in youth["cells"])  # no published cell under five people
    assert [t["text"] for t in body["takeaways"]] == ["Community networks need spectrum"]
    assert [t["text"] for t in body["calls_to_action"]] == ["Fund rural backhaul"]
    questions = {q["item"]: q for q in body["questions"]}
    assert questions[asked["remote"]]["answered"] is True
    assert questions[asked["remote"]]["asked_by"] == "Remote 0"
    assert questions[asked["remote"]]["stakeholder"] is None  # a name, so not a profile
    assert questions[asked["hub"]]["origin"] == "hub:Nairobi hub"
    assert questions[asked["room"]]["answered"] is False
    assert questions[asked["xss"]]["asked_by"] is None  # anonymous stays anonymous
    # Staff read the report and know who asked anonymously: no group on it, so none is learnt.
    assert questions[asked["xss"]]["stakeholder"] is None
    assert [c["text"] for c in body["transcript"]] == [
        "Welcome to the workshop", "Community networks need spectrum",
        "Rural Kenya needs backhaul"]

    status, markdown, headers = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/report",
                                            token=tokens["moderator"])
    assert headers["Content-Type"].startswith("text/markdown")
    assert markdown.startswith("# ") and "Meaningful connectivity" in markdown
    assert "Fund rural backhaul" in markdown
    status, html, headers = await ahttp("GET",
                                        f"{hub.base}/api/sessions/{sid}/report?format=html",
                                        token=tokens["moderator"])
    assert headers["Content-Type"].startswith("text/html")
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    parsed = Structure()
    parsed.feed(html)
    assert {"html", "h1", "table", "svg"} <= set(parsed.tags)
    assert "<script" not in html
    status, figures, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/report?format=csv",
                                     token=ADMIN_KEY)
    rows = list(csv.DictReader(io.StringIO(figures)))
    assert {"section": "attendance", "group": "hubs", "value": "55"}.items() <= next(
        r for r in rows if r["section"] == "attendance" and r["group"] == "hubs").items()

    status, live, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/stats",
                                  token=tokens["moderator"])
    assert status == 200 and cell(live["attendance"], "remote") == 6
    for role in ("participant", "screen"):
        status, _, _ = await ahttp("GET", f"{hub.base}/api/sessions/{sid}/report",
                                   token=tokens[role])
        assert status == 403
    for client in everyone:
        await client.close()
