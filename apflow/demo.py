"""`apflow demo`: a handful of invented placements, driven over the API to
different states, so a new user meets a living system."""
from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
from fpdf import FPDF

from domain.calendar import SchoolCalendar
from domain.clock import uk_date
from domain.models import PlacementKind, Pupil, Role

from . import samples
from .calendars import load_calendar

HEAD = {"X-User": "demo-head", "X-Role": Role.headteacher.value, "X-School": samples.SCHOOL.school_id}
LEAD = {"X-User": "demo-aplead", "X-Role": Role.ap_lead.value, "X-School": samples.SCHOOL.school_id}
RETRIES = 5
DSL = {"X-User": "demo-dsl", "X-Role": Role.dsl.value, "X-School": samples.SCHOOL.school_id}

PUPILS = [
    ("P-1001", "Jordan Reeve", date(2011, 5, 2), 10),
    ("P-1002", "Casey Nolan", date(2012, 1, 19), 9),
    ("P-1003", "Riley Carter", date(2013, 7, 8), 8, {"ehc_plan": True}),
    ("P-1004", "Morgan Hale", date(2010, 11, 30), 11),
    ("P-1005", "Taylor Brooks", date(2012, 9, 3), 9, {"sen_support": True}),
    ("P-1006", "Jamie Fox", date(2011, 2, 14), 10, {"looked_after": False, "eal": True}),
    ("P-1007", "Sam Patel", date(2010, 4, 21), 11),
    ("P-1008", "Avery Quinn", date(2013, 12, 1), 7),
]


def _pupil(i: int, run: str) -> Pupil:
    """One of the invented pupils, under an id of this run's: a pupil's
    placements at one provider may not overlap, so a second demo makes new ones."""
    pupil_id, name, dob, year, *flags = PUPILS[i]
    return Pupil(pupil_id=f"{pupil_id}-{run}", name=name, date_of_birth=dob, year_group=year, **(flags[0] if flags else {}))


