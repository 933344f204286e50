"""`apflow demo`: a handful of invented placements, driven over the API to
different states, so a new user meets a living system; and the invented
staff who can sign in to see them (`apflow.demo_people`).

Each step is sent with a personal API token of the person whose step it
is, as an integration would: the demo makes short-lived tokens in the
register the API reads, and revokes them when it is done."""
from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import httpx
from fpdf import FPDF

from documents.formatting import long_date
from domain.calendar import SchoolCalendar
from domain.clock import uk_date
from domain.models import EvaluationStage, Person, PlacementKind, Provider, Pupil, Role, Site
from store.db import make_engine, migrate

from . import demo_people, samples
from .calendars import load_calendar
from .settings import Settings

# The reason each kind of the demo's placements gives the census (census/codes.toml).
CENSUS_REASONS = {
    PlacementKind.off_site_direction: "BEHAVIOUR",
    PlacementKind.suspension_cover: "SUSPENSION",
    PlacementKind.ehcp_placement: "SEND",
    PlacementKind.health_package: "HEALTH",
}

RETRIES = 5


def _provider(name: str, ukprn: str, domain: str, site: Site, manager: str, dsl: str) -> Provider:
    """Another of the trust's invented providers, with a site and people of
    its own, so that its letters go to it and not to the sample provider's staff."""
    return samples.provider(
        name=name, ukprn=ukprn, email=f"office@{domain}", sites=[site],
        named_contact=Person(name=manager, role="Centre manager", email=f"office@{domain}"),
        dsl=Person(name=dsl, role="DSL", phone="01484 000011", email=f"dsl@{domain}"),
    )


RIVERSIDE = _provider("Riverside Outdoor Learning", "10054321", "riverside.example",
                      Site(name="Riverside centre", address="2 Wharf Street, Huddersfield", postcode="HD1 5AA"),
                      "Dev Malik", "Ruth Okoro")
HILLTOP = _provider("Hilltop Skills Hub", "10067890", "hilltop.example",
                    Site(name="Hilltop hub", address="40 Moor Lane, Dewsbury", postcode="WF13 1AA"),
                    "Ellis Grant", "Noor Haddad")
