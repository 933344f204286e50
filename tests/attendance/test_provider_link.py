"""A provider's mark through its attendance link, once the application hands
such answers to the attendance store (`console.attendance.provider_sink`)."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from store import attendance

from .conftest import LEAD, active_placement, headers, put
from .test_register_api import NOW


async def test_a_providers_mark_through_its_link(api, engine, calendars):
    term = calendars(NOW)
    p = put(engine, active_placement(term.first))
    issued = await api.http.post(f"/api/placements/{p.placement_id}/links", json={"purpose": "attendance"}, headers=headers(LEAD))
    assert issued.status_code == 201, issued.text
    path = urlparse(issued.json()["url"]).path
    link_id = issued.json()["link_id"]

    ok = await api.http.post(path, json={"day": term.first.isoformat(), "session": "am", "code": "b", "note": "arrived 9:05"})
    assert ok.status_code == 200, ok.text
    [mark] = attendance.marks_for(engine, p.placement_id)
    assert (mark.code, mark.source, mark.provider_code, mark.recorded_role, mark.recorded_by, mark.note) == (
        "B", "provider", "B", "provider", link_id, "arrived 9:05")

    # The same link serves the next session; a mark that does not fit is refused with the reason.
    refused = await api.http.post(path, json={"day": term.first.isoformat(), "session": "pm", "code": "D"})
    assert refused.status_code == 422
    assert "only where the provider is itself a registered school" in refused.json()["detail"]["message"]
    early = await api.http.post(path, json={"day": (term.first - timedelta(days=7)).isoformat(), "session": "am", "code": "B"})
    assert early.status_code == 422 and early.json()["detail"]["fields"][0]["field"] == "day"
    assert len(attendance.marks_for(engine, p.placement_id)) == 1
