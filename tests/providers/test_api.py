"""The trust's providers over HTTP against the real stack: kept by AP leads
and trust operations with every change audited, read by anyone signed in; a
proposal naming a provider takes its record's details, and one whose
insurance or a required check has expired is refused with nothing started."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.models import Actor, Role
from store import providers as store
from store.tables import PlacementRow
from tests.api.test_api import HEAD, LEAD, OPS, OTHER_LEAD, SCHOOL, expect, headers, new_pupil, pages, today
from workflows.client import proposal_placement_id

from .records import insurance, record

PROVIDER_ID = re.compile(r"^prov-[0-9a-f]{32}$")
DSL = headers("dsl-137000", Role.dsl)
GOVERNOR = headers("governor-137000", Role.read_only)


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


async def add(http, who=LEAD, **changes) -> dict:
    given = record(today(), name=unique("Bridgeway Learning Centre"), **changes)
    return expect(await http.post("/api/providers", headers=who, json=given.model_dump(mode="json")), 201)


def start_day():
    return load_calendar(SCHOOL, Settings().calendars_dir).add_school_days(today(), 15)


def proposal_by_id(provider_id: str, **changes) -> dict:
    body = samples.proposal(start_day(), pupil=new_pupil(), **changes).model_dump(mode="json")
    del body["provider"]
    return {**body, "provider_id": provider_id}


async def test_an_ap_lead_adds_a_provider_under_an_opaque_id_and_the_change_is_audited(http, api_stack):
    made = await add(http)
    assert PROVIDER_ID.match(made["provider_id"]) and made["version"] == 1
    assert made["status"] == "current" and made["problems"] == [] and made["gaps"] == []
    listed = await pages(http, "/api/providers", GOVERNOR, name=made["provider"]["name"][-6:])
    assert [p["provider_id"] for p in listed] == [made["provider_id"]]
    assert listed[0]["vetted"] is True and listed[0]["ukprn"] == "10012345"
    (event,) = store.events(api_stack.engine, made["provider_id"])
    assert (event.action, event.actor_id, event.actor_role, event.actor_school_id) == ("created", "aplead-137000", "ap_lead", SCHOOL)
    assert {"provider", "checklist", "insurance"} <= set(event.changed)


@pytest.mark.parametrize("who", [HEAD, DSL, GOVERNOR], ids=["headteacher", "dsl", "read_only"])
async def test_only_ap_leads_and_trust_operations_keep_the_list(http, who):
    given = record(today(), name=unique("Refused Provider"))
    r = await http.post("/api/providers", headers=who, json=given.model_dump(mode="json"))
    assert r.status_code == 403 and "ap_lead, trust_operations" in r.json()["detail"]
    assert await pages(http, "/api/providers", LEAD, name=given.provider.name) == []
    made = await add(http, who=OPS)
    r = await http.put(f"/api/providers/{made['provider_id']}", headers=who, json=given.model_dump(mode="json"))
    assert r.status_code == 403
    assert expect(await http.get(f"/api/providers/{made['provider_id']}", headers=who), 200)["version"] == 1


async def test_a_change_is_a_new_version_and_an_edit_over_a_stale_one_is_refused(http, api_stack):
    made = await add(http, who=OPS)
    pid = made["provider_id"]
    changed = {k: made[k] for k in ("provider", "checklist", "insurance", "safeguarding_confirmation_received_on", "other_sections")}
    changed["insurance"]["public_liability_expires_on"] = (today() + timedelta(days=10)).isoformat()
    after = expect(await http.put(f"/api/providers/{pid}", headers=LEAD, json={**changed, "version": 1}), 200)
    assert after["version"] == 2 and after["status"] == "expiring"
    assert after["problems"][0]["clause"] == "appendix: insurance" and not after["problems"][0]["expired"]
    stale = await http.put(f"/api/providers/{pid}", headers=LEAD, json={**changed, "version": 1})
    assert stale.status_code == 409 and "version 2" in stale.json()["detail"]
    events = store.events(api_stack.engine, pid)
    assert [(e.version, e.action, e.actor_id) for e in events] == [(1, "created", "ops-1"), (2, "updated", "aplead-137000")]
    assert events[1].changed == ["insurance"]


@pytest.mark.parametrize("path,body,status", [
    ("/api/providers/prov-" + "0" * 32, None, 404),
    ("/api/providers/Bridgeway", None, 422),
    ("/api/providers?limit=501", None, 422),
    ("/api/providers?cursor=not-ours", None, 422),
])
async def test_unknown_and_malformed_addresses_are_refused(http, path, body, status):
    assert (await http.get(path, headers=LEAD)).status_code == status


async def test_malformed_records_are_422_and_change_nothing(http):
    good = record(today(), name=unique("Malformed")).model_dump(mode="json")
    for bad in ({**good, "provider": {**good["provider"], "urn": "12"}},
                {**good, "checklist": {"zz": {"status": "seen"}}},
                {**good, "insurance": {**good["insurance"], "public_liability_expires_on": 20270101}},
                {**good, "provider_id": "prov-" + "1" * 32}):
        assert (await http.post("/api/providers", headers=LEAD, json=bad)).status_code == 422
    assert await pages(http, "/api/providers", LEAD, name=good["provider"]["name"]) == []


async def test_a_proposal_picks_its_provider_and_the_providers_page_shows_it_to_its_school_alone(http, api_stack):
    made = await add(http)
    snap = expect(await http.post("/api/placements", headers=LEAD, json=proposal_by_id(made["provider_id"])), 201)
    placement = snap["placement"]
    assert placement["provider_id"] == made["provider_id"]
    assert placement["provider"]["name"] == made["provider"]["name"]
    with api_stack.engine.connect() as conn:
        assert conn.scalar(select(PlacementRow.provider_id).where(PlacementRow.placement_id == placement["placement_id"])) == made["provider_id"]
    mine = expect(await http.get(f"/api/providers/{made['provider_id']}", headers=LEAD), 200)
    assert [p["placement_id"] for p in mine["placements"]] == [placement["placement_id"]]
    assert mine["placements"][0]["evaluation_total"] is None and mine["placements_total"] == 1
    theirs = expect(await http.get(f"/api/providers/{made['provider_id']}", headers=OTHER_LEAD), 200)
    assert theirs["placements"] == [] and theirs["placements_total"] == 0


async def _not_started(client, who_id: str, key: str) -> None:
    pid = proposal_placement_id(Actor(user_id=who_id, role=Role.ap_lead, school_id=SCHOOL), key)
    with pytest.raises(RPCError) as e:
        await client.get_workflow_handle(pid).describe()
    assert e.value.status is RPCStatusCode.NOT_FOUND


async def test_an_unknown_provider_id_is_422_and_nothing_is_started(http, dev_env):
    key = f"k-{uuid.uuid4().hex}"
    r = await http.post("/api/placements", headers={**LEAD, "Idempotency-Key": key},
                        json=proposal_by_id("prov-" + "f" * 32))
    assert r.status_code == 422
    assert f"no provider prov-{'f' * 32} is on the trust's list" in r.json()["detail"]["unmet"][0]["message"]
    await _not_started(dev_env.client, "aplead-137000", key)
    both = {**proposal_by_id("prov-" + "f" * 32), "provider": samples.provider().model_dump(mode="json")}
    r = await http.post("/api/placements", headers=LEAD, json=both)
    assert r.status_code == 422 and "not both" in r.text
    neither = proposal_by_id("prov-" + "f" * 32)
    del neither["provider_id"]
    assert (await http.post("/api/placements", headers=LEAD, json=neither)).status_code == 422


async def test_expired_insurance_refuses_a_proposal_naming_the_clause_and_nothing_is_started(http, dev_env, api_stack):
    lapsed = insurance(today() + timedelta(days=200), employers_liability_expires_on=today() - timedelta(days=3))
    made = await add(http, insurance=lapsed)
    assert made["status"] == "expired"
    key = f"k-{uuid.uuid4().hex}"
    r = await http.post("/api/placements", headers={**LEAD, "Idempotency-Key": key}, json=proposal_by_id(made["provider_id"]))
    assert r.status_code == 422
    unmet = r.json()["detail"]["unmet"]
    assert [u["clause"] for u in unmet] == ["appendix: insurance"]
    assert "employer's liability insurance expired on" in unmet[0]["message"]
    await _not_started(dev_env.client, "aplead-137000", key)
    with api_stack.engine.connect() as conn:
        assert conn.scalar(select(PlacementRow.placement_id).where(PlacementRow.provider_id == made["provider_id"])) is None


async def test_providers_of_open_placements_expiring_soon_are_listed_for_their_school(http):
    soon = await add(http, insurance=insurance(today() + timedelta(days=12)))
    far = await add(http)
    placed = {}
    for made in (soon, far):
        snap = expect(await http.post("/api/placements", headers=LEAD, json=proposal_by_id(made["provider_id"])), 201)
        placed[made["provider_id"]] = snap["placement"]["placement_id"]
    mine = expect(await http.get("/api/providers/expiring", headers=LEAD), 200)
    found = {e["provider_id"]: e for e in mine}
    assert soon["provider_id"] in found and far["provider_id"] not in found
    assert [p["placement_id"] for p in found[soon["provider_id"]]["placements"]] == [placed[soon["provider_id"]]]
    assert {p["clause"] for p in found[soon["provider_id"]]["problems"]} == {"appendix: insurance"}
    assert soon["provider_id"] not in {e["provider_id"] for e in expect(await http.get("/api/providers/expiring", headers=OTHER_LEAD), 200)}


async def test_the_providers_page_shows_each_placements_attendance_and_its_evaluation(http):
    from tests.api.test_api import HEAD, act, last_school_day, upload_copy, wait_for_state

    made = await add(http)
    cal = load_calendar(SCHOOL, Settings().calendars_dir)
    start = last_school_day(cal)
    notice_on = cal.add_school_days(start, -3)
    body = proposal_by_id(made["provider_id"], pattern=samples.FULL_TIME)
    body["start_date"] = start.isoformat()
    pid = expect(await http.post("/api/placements", headers=LEAD, json=body), 201)["placement"]["placement_id"]
    await act(http, pid, "vet", samples.vet(safeguarding_confirmation_received_on=notice_on))
    await act(http, pid, "consult_la", samples.consult_la(notice_on))
    await act(http, pid, "notify", samples.notify(notice_on, await upload_copy(http, pid)), HEAD)
    await wait_for_state(http, pid, "active")
    marked = (None, 0)  # started on a day with no school: no session to mark yet
    if cal.is_school_day(today()):
        marks = {"source": "provider", "marks": [
            {"placement_id": pid, "day": start.isoformat(), "session": "am", "code": "B"},
            {"placement_id": pid, "day": start.isoformat(), "session": "pm", "code": "O", "explained": False}]}
        expect(await http.post("/api/attendance", headers=LEAD, json=marks), 200)
        marked = (50.0, 2)

    def mine(page):
        (p,) = [p for p in page["placements"] if p["placement_id"] == pid]
        return p

    shown = mine(expect(await http.get(f"/api/providers/{made['provider_id']}", headers=LEAD), 200))
    assert (shown["attendance_percent"], shown["sessions_marked"], shown["evaluation_total"]) == (*marked, None)

    d = today()
    invitation = await upload_copy(http, pid, "invitation_copy")
    await act(http, pid, "open_review", samples.open_review(*samples.review_bookable(cal, d), invitation))
    await act(http, pid, "reintegrate", samples.reintegrate(d))
    for part in samples.end_evaluation(d):
        await act(http, pid, "record_evaluation", part)
    await act(http, pid, "close", samples.close(d), HEAD)
    shown = mine(expect(await http.get(f"/api/providers/{made['provider_id']}", headers=LEAD), 200))
    assert shown["state"] == "closed" and shown["evaluation_total"] == 4 * 7 + 4 * 5 + 5 * 6 + 4 * 7
    # The provider's page draws its placements' evaluation totals, the figures beside the picture.
    html = (await http.get(f"/providers/{made['provider_id']}", headers=LEAD)).text
    drawn = html[html.index('id="evaluation-totals"'):]
    assert "<svg" in drawn and f"<td class=\"govuk-table__cell govuk-table__cell--numeric\">{shown['evaluation_total']}</td>" in drawn


async def test_a_placement_is_not_vetted_against_a_record_expired_since_its_proposal(http):
    from tests.api.test_api import act, get

    made = await add(http)
    pid = expect(await http.post("/api/placements", headers=LEAD, json=proposal_by_id(made["provider_id"])), 201)["placement"]["placement_id"]
    record = {k: made[k] for k in ("provider", "checklist", "insurance", "safeguarding_confirmation_received_on", "other_sections")}
    record["checklist"]["k"] = {"status": "seen", "seen_on": (today() - timedelta(days=400)).isoformat(),
                                "expires_on": (today() - timedelta(days=1)).isoformat()}
    expect(await http.put(f"/api/providers/{made['provider_id']}", headers=LEAD, json=record), 200)
    refused = await act(http, pid, "vet", samples.vet(), status=409)
    assert [u["clause"] for u in refused["detail"]["unmet"]] == ["appendix checklist (k)"]
    assert "Child protection policy and procedures' expired on" in refused["detail"]["unmet"][0]["message"]
    assert (await get(http, pid))["placement"]["state"] == "proposed"
    record["checklist"]["k"]["expires_on"] = (today() + timedelta(days=300)).isoformat()  # renewed on the record
    expect(await http.put(f"/api/providers/{made['provider_id']}", headers=LEAD, json=record), 200)
    assert (await act(http, pid, "vet", samples.vet()))["placement"]["state"] == "vetted"
