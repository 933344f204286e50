"""The JSON API end to end: real HTTP to uvicorn, real Temporal dev server,
a real worker and a real SQLite register (see conftest.py)."""
from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest_asyncio

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from console.errors import UNKNOWN
from domain.actions import ACTION_MODELS, Vet
from domain.calendar import SchoolCalendar
from domain.clock import uk_date
from domain.guards import Context
from domain.lifecycle import check
from domain.models import Actor, Placement, Role
from domain.settings import PolicySettings
from tests.proxy import SECRET_HEADER

SCHOOL = samples.SCHOOL.school_id
OTHER = samples.OTHER_SCHOOL.school_id
START_WAIT_S = 20


def headers(user: str, role: Role, school: str | None = SCHOOL) -> dict[str, str]:
    h = {"X-User": user, "X-Role": role.value, **SECRET_HEADER}
    if school is not None:
        h["X-School"] = school
    return h


LEAD = headers("aplead-137000", Role.ap_lead)
HEAD = headers("head-137000", Role.headteacher)
OPS = headers("ops-1", Role.trust_operations, None)
OTHER_LEAD = headers("aplead-137001", Role.ap_lead, OTHER)

PLACEMENT_ID = re.compile(r"^placement-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --- helpers -------------------------------------------------------------------


def today() -> date:
    return uk_date(datetime.now(UTC))


def last_school_day(cal: SchoolCalendar) -> date:
    """Today if it is a school day, else the school day before it."""
    d = today()
    return d if cal.is_school_day(d) else cal.add_school_days(d, -1)


def body(model) -> dict:
    """The JSON a client would send for one of the sample models."""
    return model.model_dump(mode="json", exclude_unset=True)


def unknown_outcome(response) -> bool:
    """The one 5xx the API may give: 503 with the documented body."""
    try:
        return response.status_code == 503 and response.json() == {"detail": {"message": UNKNOWN}}
    except ValueError:
        return False


def expect(r: httpx.Response, status: int):
    """The response's JSON; on an unexpected status, fails showing the body."""
    assert r.status_code == status, (
        f"{r.request.method} {r.request.url.path} -> {r.status_code}, expected {status}: {r.text}"
    )
    return r.json()


def new_pupil():
    """The sample pupil under an id of their own: one pupil's placements at
    one provider may not overlap (RULES: one placement at a time)."""
    return samples.proposal(today()).pupil.model_copy(update={"pupil_id": f"P-{uuid.uuid4().hex[:8]}"})


async def propose(http: httpx.AsyncClient, start: date | None = None, who: dict = LEAD, **changes) -> dict:
    school = samples.OTHER_SCHOOL if who.get("X-School") == OTHER else samples.SCHOOL
    if start is None:
        start = load_calendar(school.school_id, Settings().calendars_dir).add_school_days(today(), 15)
    changes.setdefault("pupil", new_pupil())
    proposal = samples.proposal(start, school=school, **changes)
    return expect(await http.post("/api/placements", headers=who, json=proposal.model_dump(mode="json")), 201)


async def act(http: httpx.AsyncClient, pid: str, action: str, data, who: dict = LEAD, status: int = 200):
    payload = body(data) if hasattr(data, "model_dump") else data
    return expect(await http.post(f"/api/placements/{pid}/actions/{action}", headers=who, json=payload), status)


async def upload_copy(http: httpx.AsyncClient, pid: str, kind: str = "notice_copy") -> str:
    """Keeps the copy of a letter the school handed over itself; its document id."""
    pdf = b"%PDF-1.4\n% the copy staff scanned of the letter they handed over\n%%EOF\n"
    r = await http.post(f"/api/placements/{pid}/documents", params={"kind": kind}, content=pdf,
                        headers={**LEAD, "Content-Type": "application/pdf"})
    return expect(r, 201)["document_id"]


async def get(http: httpx.AsyncClient, pid: str, who: dict = LEAD) -> dict:
    return expect(await http.get(f"/api/placements/{pid}", headers=who), 200)


async def history(http: httpx.AsyncClient, pid: str, who: dict = LEAD) -> list[dict]:
    return expect(await http.get(f"/api/placements/{pid}/history", headers=who), 200)


async def pages(http: httpx.AsyncClient, path: str, who: dict, **params) -> list[dict]:
    """Every item of a paged list, following its cursors to the last page."""
    items, cursor = [], None
    while True:
        page = expect(await http.get(path, headers=who, params={**params, **({"cursor": cursor} if cursor else {})}), 200)
        assert set(page) == {"items", "total", "total_capped", "next_cursor"}
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            assert len(items) == page["total"]
            return items


async def listed(http: httpx.AsyncClient, who: dict = OPS, **params) -> list[dict]:
    return await pages(http, "/api/placements", who, **params)


async def wait_for_state(http: httpx.AsyncClient, pid: str, state: str, who: dict = LEAD) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_WAIT_S
    snap = await get(http, pid, who)
    while snap["placement"]["state"] != state:
        assert loop.time() < deadline, (
            f"{pid} still {snap['placement']['state']} after {START_WAIT_S} s waiting for {state}; "
            f"start blocked by: {snap['start_blocked']}"
        )
        await asyncio.sleep(0.2)
        snap = await get(http, pid, who)
    return snap


# --- one placement driven from proposal to closure over HTTP alone ---------------------


LIFECYCLE = [
    ("propose", "proposed", LEAD),
    ("vet", "vetted", LEAD),
    ("consult_la", "la_consulted", LEAD),
    ("notify", "notified", HEAD),
    ("start", "active", None),  # the workflow itself, on the start date
    ("open_review", "under_review", LEAD),
    ("record_review", "active", LEAD),
    ("open_review", "under_review", HEAD),
    ("reintegrate", "reintegrating", LEAD),
    *[("record_evaluation", "reintegrating", LEAD)] * 4,  # the end evaluation's four parts
    ("close", "closed", HEAD),
]


@pytest_asyncio.fixture(scope="module")
async def closed_placement(api_stack) -> dict:
    """A placement taken through its whole lifecycle with HTTP calls only;
    the state after each step, as the API answered it."""
    cal = load_calendar(SCHOOL, Settings().calendars_dir)
    start = last_school_day(cal)
    notice_on = cal.add_school_days(start, -3)  # backdated: two clear school days' notice
    d = today()  # the review held, the return decided and the placement closed today
    meeting, invited = samples.review_bookable(cal, d)
    states: list[str] = []
    async with httpx.AsyncClient(base_url=api_stack.url, timeout=30) as http:
        snap = await propose(http, start)
        pid = snap["placement"]["placement_id"]
        states.append(snap["placement"]["state"])
        steps = [
            ("vet", samples.vet(safeguarding_confirmation_received_on=notice_on), LEAD),
            ("consult_la", samples.consult_la(notice_on), LEAD),
            ("notify", samples.notify(notice_on, await upload_copy(http, pid)), HEAD),
        ]
        for action, data, who in steps:
            states.append((await act(http, pid, action, data, who))["placement"]["state"])
        # The start date has come: the workflow starts the placement by itself.
        states.append((await wait_for_state(http, pid, "active"))["placement"]["state"])
        invitation = await upload_copy(http, pid, "invitation_copy")
        steps = [
            ("open_review", samples.open_review(meeting, invited, invitation), LEAD),
            ("record_review", samples.record_review(d), LEAD),
            ("open_review", samples.open_review(meeting, invited, invitation), HEAD),
            ("reintegrate", samples.reintegrate(d), LEAD),
            *[("record_evaluation", part, LEAD) for part in samples.end_evaluation(d)],
            ("close", samples.close(d), HEAD),
        ]
        for action, data, who in steps:
            states.append((await act(http, pid, action, data, who))["placement"]["state"])
    return {"placement_id": pid, "states": states}


async def test_health_and_openapi_list_the_action_routes(http):
    health = expect(await http.get("/healthz"), 200)
    assert health == {"status": "ok", "database": "ok", "temporal": "ok"}

    paths = expect(await http.get("/openapi.json"), 200)["paths"]
    for name in ACTION_MODELS:
        route = paths.get(f"/api/placements/{{placement_id}}/actions/{name}")
        assert route is not None and "post" in route, f"no POST route for action {name}"
        assert "409" in route["post"]["responses"]
    assert {"get", "post"} <= set(paths["/api/placements"])
    assert "get" in paths["/api/placements/{placement_id}"]
    assert "get" in paths["/api/placements/{placement_id}/history"]


async def test_the_docs_pages_serve_their_own_files(http):
    """Schools' networks may not reach a CDN: /docs and /redoc load nothing from elsewhere."""
    for page in ("/docs", "/redoc"):
        html = expect_text(await http.get(page))
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            assert (await http.get(asset)).status_code == 200, asset


def expect_text(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    return r.text


async def test_propose_starts_a_placement_in_state_proposed(http):
    snap = await propose(http)
    pid = snap["placement"]["placement_id"]
    assert PLACEMENT_ID.match(pid), pid
    assert snap["placement"]["state"] == "proposed"
    assert "vet" in snap["possible_actions"]

    again = await get(http, pid)
    assert again["placement"]["state"] == "proposed"
    assert pid in {r["placement_id"] for r in await listed(http, LEAD)}


async def test_a_placement_of_a_number_of_days_is_registered_and_exported_with_its_last_day(http):
    provider = f"Counted Days Centre {uuid.uuid4().hex[:8]}"
    snap = await propose(http, provider=samples.provider(name=provider))  # 30 days, on Mondays and Wednesdays
    start, p = date.fromisoformat(snap["placement"]["start_date"]), snap["placement"]
    assert (p["number_of_days"], p["planned_end_date"]) == (30, None)
    cal = load_calendar(SCHOOL, Settings().calendars_dir)
    attended = [d for d in (start + timedelta(days=n) for n in range(366))
                if d.weekday() in (0, 2) and cal.is_school_day(d)]
    last = attended[29].isoformat()

    [row] = [r for r in await listed(http, LEAD) if r["placement_id"] == p["placement_id"]]
    assert row["planned_end_date"] == last
    [entry] = expect(await http.get("/api/register", headers=LEAD, params={"provider": provider}), 200)["items"]
    assert (entry["planned_end_date"], entry["end_date"]) == (last, last)
    notice = expect_text(await http.get("/api/register/la-notice.csv", headers=LEAD, params={"provider": provider}))
    [notified] = list(csv.DictReader(io.StringIO(notice)))
    assert (notified["planned_end_date"], notified["end_date"]) == (last, "")


async def test_incomplete_proposal_is_422_with_each_unmet_clause(http):
    pupil = new_pupil()
    proposal = samples.proposal(
        load_calendar(SCHOOL, Settings().calendars_dir).add_school_days(today(), 15), pupil=pupil, objectives=[], number_of_days=None
    )
    detail = expect(await http.post("/api/placements", headers=LEAD, json=proposal.model_dump(mode="json")), 422)["detail"]
    assert detail["action"] == "propose"
    clauses = {u["clause"] for u in detail["unmet"]}
    assert clauses == {"§3.6; commissioning agreement", "§2.3; DfE guidance 2025"}
    assert all(u["message"] for u in detail["unmet"])
    # Nothing was registered.
    assert pupil.pupil_id not in {r["pupil_id"] for r in await listed(http)}


async def test_a_census_code_the_trust_does_not_hold_is_refused_at_proposal(http):
    pupil = new_pupil()
    start = load_calendar(SCHOOL, Settings().calendars_dir).add_school_days(today(), 15)
    proposal = samples.proposal(start, pupil=pupil, census_reason="NOT_A_REASON",
                                provider=samples.provider(urn=None, ukprn=None, setting_type="NOT_A_TYPE"))
    detail = expect(await http.post("/api/placements", headers=LEAD, json=proposal.model_dump(mode="json")), 422)["detail"]
    messages = [u["message"] for u in detail["unmet"] if "school census" in u["clause"]]
    assert len(messages) == 2 and "census_reason NOT_A_REASON" in messages[0] and "BEHAVIOUR" in messages[0]
    assert "setting_type NOT_A_TYPE" in messages[1]
    assert pupil.pupil_id not in {r["pupil_id"] for r in await listed(http)}
    # A code the trust's table holds is taken.
    assert (await propose(http, census_reason="BEHAVIOUR"))["placement"]["census_reason"] == "BEHAVIOUR"


async def test_invalid_json_shape_is_422(http):
    r = await http.post("/api/placements", headers=LEAD, json={"pupil": "not a pupil"})
    errors = expect(r, 422)["detail"]
    assert isinstance(errors, list) and errors, r.text
    assert any(e["loc"][:2] == ["body", "pupil"] for e in errors)

    r = await http.post("/api/placements", headers={**LEAD, "Content-Type": "application/json"}, content=b"{not json")
    expect(r, 422)

    pid = (await propose(http))["placement"]["placement_id"]
    before = await get(http, pid)
    expect(await http.post(f"/api/placements/{pid}/actions/vet", headers=LEAD, json={"no_such_field": 1}), 422)
    expect(await http.post(f"/api/placements/{pid}/actions/open_review", headers=LEAD, json={"meeting_on": "soon"}), 422)
    assert await get(http, pid) == before


async def test_whole_lifecycle_over_http(closed_placement, http):
    assert closed_placement["states"] == [state for _, state, _ in LIFECYCLE]
    snap = await get(http, closed_placement["placement_id"])
    assert snap["placement"]["state"] == "closed"
    assert snap["possible_actions"] == []
    assert [h["action"] for h in snap["placement"]["history"]] == [a for a, _, _ in LIFECYCLE]


async def test_history_shows_each_action_with_its_actor(closed_placement, http):
    trail = await history(http, closed_placement["placement_id"])
    expected_from = [""] + [state for _, state, _ in LIFECYCLE[:-1]]
    assert [(e["action"], e["from_state"], e["to_state"]) for e in trail] == [
        (action, before, after) for (action, after, _), before in zip(LIFECYCLE, expected_from)
    ]
    assert [e["seq"] for e in trail] == list(range(1, len(LIFECYCLE) + 1))
    for event, (action, _, who) in zip(trail, LIFECYCLE):
        if who is None:
            assert (event["actor_id"], event["actor_role"]) == ("apflow", "system"), event
        else:
            assert (event["actor_id"], event["actor_role"]) == (who["X-User"], who["X-Role"]), event
        assert event["at"]


async def test_actions_on_a_closed_placement_are_409(closed_placement, http):
    pid = closed_placement["placement_id"]
    before = await get(http, pid)
    d = today()
    for action, data in (
        ("close", samples.close(d)),
        ("terminate", samples.terminate(d)),
        ("open_review", samples.open_review(d)),
    ):
        detail = (await act(http, pid, action, data, HEAD, status=409))["detail"]
        assert detail["action"] == action
        assert "nothing" in detail["message"]
    assert await get(http, pid) == before


async def test_refused_action_is_409_listing_every_unmet_condition_and_changes_nothing(http):
    pid = (await propose(http))["placement"]["placement_id"]
    before, trail_before = await get(http, pid), await history(http, pid)

    empty_vet = Vet()
    detail = (await act(http, pid, "vet", {}, status=409))["detail"]
    assert detail["action"] == "vet"
    # Every condition the policy finds unmet, each with its clause, exactly as the domain judges it.
    ctx = Context(
        today=today(), calendar=load_calendar(SCHOOL, Settings().calendars_dir), settings=PolicySettings(),
        actor=Actor(user_id=LEAD["X-User"], role=Role.ap_lead, school_id=SCHOOL),
    )
    _, unmet = check(Placement.model_validate(before["placement"]), empty_vet, ctx)
    assert len(unmet) > 3
    assert detail["unmet"] == [{"clause": u.clause, "message": u.message} for u in unmet]
    clauses = " ".join(u["clause"] for u in detail["unmet"])
    for clause in ("appendix checklist", "appendix: insurance", "§9.2"):
        assert clause in clauses

    assert await get(http, pid) == before
    assert await history(http, pid) == trail_before


async def test_notice_refused_for_each_missing_condition(http):
    """An off-site direction's notice from the AP lead, with a date claimed
    for it: the headteacher rule and the claimed date are both reported."""
    cal = load_calendar(SCHOOL, Settings().calendars_dir)
    start = cal.add_school_days(today(), 15)
    pid = (await propose(http, start))["placement"]["placement_id"]
    await act(http, pid, "vet", samples.vet())
    await act(http, pid, "consult_la", samples.consult_la(today()))
    before = await get(http, pid)

    late = cal.add_school_days(start, -1)
    detail = (await act(http, pid, "notify", {"sent_on": late.isoformat()}, LEAD, status=409))["detail"]
    assert [u["clause"] for u in detail["unmet"]] == ["§6.5"]
    assert "`sent_on` is not accepted" in detail["unmet"][0]["message"]
    detail = (await act(http, pid, "notify", {}, LEAD, status=409))["detail"]
    assert [u["clause"] for u in detail["unmet"]] == ["§6.4-6.5"]
    assert await get(http, pid) == before


async def test_action_not_possible_in_this_state_is_409(http):
    pid = (await propose(http))["placement"]["placement_id"]
    before = await get(http, pid)
    detail = (await act(http, pid, "close", samples.close(today()), status=409))["detail"]
    assert [u["clause"] for u in detail["unmet"]] == ["lifecycle"]
    assert "not possible while the placement is proposed" in detail["unmet"][0]["message"]
    assert await get(http, pid) == before


async def test_unknown_placement_is_404(http):
    pid = f"placement-{uuid.uuid4()}"
    expect(await http.get(f"/api/placements/{pid}", headers=OPS), 404)
    expect(await http.get(f"/api/placements/{pid}/history", headers=OPS), 404)
    expect(await http.post(f"/api/placements/{pid}/actions/vet", headers=LEAD, json=body(samples.vet())), 404)


async def test_unknown_action_is_404(http):
    pid = (await propose(http))["placement"]["placement_id"]
    expect(await http.post(f"/api/placements/{pid}/actions/teleport", headers=LEAD, json={}), 404)
    assert (await get(http, pid))["placement"]["state"] == "proposed"


async def test_other_schools_staff_see_only_their_own_school(http):
    ours = (await propose(http))["placement"]["placement_id"]
    theirs = (await propose(http, who=OTHER_LEAD))["placement"]["placement_id"]

    expect(await http.get(f"/api/placements/{ours}", headers=OTHER_LEAD), 404)
    expect(await http.get(f"/api/placements/{ours}/history", headers=OTHER_LEAD), 404)
    expect(await http.post(f"/api/placements/{ours}/actions/vet", headers=OTHER_LEAD, json=body(samples.vet())), 404)
    assert (await get(http, ours))["placement"]["state"] == "proposed"

    rows = await listed(http, OTHER_LEAD)
    assert theirs in {r["placement_id"] for r in rows}
    assert {r["school_id"] for r in rows} == {OTHER}
    rows = await listed(http, LEAD)
    assert ours in {r["placement_id"] for r in rows}
    assert {r["school_id"] for r in rows} == {SCHOOL}
    # Asking for another school's list is refused outright, and so is a list
    # for school staff who name no school (no filter would mean every school).
    expect(await http.get("/api/placements", headers=OTHER_LEAD, params={"school_id": SCHOOL}), 403)
    for role in (Role.ap_lead, Role.headteacher, Role.dsl, Role.provider):
        expect(await http.get("/api/placements", headers=headers("no-school", role, None)), 403)


async def test_list_filters_by_state_and_school(http):
    proposed = (await propose(http))["placement"]["placement_id"]
    vetted = (await propose(http))["placement"]["placement_id"]
    await act(http, vetted, "vet", samples.vet())
    theirs = (await propose(http, who=OTHER_LEAD))["placement"]["placement_id"]

    everything = {r["placement_id"] for r in await listed(http)}
    assert {proposed, vetted, theirs} <= everything

    rows = await listed(http, state="vetted")
    assert {r["state"] for r in rows} == {"vetted"}
    assert vetted in {r["placement_id"] for r in rows} and proposed not in {r["placement_id"] for r in rows}

    rows = await listed(http, school_id=OTHER)
    assert {r["school_id"] for r in rows} == {OTHER}
    assert theirs in {r["placement_id"] for r in rows}

    rows = await listed(http, state="proposed", school_id=SCHOOL)
    assert {(r["state"], r["school_id"]) for r in rows} == {("proposed", SCHOOL)}
    assert proposed in {r["placement_id"] for r in rows}
    assert await listed(http, state="no_such_state") == []
