"""Today's quick contact over plain HTTP (the trusted proxy's headers): a
refused or malformed contact shows Today again with the reason beside that
placement's form and records nothing; another school's placement is not
found; a person who records no contacts is offered no form."""
from __future__ import annotations

import re
from datetime import timedelta

from apflow.calendars import load_calendar
from tests.api import test_api as api
from tests.console.conftest import LEAD, OPS, OTHER_LEAD, SCHOOL
from tests.console.helpers import today

from .placements import half_term_start, running_since


def csrf_of(html: str) -> str:
    return re.findall(r'name="csrf_token" value="([^"]+)"', html)[0]


async def post(http, who, html: str, **fields):
    data = {"csrf_token": csrf_of(html), "idempotency_key": f"form-{'0' * 31}{len(fields)}", **fields}
    return await http.post("/today/contacts", headers=who.headers, data=data)


async def test_a_refused_contact_is_shown_beside_its_form_and_changes_nothing(console, http):
    cal = load_calendar(SCHOOL, console.settings.calendars_dir)
    pid = await running_since(http, cal, half_term_start(cal), "Quick Refusal")
    html = (await http.get("/", headers=LEAD.headers)).text
    assert f'id="quick-{pid}"' in html
    tomorrow = today() + timedelta(days=1)
    r = await post(http, LEAD, html, placement_id=pid, **{"contact.kind": "attendance_call", "contact.notes": "Rang the provider",
                   "contact.on.day": str(tomorrow.day), "contact.on.month": str(tomorrow.month), "contact.on.year": str(tomorrow.year)})
    assert r.status_code == 409
    form = r.text.split(f'id="quick-{pid}"')[1].split("</details>")[0]
    assert "A contact cannot be recorded before it happens (§2.5)" in form and "Rang the provider" in form
    r = await post(http, LEAD, html, placement_id=pid, **{"contact.kind": "visit", "contact.notes": "Went there",
                   "contact.on.day": "31", "contact.on.month": "2", "contact.on.year": "2026"})
    assert r.status_code == 422 and "a visit is recorded with its progress record" in r.text
    assert "The date must be a real date" in r.text
    assert (await api.get(http, pid))["placement"]["contacts"] == []

    # Another school's person: not found, nothing recorded, and no form for it on their Today.
    theirs = (await http.get("/", headers=OTHER_LEAD.headers)).text
    assert f'id="quick-{pid}"' not in theirs
    r = await post(http, OTHER_LEAD, (await http.get("/placements", headers=OTHER_LEAD.headers)).text, placement_id=pid, **{"contact.kind": "wellbeing", "contact.notes": "x",
                   "contact.on.day": str(today().day), "contact.on.month": str(today().month), "contact.on.year": str(today().year)})
    assert r.status_code == 404 and "not one of yours" in r.text
    r = await post(http, LEAD, html, placement_id="../../etc", **{"contact.kind": "wellbeing"})
    assert r.status_code == 404
    assert (await api.get(http, pid))["placement"]["contacts"] == []
    # Trust operations watch; they record no contacts, so Today offers them none.
    assert "quick-placement-" not in (await http.get("/", headers=OPS.headers)).text