# Whose tokens drive the steps: the school's AP lead, headteacher and DSL.
ACTING = [Role.ap_lead, Role.headteacher, Role.dsl]

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
    def __init__(self, api: str, calendars_dir: Path, tokens: dict[Role, str]):
        self.http = httpx.Client(base_url=api, timeout=60)
        as_ = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}
        self.lead, self.head, self.dsl = as_[Role.ap_lead], as_[Role.headteacher], as_[Role.dsl]
        self.run_id = uuid.uuid4().hex[:6]
        self.today = uk_date(datetime.now(timezone.utc))
        # The API's own calendar folder, so the dates chosen are school days there.
        self.cal: SchoolCalendar = load_calendar(samples.SCHOOL.school_id, calendars_dir)
        self.providers: dict[str, str] = {}  # the trust's list: provider id by name

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
        if r.status_code == 401:
            raise SystemExit(f"{method} {path} -> 401: the API does not know the demo's accounts; run the demo "
                             "with the API's own settings (the same APFLOW_VAR_DIR or APFLOW_DATABASE_URL)")
        if r.status_code >= 400:
            raise SystemExit(f"{method} {path} -> {r.status_code}: {r.text}")
        return r.json()

    def act(self, pid: str, action: str, body, headers=None) -> dict:
        data = body.model_dump(mode="json", exclude_unset=True) if hasattr(body, "model_dump") else body
        return self.call("POST", f"/api/placements/{pid}/actions/{action}", headers or self.lead, data)

    def add_providers(self) -> None:
        """The trust's list of providers: two vetted and current, one whose
        employer's liability expires within the warning days, one whose
        public liability has expired (no new placement there). A second demo
        finds them on the list and adds none again."""
        t = self.today
        year = t + timedelta(days=365)
        wanted = [
            (samples.provider(), {}),
            (samples.registered_provider(), {}),
            (RIVERSIDE, {"employers_liability_expires_on": t + timedelta(days=20)}),
            (HILLTOP, {"public_liability_expires_on": t - timedelta(days=3)}),
        ]
        for details, cover in wanted:
            listed = self.call("GET", f"/api/providers?name={quote(details.name)}", self.lead)["items"]
            same = [p for p in listed if p["name"] == details.name]
            if same:
                self.providers[details.name] = same[0]["provider_id"]
                continue
            record = samples.provider_record(details, t - timedelta(days=30), year, **cover)
            made = self.call("POST", "/api/providers", self.lead, record.model_dump(mode="json"))
            self.providers[details.name] = made["provider_id"]

    def propose(self, i: int, start: date, kind=PlacementKind.off_site_direction, **changes) -> str:
        changes.setdefault("census_reason", CENSUS_REASONS[kind])  # so the demo's census return is whole
        proposal = samples.proposal(start, kind, pupil=_pupil(i, self.run_id), **changes)
        named = proposal.provider.named_contact
        if named:  # the pupil reports on day one to the provider's own centre manager
            proposal.report_to = Person(name=named.name, role=named.role)
        body = proposal.model_dump(mode="json")
        if proposal.provider.name in self.providers:  # picked from the trust's list: its record's details
            del body["provider"]
            body["provider_id"] = self.providers[proposal.provider.name]
        return self.call("POST", "/api/placements", self.lead, body)["placement"]["placement_id"]

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
        pdf.multi_cell(0, 8, f"Copy of the {what} handed to the parents on {long_date(on)}.\n(Invented for the apflow demo.)")
        r = self.http.post(f"/api/placements/{pid}/documents", params={"kind": kind}, content=bytes(pdf.output()),
                           headers={**self.lead, "Content-Type": "application/pdf"})
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
        snap = self.act(pid, "notify", notice, headers=self.head)
        # A placement entered after the fact: the clock saw no notice before
        # it was recorded. Staff close that escalation, saying so.
        for e in snap["placement"]["escalations"]:
            if e["kind"] == "notice" and e["resolved_at"] is None:
                self.act(pid, "resolve_escalation", {
                    "action": "resolve_escalation", "escalation_id": e["escalation_id"],
                    "note": f"Notice was given on {long_date(notice_on)}; the placement was entered afterwards.",
                }, headers=self.head)

    def running(self, i: int, kind=PlacementKind.off_site_direction, **changes) -> str:
        """A placement that started today (or on the last school day)."""
        start = self.school_day(0)
        pid = self.propose(i, start, kind, **changes)
        self.to_notified(pid, self.cal.add_school_days(start, -3), ehcp=kind is PlacementKind.ehcp_placement)
        for _ in range(100):  # the workflow starts it by itself: its start date has come
            if self.call("GET", f"/api/placements/{pid}", self.lead)["placement"]["state"] == "active":
                return pid
            time.sleep(0.1)
        raise SystemExit(f"{pid} did not start")

    def reviewed(self, i: int) -> str:
        """A running placement whose review meeting is today, or on the next school day
        (the parents handed their invitation a week before it)."""
        pid = self.running(i)
        meeting, invited = samples.review_bookable(self.cal, self.today)
        copy = self.copy_of(pid, "invitation_copy", "invitation to the review", invited)
        self.act(pid, "open_review", samples.open_review(meeting, invited, copy))
        return pid

    def run(self) -> list[tuple[str, str]]:
        t, made = self.today, []
        self.add_providers()
        made.append((self.propose(0, self.school_day(15)), "proposed: the provider still to be vetted"))

        pid = self.propose(1, self.school_day(3), PlacementKind.suspension_cover, suspension_first_day=self.school_day(-2))
        self.act(pid, "vet", samples.vet())
        self.act(pid, "consult_la", samples.consult_la(t))
        made.append((pid, "la_consulted: suspension cover, notice to give"))

        pid = self.propose(2, self.school_day(10), PlacementKind.ehcp_placement, pattern=samples.FULL_TIME,
                           provider=samples.registered_provider())
        self.to_notified(pid, t if self.cal.is_school_day(t) else self.school_day(0), ehcp=True)
        made.append((pid, "notified: an EHCP placement that starts by itself in two weeks"))

        pid = self.running(3)
        self.act(pid, "record_visit", samples.visit(self.school_day(0)))  # the half-term's visit, made on the first day
        made.append((pid, "active: an off-site direction that started on the last school day, visited"))

        pid = self.running(4, PlacementKind.health_package, provider=RIVERSIDE)
        # A week ahead, on a school day. No written invitation: §6.8 asks for one to an off-site direction's reviews.
        meeting = self.cal.nth_school_day(self.today + timedelta(days=7), 1)
        self.act(pid, "open_review", samples.open_review(meeting))
        made.append((pid, "under_review: meeting booked in a week"))

        pid = self.reviewed(5)
        self.act(pid, "reintegrate", samples.reintegrate(t))
        made.append((pid, "reintegrating: the review decided on return"))

        pid = self.running(6)
        self.act(pid, "terminate", samples.terminate(t, safeguarding=True), headers=self.dsl)
        made.append((pid, "terminated: a safeguarding concern"))

        pid = self.reviewed(7)
        self.act(pid, "reintegrate", samples.reintegrate(t))
        # The mid evaluation a little lower than the end, so the page shows the difference; the
        # pupil's, parent's and provider's parts entered for them, as from their paper forms.
        for part in samples.evaluation(EvaluationStage.mid, t):
            self.act(pid, "record_evaluation", part.model_copy(update={"scores": [3] * len(part.scores)}))
        for part in samples.end_evaluation(t):
            self.act(pid, "record_evaluation", part)
        self.act(pid, "close", samples.close(t))
        made.append((pid, "closed: back at the home school"))
        return made


