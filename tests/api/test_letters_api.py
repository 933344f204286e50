"""Honest letters over HTTP: no request dates a letter before it is sent, a
copy given outside apflow is kept and named, and a parent with no email
address is written to by post from the school's list (a real dev server,
worker and API)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings

from tests.api.test_api import HEAD, LEAD, OTHER, SCHOOL, act, expect, get, propose, today, upload_copy

OTHER_LEAD = {**LEAD, "X-School": OTHER}


async def consulted(http, **changes) -> str:
    pid = (await propose(http, **changes))["placement"]["placement_id"]
    await act(http, pid, "vet", samples.vet())
    await act(http, pid, "consult_la", samples.consult_la(today()))
    return pid


async def test_no_request_dates_a_letter_before_it_is_sent(http):
    pid = await consulted(http)
    before = await get(http, pid)
    earlier = (today() - timedelta(days=9)).isoformat()

    for action, data in (("notify", {"sent_on": earlier}), ("notify", {"sent_on": today().isoformat()})):
        detail = (await act(http, pid, action, data, HEAD, status=409))["detail"]
        assert [u["clause"] for u in detail["unmet"]] == ["§6.5"] and "is not accepted" in detail["unmet"][0]["message"]
    # A copy that was never uploaded cannot stand for a notice given by hand.
    detail = (await act(http, pid, "notify", samples.notify(today()), HEAD, status=422))["detail"]
    assert "upload the copy first" in detail["unmet"][0]["message"]
    assert await get(http, pid) == before

    snap = await act(http, pid, "notify", {}, HEAD)
    assert snap["placement"]["state"] == "notified"
    for _ in range(100):
        docs = expect(await http.get(f"/api/placements/{pid}/documents", headers=LEAD), 200)
        notices = [d for d in docs if d["kind"] == "offsite_direction_notice"]
        if notices and all(d["status"] == "sent" for d in notices):
            break
        await asyncio.sleep(0.1)
    (notice,) = notices
    detail = expect(await http.get(f"/api/placements/{pid}/documents/{notice['document_id']}", headers=LEAD), 200)
    assert f"{today().day} {today():%B %Y}" in detail["html"]  # dated the day it went
    # The workflow hears of the send after the register does: wait for its own view.
    for _ in range(100):
        copy = (await get(http, pid))["placement"]["notice"]["copies"][0]
        if copy["given_on"] is not None:
            break
        await asyncio.sleep(0.1)
    assert copy["given_on"] == today().isoformat() and copy["document_id"] == notice["document_id"]


async def test_a_copy_given_outside_apflow_is_kept_and_named(http):
    pid = await consulted(http)
    assert (await http.post(f"/api/placements/{pid}/documents", params={"kind": "notice_copy"}, content=b"not a pdf",
                            headers={**LEAD, "Content-Type": "application/pdf"})).status_code == 422
    assert (await http.post(f"/api/placements/{pid}/documents", params={"kind": "notice_copy"}, content=b"%PDF-1.4",
                            headers={**LEAD, "Content-Type": "text/plain"})).status_code == 415
    assert (await http.post(f"/api/placements/{pid}/documents", params={"kind": "../x"}, content=b"%PDF-1.4",
                            headers={**LEAD, "Content-Type": "application/pdf"})).status_code == 422
    assert (await http.post(f"/api/placements/{pid}/documents", params={"kind": "notice_copy"}, content=b"%PDF-1.4",
                            headers={**OTHER_LEAD, "Content-Type": "application/pdf"})).status_code == 404

    copy_id = await upload_copy(http, pid)
    snap = await act(http, pid, "notify", samples.notify(today(), copy_id), HEAD)
    (given,) = snap["placement"]["notice"]["copies"]
    assert (given["delivery"], given["given_on"], given["document_id"], given["given_by"]) == (
        "by_hand", today().isoformat(), copy_id, HEAD["X-User"])
    docs = expect(await http.get(f"/api/placements/{pid}/documents", headers=LEAD), 200)
    assert not [d for d in docs if d["kind"] == "offsite_direction_notice"]  # apflow sent none
    pdf = await http.get(f"/api/placements/{pid}/documents/{copy_id}.pdf", headers=LEAD)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_a_parent_without_email_is_written_to_by_post_from_the_schools_list(http):
    parent = samples.proposal(today()).parent_contacts[0].model_copy(update={"email": None})
    start = load_calendar(SCHOOL, Settings().calendars_dir).add_school_days(today(), 10)
    pid = await consulted(http, start=start, parent_contacts=[parent])
    await act(http, pid, "notify", {}, HEAD)

    for _ in range(100):
        listed = [d for d in expect(await http.get(f"/api/schools/{SCHOOL}/letters-to-post", headers=LEAD), 200)
                  if d["document_id"] == (await get(http, pid))["placement"]["notice"]["copies"][0]["document_id"]]
        if listed:
            break
        await asyncio.sleep(0.1)
    (letter,) = listed
    assert letter["status"] == "to_post"
    assert (await http.get(f"/api/schools/{SCHOOL}/letters-to-post", headers=OTHER_LEAD)).status_code == 403
    assert (await get(http, pid))["placement"]["notice"]["copies"][0]["given_on"] is None

    snap = await act(http, pid, "record_delivery", {"document_id": letter["document_id"], "method": "post"})
    copy = snap["placement"]["notice"]["copies"][0]
    assert copy["posted_on"] == today().isoformat() and copy["given_on"] > today().isoformat()
    listed = expect(await http.get(f"/api/schools/{SCHOOL}/letters-to-post", headers=LEAD), 200)
    assert letter["document_id"] not in [d["document_id"] for d in listed]
    again = (await act(http, pid, "record_delivery", {"document_id": letter["document_id"], "method": "post"}, status=409))["detail"]
    assert "was given already" in again["unmet"][0]["message"]


async def test_an_email_address_that_could_inject_a_header_or_a_recipient_is_refused_at_proposal(http):
    start = load_calendar(SCHOOL, Settings().calendars_dir).add_school_days(today(), 15)
    before = expect(await http.get("/api/placements", headers=LEAD), 200)["total"]
    for address in ("parent@family.example\r\nBcc: attacker@evil.example", "a@x.example, b@y.example", "no-at-sign.example"):
        proposal = samples.proposal(start).model_dump(mode="json")
        proposal["parent_contacts"][0]["email"] = address
        r = await http.post("/api/placements", headers=LEAD, json=proposal)
        assert r.status_code == 422, (address, r.text)
        assert r.json()["detail"][0]["loc"][-1] == "email"
    assert expect(await http.get("/api/placements", headers=LEAD), 200)["total"] == before


async def test_a_copy_larger_than_the_upload_limit_is_refused(http):
    pid = await consulted(http)
    big = b"%PDF-1.4\n" + b"0" * 5_000_001
    r = await http.post(f"/api/placements/{pid}/documents", params={"kind": "notice_copy"}, content=big,
                        headers={**LEAD, "Content-Type": "application/pdf"})
    assert r.status_code == 413
