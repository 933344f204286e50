"""Lists a page at a time, and the one-placement-at-a-time rule at
proposal, over real HTTP."""
from __future__ import annotations

from datetime import time

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from domain.models import Pattern, Weekday
from tests.api.test_api import HEAD, LEAD, OPS, OTHER_LEAD, SCHOOL, act, expect, listed, new_pupil, propose, today


def start():
    return load_calendar(SCHOOL, Settings().calendars_dir).add_school_days(today(), 15)


async def test_a_second_overlapping_placement_at_the_same_provider_is_refused_naming_the_first(http):
    pupil = new_pupil()
    first = (await propose(http, start(), pupil=pupil))["placement"]
    again = samples.proposal(start(), pupil=pupil).model_dump(mode="json")
    detail = expect(await http.post("/api/placements", headers=LEAD, json=again), 422)["detail"]
    assert detail["action"] == "propose" and "nothing was changed" in detail["message"]
    (u,) = detail["unmet"]
    assert u["clause"] == "RULES: one placement at a time"
    assert first["placement_id"] in u["message"] and first["start_date"] in u["message"]
    assert [r["placement_id"] for r in await listed(http) if r["pupil_id"] == pupil.pupil_id] == [first["placement_id"]]


async def test_an_overlap_is_listed_with_the_proposals_other_unmet_conditions(http):
    pupil = new_pupil()
    await propose(http, start(), pupil=pupil)
    incomplete = samples.proposal(start(), pupil=pupil, objectives=[]).model_dump(mode="json")
    clauses = {u["clause"] for u in expect(await http.post("/api/placements", headers=LEAD, json=incomplete), 422)["detail"]["unmet"]}
    assert {"RULES: one placement at a time", "§3.6; commissioning agreement"} <= clauses


async def test_part_time_placements_on_other_weekdays_and_other_pupils_are_allowed(http):
    pupil = new_pupil()
    await propose(http, start(), pupil=pupil)  # Mondays and Wednesdays
    tue_thu = Pattern(full_time=False, days=[Weekday.tue, Weekday.thu], arrival=time(9), departure=time(15))
    await propose(http, start(), pupil=pupil, pattern=tue_thu)
    await propose(http, start())  # another pupil


async def test_a_placement_that_has_ended_does_not_block_the_next(http):
    pupil = new_pupil()
    pid = (await propose(http, start(), pupil=pupil))["placement"]["placement_id"]
    await act(http, pid, "terminate", samples.terminate(today()), who=HEAD)
    await propose(http, start(), pupil=pupil)


async def test_lists_come_a_page_at_a_time_and_never_past_500(http):
    for _ in range(3):
        await propose(http, who=OTHER_LEAD)
    everything = await listed(http, OTHER_LEAD)
    first = expect(await http.get("/api/placements", headers=OTHER_LEAD, params={"limit": 2}), 200)
    assert len(first["items"]) == 2 and first["total"] == len(everything) and first["next_cursor"]
    second = expect(await http.get("/api/placements", headers=OTHER_LEAD, params={"limit": 2, "cursor": first["next_cursor"]}), 200)
    assert [r["placement_id"] for r in first["items"] + second["items"]] == [r["placement_id"] for r in everything[:4]]
    assert [r["start_date"] for r in everything] == sorted((r["start_date"] for r in everything), reverse=True)

    for bad in ({"limit": 501}, {"limit": 0}):
        errors = expect(await http.get("/api/placements", headers=OPS, params=bad), 422)["detail"]
        assert errors[0]["loc"] == ["query", "limit"]
    for path in ("/api/placements", "/api/escalations"):
        r = await http.get(path, headers=OPS, params={"cursor": "not-a-cursor"})
        assert "cursor" in expect(r, 422)["detail"]
    default = expect(await http.get("/api/placements", headers=OPS), 200)
    assert len(default["items"]) == min(50, default["total"])


async def test_escalations_come_a_page_at_a_time_oldest_first(http):
    for _ in range(3):
        pid = (await propose(http))["placement"]["placement_id"]
        await act(http, pid, "raise_concern", {"action": "raise_concern", "summary": "Pupil reports threats at the provider"})
    from tests.api.test_operations import escalations, wait_for_escalation

    await wait_for_escalation(http, pid, "safeguarding")
    everything = await escalations(http)
    assert [e["raised_at"] for e in everything] == sorted(e["raised_at"] for e in everything)
    page = expect(await http.get("/api/escalations", headers=OPS, params={"limit": 1}), 200)
    assert page["total"] == len(everything) and len(page["items"]) == 1 and page["next_cursor"]
    nxt = expect(await http.get("/api/escalations", headers=OPS, params={"limit": 1, "cursor": page["next_cursor"]}), 200)
    assert [page["items"][0], nxt["items"][0]] == everything[:2]


async def test_a_lists_total_says_in_the_api_description_where_counting_stops(http):
    schema = expect(await http.get("/openapi.json"), 200)
    page = schema["components"]["schemas"]["PageOut_PlacementSummary_"]["properties"]
    assert "1,000" in page["total"]["description"] and "lower bound" in page["total_capped"]["description"]
    listed_ = expect(await http.get("/api/placements", headers=OPS, params={"limit": 1}), 200)
    assert isinstance(listed_["total_capped"], bool) and listed_["total"] >= len(listed_["items"])
