"""Evaluations over the JSON API and through their links, on the real
stack: a part answered once through its link (the same answer twice is
410, recorded once), links refused for what they are not, the school's
part over the API, and every malformed answer refused at the edge with
nothing recorded."""
from __future__ import annotations

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.models import EvaluationPart, EvaluationStage
from tests.api.test_api import HEAD, LEAD, OPS, act, body, expect, get, headers, history, wait_for_state
from tests.console.helpers import started_today, today
from domain.models import Role

SCHOOL = samples.SCHOOL.school_id
JSON = {"Accept": "application/json"}


async def running(http, name: str) -> str:
    return await started_today(http, load_calendar(SCHOOL, Settings().calendars_dir), name)


async def link(http, pid: str, purpose: str, who=LEAD, status: int = 201) -> dict:
    return expect(await http.post(f"/api/placements/{pid}/links", headers=who, json={"purpose": purpose}), status)


def path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_a_parents_part_through_its_link_is_recorded_once(http):
    pid = await running(http, "Sam Links")
    issued = await link(http, pid, "evaluation_mid_parent")
    assert "/evaluation/" in issued["url"] and issued["purpose"] == "evaluation_mid_parent"
    at = path(issued["url"])

    asked = expect(await http.get(at, headers=JSON), 200)
    assert (asked["stage"], asked["part"]) == ("mid", "parent") and len(asked["statements"]) == 5
    assert asked["statements"][0] == "I understand/understood why my child was referred to an AP"

    before = await get(http, pid)
    for wrong in ({"scores": [4, 4, 4, 4], "signed_by": "Chris Example"},  # a statement left out
                  {"scores": [4, 4, 6, 4, 4], "signed_by": "Chris Example"},  # past the scale
                  {"scores": [4] * 5},  # unsigned
                  {"scores": [4] * 5, "signed_by": "x" * 201},
                  {"scores": [4] * 5, "signed_by": "Chris", "agreed_actions": "not theirs"},
                  ["not", "an", "object"]):
        answer = expect(await http.post(at, json=wrong), 422)
        assert answer["detail"]["error"] == "invalid", wrong
    assert (await get(http, pid))["placement"] == before["placement"]

    got = expect(await http.post(at, json={"scores": [5, 4, 4, 3, 5], "comment": "Much happier.", "signed_by": "Chris Example"}), 200)
    assert got == {"received": "evaluation_mid_parent", "placement_id": pid}
    snap = await get(http, pid)
    (mid,) = snap["placement"]["evaluations"]
    assert mid["stage"] == "mid" and mid["parent"]["scores"] == [5, 4, 4, 3, 5]
    assert mid["parent"]["recorded_by"]["role"] == "parent" and mid["parent"]["recorded_by"]["user_id"] == issued["link_id"]
    assert mid["parent"]["signed_on"] == today().isoformat() and mid["parent"]["on_behalf"] is False
    trail = await history(http, pid)

    # Answered twice: refused, recorded once.
    again = expect(await http.post(at, json={"scores": [1] * 5, "signed_by": "Chris Example"}), 410)
    assert again["detail"]["error"] == "used"
    assert expect(await http.get(at, headers=JSON), 410)["detail"]["error"] == "used"
    assert await history(http, pid) == trail
    assert (await get(http, pid))["placement"]["evaluations"][0]["parent"]["scores"] == [5, 4, 4, 3, 5]
    # A second link for the same part finds it answered.
    second = path((await link(http, pid, "evaluation_mid_parent"))["url"])
    assert expect(await http.post(second, json={"scores": [1] * 5, "signed_by": "Someone"}), 410)["detail"]["error"] == "used"
    assert await history(http, pid) == trail