def run_demo(api: str, settings: Settings) -> None:
    try:
        health = httpx.get(f"{api}/healthz", timeout=10)
    except httpx.HTTPError:
        raise SystemExit(f"no apflow API at {api}: start it first with `apflow up`") from None
    if health.status_code != 200:
        raise SystemExit(f"the apflow API at {api} is not ready: {health.text}")
    engine = make_engine(settings.db_url)
    migrate(engine)
    now = datetime.now(timezone.utc)
    try:
        people = demo_people.ensure_people(engine, now)
    except demo_people.DemoAccountDisabled as e:
        raise SystemExit(str(e)) from None
    tokens = demo_people.tokens_for(engine, people, ACTING, now)
    try:
        demo = Demo(api, settings.calendars_dir, {role: t.token for role, t in tokens.items()})
        for pid, what in demo.run():
            print(f"{pid}  {what}")
    finally:
        demo_people.revoke(engine, tokens, datetime.now(timezone.utc))
        engine.dispose()
    print(sign_in_help(api, people))


def sign_in_help(api: str, people: list[demo_people.SignIn]) -> str:
    """How each invented person signs in: printed at the end of every run."""
    lines = [
        "",
        f"Sign in at {api}/sign-in as any of these invented people (the passwords are new at every run of the demo):",
        "",
    ]
    for s in people:
        lines += [f"  {s.person.title}: {s.person.name}",
                  f"    email     {s.person.email}",
                  f"    password  {s.password}",
                  f"    TOTP key  {s.totp_secret}  (for an authenticator app; or `./dev users code {s.person.email}`)"]
    lines += [
        "",
        "`./dev users code EMAIL` (or `apflow users code EMAIL`) prints a demo account's current sign-in code:",
        "for the demo and development only. For the API, make a token with `./dev tokens create EMAIL`",
        "and send it as `Authorization: Bearer <token>`.",
    ]
    return "\n".join(lines)
