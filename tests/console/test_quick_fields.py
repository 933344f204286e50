"""Today's quick contact forms: the fields nobody has typed into are rendered
once for each position and day and shared by every placement; a form sent
back with what was typed and its problems is rendered as it is, and kept
nowhere."""
from __future__ import annotations

from console.pages import today_contacts
from console.pages.today_contacts import QuickForm, quick_fields

DAY = {"day": "3", "month": "12", "year": "2026"}


def test_blank_fields_are_rendered_once_for_each_position_and_day():
    today_contacts._blank_fields.cache_clear()
    first = quick_fields(1, QuickForm("placement-a", "Ana", "Bridgeway", on=dict(DAY)))
    again = quick_fields(1, QuickForm("placement-b", "Ben", "Northgate", on=dict(DAY)))
    assert first is again and today_contacts._blank_fields.cache_info().hits == 1
    assert 'id="contact-1-on-day"' in first and 'value="3"' in first and "Ana" not in first
    second = quick_fields(2, QuickForm("placement-b", "Ben", "Northgate", on=dict(DAY)))
    assert 'id="contact-2-on-day"' in second and second is not first


def test_a_form_sent_back_shows_what_was_typed_and_why_and_is_not_kept():
    today_contacts._blank_fields.cache_clear()
    sent = QuickForm("placement-a", "Ana", "Bridgeway", kind="attendance_call", on=dict(DAY), notes="Rang the provider",
                     errors={"on": "A contact cannot be recorded before it happens"})
    html = quick_fields(1, sent)
    assert "Rang the provider" in html and "A contact cannot be recorded before it happens" in html
    assert 'value="attendance_call" checked' in html
    assert today_contacts._blank_fields.cache_info().currsize == 0