async def test_links_are_refused_for_what_they_are_not(http):
    pid = await running(http, "Kim Links")
    issued = await link(http, pid, "evaluation_end_pupil")
    at = path(issued["url"])
    token = at.rsplit("/", 1)[1]
    # Not a provider's link, and a provider's link is not an evaluation's.
    assert expect(await http.get(f"/provider/{token}", headers=JSON), 403)["detail"]["error"] == "tampered"
    report = await link(http, pid, "final_report")
    assert expect(await http.get(path(report["url"]).replace("/provider/", "/evaluation/"), headers=JSON), 403)
    # Altered, or garbage: refused, never a 500.
    assert expect(await http.get(at[:-2] + ("AA" if not at.endswith("AA") else "BB"), headers=JSON), 403)
    for junk in ("x", "a.b", "." * 40, "%00"):
        r = await http.post(f"/evaluation/{junk}", json={"scores": [4] * 7, "signed_by": "A"})
        assert r.status_code in (403, 404), (junk, r.status_code, r.text)
    r = await http.post(at, content="&".join(f"f{i}=1" for i in range(50)),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    # Withdrawn by staff: 410, nothing recorded.
    expect(await http.post(f"/api/placements/{pid}/links/{issued['link_id']}/revoke", headers=LEAD), 200)
    assert expect(await http.post(at, json={"scores": [4] * 7, "signed_by": "Kim"}), 410)["detail"]["error"] == "revoked"
    assert (await get(http, pid))["placement"]["evaluations"] == []
    # Links are made by the school's AP lead or headteacher alone.
    link_refused = await http.post(f"/api/placements/{pid}/links", headers=headers("gov-1", Role.read_only),
                                   json={"purpose": "evaluation_end_pupil"})
    assert link_refused.status_code == 403
    # Its placement ended: the page says so when opened, and nothing is recorded.
    unanswered = path((await link(http, pid, "evaluation_end_pupil"))["url"])
    await act(http, pid, "terminate", samples.terminate(today()), who=HEAD)
    await wait_for_state(http, pid, "terminated")
    assert expect(await http.get(unanswered, headers=JSON), 410)["detail"]["error"] == "ended"
    page = await http.get(unanswered)
    assert page.status_code == 410 and "This placement has ended" in page.text
    assert expect(await http.post(unanswered, json={"scores": [4] * 7, "signed_by": "Kim"}), 410)["detail"]["error"] == "ended"
    assert (await get(http, pid))["placement"]["evaluations"] == []


async def test_the_schools_part_over_the_api_is_judged_and_validated_at_the_edge(http):
    pid = await running(http, "Lee Api")
    school = samples.evaluation_part(EvaluationStage.mid, EvaluationPart.school, today())
    before = await get(http, pid)
    for bad in ({**body(school), "scores": [4, 4, 9, 4, 4, 4, 4]}, {**body(school), "scores": []},
                {**body(school), "stage": "middle"}, {**body(school), "signed_on": 20260101},
                {**body(school), "comment": "x" * 4001}, {**body(school), "extra": 1}):
        expect(await http.post(f"/api/placements/{pid}/actions/record_evaluation", headers=LEAD, json=bad), 422)
    short = {**body(school), "scores": [4] * 5}
    detail = expect(await http.post(f"/api/placements/{pid}/actions/record_evaluation", headers=LEAD, json=short), 409)["detail"]
    assert [u["clause"] for u in detail["unmet"]] == ["appendix: evaluation"]
    assert "7 statements: 7 scores are needed, 5 were given" in detail["unmet"][0]["message"]
    no_actions = {**body(school), "agreed_actions": None}
    detail = expect(await http.post(f"/api/placements/{pid}/actions/record_evaluation", headers=LEAD, json=no_actions), 409)["detail"]
    assert "agreed actions" in detail["unmet"][0]["message"]
    # The roles that answer through links hold no account: claimed by a request, they act on nothing.
    for role in (Role.parent, Role.pupil, Role.provider):
        expect(await http.post(f"/api/placements/{pid}/actions/record_evaluation", headers=headers("lnk-claimed", role),
                               json=body(samples.evaluation_part(EvaluationStage.mid, EvaluationPart(role.value), today()))), 404)
        expect(await http.get(f"/api/placements/{pid}", headers=headers("lnk-claimed", role)), 404)
    # Trust operations see, but the school's part is the school's.
    expect(await http.post(f"/api/placements/{pid}/actions/record_evaluation", headers=OPS, json=body(school)), 409)
    assert (await get(http, pid))["placement"] == before["placement"]

    snap = expect(await http.post(f"/api/placements/{pid}/actions/record_evaluation", headers=LEAD, json=body(school)), 200)
    (mid,) = snap["placement"]["evaluations"]
    assert mid["school"]["scores"] == [4] * 7 and mid["agreed_actions"].startswith("Keep the weekly mentor")
    assert mid["school"]["recorded_by"]["user_id"] == LEAD["X-User"]
    summary = expect(await http.get(f"/api/placements/{pid}/evaluations", headers=LEAD), 200)
    assert [e["stage"] for e in summary] == ["mid", "end"]
    assert summary[0]["total"] == 28 and summary[0]["missing"] == ["pupil", "parent", "provider"]
    assert summary[0]["difference"] is None and summary[0]["max_score"] == 125
    assert summary[0]["parts"][3]["subtotal"] == 28 and len(summary[0]["parts"][3]["statements"]) == 7
    expect(await http.get(f"/api/placements/{pid}/evaluations", headers=headers("aplead-137001", Role.ap_lead, "137001")), 404)
    # Typed into close, the scores are refused: close reads the recorded end evaluation.
    typed = {**body(samples.close(today())), "evaluation": {"pupil": [4] * 7, "parent": [4] * 5, "provider": [5] * 6, "school": [4] * 7}}
    detail = expect(await http.post(f"/api/placements/{pid}/actions/close", headers=LEAD, json=typed), 409)["detail"]
    assert "appendix: evaluation" in [u["clause"] for u in detail["unmet"]]
