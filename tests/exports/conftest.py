"""The register's exports in-process over the app, with a register of real
SQLite: placements written as their workflows project them (running,
closed and terminated, at two schools), and attendance recorded through
POST /api/attendance. The attendance tests' fixtures (a term around a real
bank holiday, the app with its day moved) are reused as they are."""
from __future__ import annotations

import csv
import io
from datetime import date, time, timedelta

import openpyxl
import pytest

from apflow import samples
from domain.clock import uk_instant
from domain.models import (
    Actor, Closure, Destination, DestinationKind, HistoryEntry, Placement, PlacementState, ProviderReport, ReviewOutcome, Role, Termination,
)
from tests.attendance.conftest import LEAD, OPS, active_placement, api, calendars, headers, put  # noqa: F401  (fixtures)

OTHER_LEAD = Actor(user_id="aplead-137001", role=Role.ap_lead, school_id=samples.OTHER_SCHOOL.school_id)
GOVERNOR = Actor(user_id="governor-137000", role=Role.read_only, school_id=samples.SCHOOL.school_id)
NOW = date(2026, 1, 1)  # the term is built around the next spring bank holiday


def ended(p: Placement, state: str, on: date, **records) -> Placement:
    """`p` closed or terminated on `on`, as its workflow records it."""
    seq = p.seq + 1
    step = HistoryEntry(seq=seq, action="close" if state == "closed" else "terminate", actor=LEAD,
                        at=uk_instant(on, time(15)), from_state=p.state.value, to_state=state)
    return p.model_copy(update={"state": PlacementState(state), "history": [*p.history, step], "version": p.version + 1, **records})


def closed(start: date, on: date, **changes) -> Placement:
    p = active_placement(start, **changes)
    p = p.model_copy(update={"reviews": [samples.review(start + timedelta(days=14), ReviewOutcome.reintegrate)],
                             "progress_reports": [ProviderReport(received_on=start + timedelta(days=7), summary="Settling in well")]})
    return ended(p, "closed", on, closure=Closure(
        final_report=ProviderReport(received_on=on, summary="Good progress against all objectives."),
        destination=samples.home_school(on), pupil_view="It helped me calm down and I want to go back.",
        achievements="Entry level 3 certificate in maths"))


def terminated(start: date, on: date, **changes) -> Placement:
    p = active_placement(start, **changes)
    return ended(p, "terminated", on, termination=Termination(
        reason="No longer meets the pupil's needs", on=on,
        next_destination=Destination(kind=DestinationKind.another_school, name="Nexus Dale Academy", from_date=on)))


@pytest.fixture
def world(calendars, engine, api):  # noqa: F811
    """Three placements at school 137000 (running, closed, another running on a
    registered provider) and a terminated one at 137001, each with its census fields."""
    term = calendars(NOW)
    calendars(NOW, samples.OTHER_SCHOOL.school_id)
    api.today_is(term.second_end)
    start = term.first
    pupil = samples.proposal(start).pupil
    return dict(
        term=term,
        running=put(engine, active_placement(start, census_reason="BEHAVIOUR")),
        closed=put(engine, closed(start - timedelta(days=7), term.first_end, census_reason="SEND",
                                  pupil=pupil.model_copy(update={"pupil_id": "P-0002", "name": "Sam Closed", "upn": "A12345678901B"}),
                                  provider=samples.registered_provider(), pattern=samples.FULL_TIME)),
        other=put(engine, terminated(start, term.second, school=samples.OTHER_SCHOOL, census_reason="HEALTH",
                                     pupil=pupil.model_copy(update={"pupil_id": "P-0003", "name": "Kim Other"}),
                                     provider=samples.provider(name="Online Learning Co", ukprn=None, setting_type="ONLINE"))),
    )


def rows_of(response, fmt: str) -> list[dict]:
    """A downloaded file's rows as dicts by heading: the CSV parsed by the
    csv module, the XLSX read back with openpyxl."""
    assert response.status_code == 200, response.text
    if fmt == "csv":
        assert response.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(values[0], r)) for r in values[1:]]


__all__ = ["GOVERNOR", "LEAD", "OPS", "OTHER_LEAD", "headers", "rows_of", "world"]