class Demo:
    def __init__(self, api: str, calendars_dir: Path):
        self.http = httpx.Client(base_url=api, timeout=60)
        self.run_id = uuid.uuid4().hex[:6]
        self.today = uk_date(datetime.now(timezone.utc))
        # The API's own calendar folder, so the dates chosen are school days there.
        self.cal: SchoolCalendar = load_calendar(samples.SCHOOL.school_id, calendars_dir)

    def call(self, method: str, path: str, headers: dict, body=None) -> dict:
        """One request. A write carries an Idempotency-Key and, when its
        outcome is unknown (503), is sent again with the same key."""
        if method == "POST":
            headers = {**headers, "Idempotency-Key": f"demo:{uuid.uuid4()}"}
        for attempt in range(RETRIES):
            r = self.http.request(method, path, headers=headers, json=body)
            if r.status_code != 503 or attempt == RETRIES - 1:
                break
            time.sleep(1 + attempt)
        if r.status_code >= 400:
            raise SystemExit(f"{method} {path} -> {r.status_code}: {r.text}")
        return r.json()

    def act(self, pid: str, action: str, body, headers=LEAD) -> dict:
        data = body.model_dump(mode="json", exclude_unset=True) if hasattr(body, "model_dump") else body
        return self.call("POST", f"/api/placements/{pid}/actions/{action}", headers, data)

    def propose(self, i: int, start: date, kind=PlacementKind.off_site_direction, **changes) -> str:
        proposal = samples.proposal(start, kind, pupil=_pupil(i, self.run_id), **changes)
        return self.call("POST", "/api/placements", LEAD, proposal.model_dump(mode="json"))["placement"]["placement_id"]

    def school_day(self, n: int) -> date:
        """The n-th school day from today (n <= 0: on or before today)."""
        if n > 0:
            return self.cal.add_school_days(self.today, n)
        d = self.today if self.cal.is_school_day(self.today) else self.cal.add_school_days(self.today, -1)
        return self.cal.add_school_days(d, n) if n else d

    def copy_of(self, pid: str, kind: str, what: str, on: date) -> str:
        """Uploads the copy of a letter the school handed over itself, as staff
        do when they record a notice or invitation given outside apflow."""
        pdf = FPDF()
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.multi_cell(0, 8, f"Copy of the {what} handed to the parents on {on:%d %B %Y}.\n(Invented for the apflow demo.)")
        r = self.http.post(f"/api/placements/{pid}/documents", params={"kind": kind}, content=bytes(pdf.output()),
                           headers={**LEAD, "Content-Type": "application/pdf"})
        if r.status_code != 201:
            raise SystemExit(f"uploading a copy -> {r.status_code}: {r.text}")
        return r.json()["document_id"]

    def to_notified(self, pid: str, notice_on: date, ehcp: bool = False) -> None:
        """Vetted, the LA told and notice given: sent by apflow today, or (for a
        placement entered after the fact) handed over on an earlier day, with its copy."""
        self.act(pid, "vet", samples.vet(safeguarding_confirmation_received_on=notice_on))
        self.act(pid, "consult_la", samples.consult_la(notice_on, ehcp=ehcp))
        if notice_on < self.today:
            notice = samples.notify(notice_on, self.copy_of(pid, "notice_copy", "notice", notice_on))
        else:
            notice = samples.notify()
        snap = self.act(pid, "notify", notice, headers=HEAD)
        # A placement entered after the fact: the clock saw no notice before
        # it was recorded. Staff close that escalation, saying so.
        for e in snap["placement"]["escalations"]:
            if e["kind"] == "notice" and e["resolved_at"] is None:
                self.act(pid, "resolve_escalation", {
                    "action": "resolve_escalation", "escalation_id": e["escalation_id"],
                    "note": f"Notice was given on {notice_on}; the placement was entered afterwards.",
                }, headers=HEAD)

    def running(self, i: int, kind=PlacementKind.off_site_direction, **changes) -> str:
        """A placement that started today (or on the last school day)."""
        start = self.school_day(0)
        pid = self.propose(i, start, kind, **changes)
        self.to_notified(pid, self.cal.add_school_days(start, -3), ehcp=kind is PlacementKind.ehcp_placement)
        for _ in range(100):  # the workflow starts it by itself: its start date has come
            if self.call("GET", f"/api/placements/{pid}", LEAD)["placement"]["state"] == "active":
                return pid
            time.sleep(0.1)
        raise SystemExit(f"{pid} did not start")

    def reviewed(self, i: int) -> str:
        """A running placement whose review meeting is today (parents handed their invitation a week ago)."""
        pid = self.running(i)
        meeting = self.today if self.cal.is_school_day(self.today) else self.school_day(1)
        invited = meeting - timedelta(days=7)
        copy = self.copy_of(pid, "invitation_copy", "invitation to the review", invited)
        self.act(pid, "open_review", samples.open_review(meeting, invited, copy))
        return pid

    def run(self) -> list[tuple[str, str]]:
        t, made = self.today, []
        made.append((self.propose(0, self.school_day(15)), "proposed: the provider still to be vetted"))

        pid = self.propose(1, self.school_day(3), PlacementKind.suspension_cover, suspension_first_day=self.school_day(-2))
        self.act(pid, "vet", samples.vet())
        self.act(pid, "consult_la", samples.consult_la(t))
        made.append((pid, "la_consulted: suspension cover, notice to give"))

        pid = self.propose(2, self.school_day(10), PlacementKind.ehcp_placement, pattern=samples.FULL_TIME,
                           provider=samples.registered_provider())
        self.to_notified(pid, t if self.cal.is_school_day(t) else self.school_day(0), ehcp=True)
        made.append((pid, "notified: an EHCP placement that starts by itself in two weeks"))

        made.append((self.running(3), "active: an off-site direction that started on the last school day"))

        pid = self.running(4, PlacementKind.health_package)
        self.act(pid, "open_review", samples.open_review(self.school_day(5)))  # apflow invites the parents now
        made.append((pid, "under_review: meeting booked in a week"))

        pid = self.reviewed(5)
        self.act(pid, "reintegrate", samples.reintegrate(t))
        made.append((pid, "reintegrating: the review decided on return"))

        pid = self.running(6)
        self.act(pid, "terminate", samples.terminate(t, safeguarding=True), headers=DSL)
        made.append((pid, "terminated: a safeguarding concern"))

        pid = self.reviewed(7)
        self.act(pid, "reintegrate", samples.reintegrate(t))
        self.act(pid, "close", samples.close(t))
        made.append((pid, "closed: back at the home school"))
        return made


def run_demo(api: str, calendars_dir: Path) -> None:
    demo = Demo(api, calendars_dir)
    try:
        demo.call("GET", "/healthz", {})
    except httpx.HTTPError:
        raise SystemExit(f"no apflow API at {api}: start it first with `apflow up`") from None
    for pid, what in demo.run():
        print(f"{pid}  {what}")
    print(f"\nSee them: curl -H 'X-User: demo-aplead' -H 'X-Role: ap_lead' -H 'X-School: {samples.SCHOOL.school_id}' {api}/api/placements")
