"""The guards of RULES.md's lifecycle table, one condition per test: each shows
the step refused with the right clause when the condition is unmet, and
allowed when it is met. Vetting has its own file (test_vetting.py)."""
from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from apflow import samples
from domain import guards
from domain.actions import Close, ConsultLA, Notify, OpenReview, RecordReview, Reintegrate, Start, Terminate
from domain.models import SYSTEM, Delivery, EHCPAgreement, GivenOutside, Objective, Pattern, PlacementKind, ReviewOutcome, ReviewRecord

from placement_builders import (
    ACTING_DAY,
    with_end_evaluation,
    AP_LEAD,
    CALENDAR,
    CLOSE_DAY,
    DSL,
    HEAD,
    INVITE_DAY,
    MEETING_DAY,
    NON_FINAL,
    NOTICE_DAY,
    PREP_DAY,
    START,
    allowed,
    changed,
    in_state,
    only_unmet,
    proposal_unmet,
    refusal,
)

OFF_SITE = PlacementKind.off_site_direction
SUSPENSION = PlacementKind.suspension_cover
EHCP = PlacementKind.ehcp_placement
HEALTH = PlacementKind.health_package

EHCP_PUPIL = samples.proposal(START).pupil.model_copy(update={"ehc_plan": True})


def objective(n: int) -> Objective:
    return Objective(description=f"Objective {n}", baseline=f"Baseline {n}")


def clauses(unmet) -> list[str]:
    return [u.clause for u in unmet]


# --- propose (§3.6, commissioning agreement) --------------------------------


def test_the_sample_proposal_is_complete():
    assert proposal_unmet() == []


@pytest.mark.parametrize("count", [1, 2, 3])
def test_one_to_three_objectives_may_be_proposed(count):
    assert proposal_unmet(objectives=[objective(n) for n in range(count)]) == []


@pytest.mark.parametrize("count", [0, 4])
def test_a_proposal_needs_one_to_three_objectives(count):
    unmet = proposal_unmet(objectives=[objective(n) for n in range(count)])

    assert clauses(unmet) == ["§3.6; commissioning agreement"]


def test_every_objective_has_a_baseline():
    with pytest.raises(ValidationError):
        Objective(description="Attend every directed session", baseline="  ")


def test_a_proposal_needs_a_planned_end_or_a_number_of_days():
    assert clauses(proposal_unmet(number_of_days=None)) == ["§2.3; DfE guidance 2025"]
    assert proposal_unmet(number_of_days=None, planned_end_date=date(2026, 12, 18)) == []
    assert proposal_unmet(number_of_days=20, planned_end_date=None) == []


@pytest.mark.parametrize("end", [START, date(2026, 10, 9)])
def test_the_planned_end_is_after_the_start(end):
    assert clauses(proposal_unmet(planned_end_date=end)) == ["§2.3"]
    assert proposal_unmet(planned_end_date=date(2026, 10, 13)) == []


@pytest.mark.parametrize(
    "start",
    [date(2026, 10, 17), date(2026, 10, 18), date(2026, 12, 25), date(2027, 1, 1), date(2027, 3, 26), date(2027, 5, 3), date(2027, 5, 31)],
    ids=["saturday", "sunday", "christmas-day", "new-years-day", "good-friday", "early-may-bank-holiday", "spring-bank-holiday"],
)
def test_a_placement_starts_on_a_school_day(start):
    unmet = proposal_unmet(start=start)

    assert clauses(unmet) == ["RULES: school day"]
    assert str(start) in unmet[0].message


def test_a_weekday_that_is_not_a_bank_holiday_is_a_school_day_to_start_on():
    assert proposal_unmet(start=date(2027, 5, 4)) == []


def test_an_ehcp_placement_is_for_a_pupil_with_an_ehc_plan():
    assert clauses(proposal_unmet(kind=EHCP)) == ["§3"]
    assert proposal_unmet(kind=EHCP, pupil=EHCP_PUPIL) == []


def test_suspension_cover_needs_the_first_day_of_the_suspension():
    assert clauses(proposal_unmet(kind=SUSPENSION)) == ["§13.2"]


def test_suspension_cover_starts_by_the_sixth_school_day_of_the_suspension():
    # Suspended from Monday 5 October 2026: the sixth school day is Monday 12th.
    first_day = date(2026, 10, 5)

    assert proposal_unmet(start=date(2026, 10, 12), kind=SUSPENSION, suspension_first_day=first_day) == []
    unmet = proposal_unmet(start=date(2026, 10, 13), kind=SUSPENSION, suspension_first_day=first_day)
    assert clauses(unmet) == ["§13.2"]
    assert "2026-10-12" in unmet[0].message


def test_the_sixth_school_day_of_a_suspension_skips_the_early_may_bank_holiday():
    # Suspended from Tue 27 April 2027: 27, 28, 29, 30 April, (Mon 3 May is a
    # bank holiday), 4 May, so the sixth school day is Wednesday 5 May.
    first_day = date(2027, 4, 27)

    assert proposal_unmet(start=date(2027, 5, 5), kind=SUSPENSION, suspension_first_day=first_day) == []
    assert clauses(proposal_unmet(start=date(2027, 5, 6), kind=SUSPENSION, suspension_first_day=first_day)) == ["§13.2"]


def test_a_suspension_from_a_non_school_day_counts_six_school_days_after_it():
    # Suspended from Saturday 10 October 2026: the sixth school day is Monday 19th.
    first_day = date(2026, 10, 10)

    assert proposal_unmet(start=date(2026, 10, 19), kind=SUSPENSION, suspension_first_day=first_day) == []
    assert clauses(proposal_unmet(start=date(2026, 10, 20), kind=SUSPENSION, suspension_first_day=first_day)) == ["§13.2"]


def test_a_proposal_refusal_names_every_missing_thing_at_once():
    unmet = proposal_unmet(
        start=date(2026, 10, 17), kind=SUSPENSION, objectives=[], number_of_days=None
    )

    assert clauses(unmet) == ["§3.6; commissioning agreement", "§2.3; DfE guidance 2025", "RULES: school day", "§13.2"]


# --- consult the LA (§8.1, §3.1-3.2, §3.8) -------------------------------------


def test_the_la_must_be_informed_with_a_date_and_a_contact():
    vetted = in_state("vetted")

    assert only_unmet(vetted, ConsultLA(), PREP_DAY).clause == "§8.1"
    assert only_unmet(vetted, ConsultLA(informed_on=PREP_DAY), PREP_DAY).clause == "§8.1"
    assert only_unmet(vetted, ConsultLA(la_contact="Inclusion team"), PREP_DAY).clause == "§8.1"
    assert allowed(vetted, samples.consult_la(PREP_DAY), PREP_DAY).state == "la_consulted"


def test_the_la_cannot_have_been_informed_in_the_future():
    unmet = only_unmet(in_state("vetted"), samples.consult_la(date(2026, 9, 15)), PREP_DAY)

    assert unmet.clause == "§8.1" and "future" in unmet.message


def ehcp_vetted():
    return in_state("vetted", kind=EHCP, pupil=EHCP_PUPIL)


def test_for_an_ehcp_pupil_the_las_agreement_must_be_recorded():
    unmet = only_unmet(ehcp_vetted(), samples.consult_la(PREP_DAY, ehcp=False), PREP_DAY)

    assert unmet.clause == "§3.1-3.2, §3.8"
    assert allowed(ehcp_vetted(), samples.consult_la(PREP_DAY, ehcp=True), PREP_DAY).state == "la_consulted"


def test_for_an_ehcp_pupil_the_la_must_have_agreed():
    refused = EHCPAgreement(agreed=False, recorded_on=PREP_DAY, la_officer="SEN officer", plan_to_be_amended=False)
    action = samples.consult_la(PREP_DAY).model_copy(update={"ehcp": refused})

    assert only_unmet(ehcp_vetted(), action, PREP_DAY).clause == "§3.2"


def test_the_ehcp_agreement_records_whether_the_plan_is_to_be_amended():
    with pytest.raises(ValidationError):
        EHCPAgreement(agreed=True, recorded_on=PREP_DAY, la_officer="SEN officer")
    amended = EHCPAgreement(agreed=True, recorded_on=PREP_DAY, la_officer="SEN officer", plan_to_be_amended=True)
    action = samples.consult_la(PREP_DAY).model_copy(update={"ehcp": amended})

    assert allowed(ehcp_vetted(), action, PREP_DAY).la_consultation.ehcp.plan_to_be_amended


def test_a_pupil_without_an_ehc_plan_needs_no_la_agreement():
    assert samples.consult_la(PREP_DAY).ehcp is None
    assert allowed(in_state("vetted"), samples.consult_la(PREP_DAY), PREP_DAY).state == "la_consulted"


# --- notify (§6.4-6.6, commissioning agreement) --------------------------------


def consulted(**changes):
    return changed(in_state("la_consulted"), **changes)


def test_the_sample_notice_is_complete_and_in_time():
    assert allowed(consulted(), samples.notify(NOTICE_DAY), NOTICE_DAY).state == "notified"


@pytest.mark.parametrize(
    ("changes", "clause"),
    [
        ({"provider": samples.provider(sites=[])}, "§6.6.1"),
        ({"report_to": None}, "§6.6.2"),
        ({"number_of_days": None, "planned_end_date": None}, "§6.6.3"),
        ({"objectives": []}, "§6.6.4"),
        ({"parent_contacts": []}, "commissioning agreement"),
        ({"emergency_contacts": []}, "commissioning agreement"),
    ],
    ids=["site-address", "person-to-report-to", "number-of-days", "objectives", "parent-contacts", "emergency-contacts"],
)
def test_the_notice_holds_each_item_of_6_6_and_the_contacts(changes, clause):
    unmet = only_unmet(consulted(**changes), samples.notify(NOTICE_DAY), NOTICE_DAY)

    assert unmet.clause == clause


def test_the_notice_has_attendance_times_because_every_pattern_holds_them():
    # §6.6.5: a pattern cannot be recorded without arrival and departure times, in order.
    pattern = samples.proposal(START).pattern.model_dump()
    with pytest.raises(ValidationError):
        Pattern.model_validate({**pattern, "arrival": None})
    with pytest.raises(ValidationError):
        Pattern.model_validate({**pattern, "departure": pattern["arrival"]})


def test_the_number_of_days_may_be_counted_from_the_pattern_and_planned_end():
    p = consulted(number_of_days=None, planned_end_date=date(2026, 10, 23))

    # Mondays and Wednesdays from Mon 12 to Fri 23 October 2026.
    assert guards.number_of_days(p, CALENDAR) == 4
    assert allowed(p, samples.notify(NOTICE_DAY), NOTICE_DAY).state == "notified"


def test_counting_the_days_skips_a_bank_holiday():
    # Mondays and Wednesdays, Mon 26 April to Fri 7 May 2027: 26, 28 April and 5 May (3 May is a bank holiday).
    p = consulted(start_date=date(2027, 4, 26), number_of_days=None, planned_end_date=date(2027, 5, 7))

    assert guards.number_of_days(p, CALENDAR) == 3


@pytest.mark.parametrize("kind", [OFF_SITE, SUSPENSION])
def test_off_site_direction_and_suspension_cover_agree_a_reintegration_plan_at_the_start(kind):
    extra = {"suspension_first_day": date(2026, 10, 5)} if kind is SUSPENSION else {}
    p = in_state("la_consulted", kind=kind, **extra)

    assert allowed(p, samples.notify(NOTICE_DAY), NOTICE_DAY).state == "notified"
    assert only_unmet(changed(p, reintegration_plan=None), samples.notify(NOTICE_DAY), NOTICE_DAY).clause == "§2.4"


@pytest.mark.parametrize("kind", [HEALTH, EHCP])
def test_other_kinds_need_no_reintegration_plan_before_notice(kind):
    extra = {"pupil": EHCP_PUPIL} if kind is EHCP else {}
    p = changed(in_state("la_consulted", kind=kind, **extra), reintegration_plan=None)

    assert allowed(p, samples.notify(NOTICE_DAY), NOTICE_DAY, AP_LEAD).state == "notified"


def test_the_headteacher_gives_notice_of_an_off_site_direction():
    unmet = only_unmet(consulted(), samples.notify(NOTICE_DAY), NOTICE_DAY, AP_LEAD)

    assert unmet.clause == "§6.4-6.5"
    assert allowed(consulted(), samples.notify(NOTICE_DAY), NOTICE_DAY, HEAD).notice.signed_by == HEAD.user_id


def test_an_ap_lead_may_give_notice_of_a_health_package():
    p = in_state("la_consulted", kind=HEALTH)

    assert allowed(p, samples.notify(NOTICE_DAY), NOTICE_DAY, AP_LEAD).notice.signed_by == AP_LEAD.user_id


def test_notice_for_an_ehcp_pupil_goes_to_the_la_too():
    p = in_state("notified", kind=EHCP, pupil=EHCP_PUPIL)

    assert [c.recipient for c in p.notice.copies] == ["parent or carer 1", "the local authority"]
    assert [c.recipient for c in in_state("notified").notice.copies] == ["parent or carer 1"]


@pytest.mark.parametrize(
    ("start", "last_day", "one_day_late"),
    [
        # RULES' own example: given on Mon 12 Oct for Thu 15 Oct (Tue and Wed clear): allowed; on Tue: refused.
        (date(2026, 10, 15), date(2026, 10, 12), date(2026, 10, 13)),
        # Start Mon 12 Oct 2026: Thu 8th and Fri 9th are the two clear school days.
        (date(2026, 10, 12), date(2026, 10, 7), date(2026, 10, 8)),
        # Start Tue 13 Oct 2026, across a weekend: Fri 9th and Mon 12th are clear.
        (date(2026, 10, 13), date(2026, 10, 8), date(2026, 10, 9)),
        # Start Tue 5 Jan 2027, back after Christmas: New Year's Day (Fri 1st) is a
        # bank holiday and does not count, so Thu 31 Dec and Mon 4 Jan are the clear days.
        (date(2027, 1, 5), date(2026, 12, 30), date(2026, 12, 31)),
        # Start Wed 5 May 2027, across the early May bank holiday (Mon 3rd): Fri 30 April and Tue 4th.
        (date(2027, 5, 5), date(2027, 4, 29), date(2027, 4, 30)),
        # Start Wed 2 June 2027, across the spring bank holiday (Mon 31 May): Fri 28th and Tue 1st.
        (date(2027, 6, 2), date(2027, 5, 27), date(2027, 5, 28)),
    ],
    ids=["rules-example", "plain-week", "across-a-weekend", "across-new-years-day", "across-early-may-bank-holiday", "across-spring-bank-holiday"],
)
def test_notice_leaves_two_clear_school_days_before_the_start(start, last_day, one_day_late):
    p = in_state("la_consulted", start=start)

    assert allowed(p, samples.notify(last_day), last_day).state == "notified"
    assert allowed(p, Notify(), last_day).state == "notified"  # sent by apflow that day
    for late in (samples.notify(one_day_late), Notify()):
        unmet = only_unmet(p, late, one_day_late)
        assert unmet.clause == "§6.5"
        assert f"notice had to be given by {last_day}" in unmet.message
        assert "a new start date is needed" in unmet.message


def test_notice_given_on_a_bank_holiday_before_the_start_is_too_late():
    # Start Wed 5 May 2027: notice on Mon 3 May (a bank holiday) leaves only Tue 4th.
    p = in_state("la_consulted", start=date(2027, 5, 5))

    assert only_unmet(p, samples.notify(date(2027, 5, 3)), date(2027, 5, 3)).clause == "§6.5"


def test_a_notice_cannot_be_recorded_as_given_in_the_future():
    unmet = only_unmet(consulted(), samples.notify(NOTICE_DAY), date(2026, 10, 6))

    assert unmet.clause == "§6.5" and "future" in unmet.message


def test_a_notice_apflow_sends_is_given_when_it_is_sent_not_before():
    p = allowed(consulted(), Notify(), NOTICE_DAY)

    assert [(c.recipient, c.delivery, c.given_on) for c in p.notice.copies] == [("parent or carer 1", Delivery.email, None)]
    assert p.notice.given_on is None  # until the letter has gone
    assert only_unmet(consulted(), Notify(), date(2026, 10, 9)).clause == "§6.5"


@pytest.mark.parametrize("action", [
    Notify(sent_on=date(2026, 10, 1)),
    OpenReview(meeting_on=MEETING_DAY, invitation_sent_on=date(2026, 11, 1)),
])
def test_a_claimed_date_for_a_letter_is_refused(action):
    state = "la_consulted" if action.action == "notify" else "active"
    today = NOTICE_DAY if action.action == "notify" else INVITE_DAY

    unmet = only_unmet(in_state(state), action, today)

    assert unmet.clause in ("§6.5", "§6.8") and "is not accepted" in unmet.message and "given_outside" in unmet.message


def test_a_notice_posted_by_the_school_counts_from_the_day_it_is_deemed_received():
    # Posted Mon 5 Oct: deemed received Wed 7 Oct (the second working day), the
    # last day for a start on Mon 12 Oct. Posted on Tue 6th it is deemed received too late.
    posted = GivenOutside(method=Delivery.post, on=date(2026, 10, 5), copy_document_id=samples.COPY_DOCUMENT_ID)
    p = allowed(consulted(), Notify(given_outside=posted), date(2026, 10, 5))
    assert p.notice.given_on == date(2026, 10, 7) and p.notice.copies[0].posted_on == date(2026, 10, 5)

    late = posted.model_copy(update={"on": date(2026, 10, 6)})
    assert only_unmet(consulted(), Notify(given_outside=late), date(2026, 10, 6)).clause == "§6.5"


def test_a_parent_without_an_email_address_gets_the_notice_by_post():
    p = consulted()
    no_email = p.parent_contacts[0].model_copy(update={"email": None})
    p = changed(p, parent_contacts=[no_email])

    after = allowed(p, Notify(), date(2026, 10, 1))

    assert after.notice.copies[0].delivery is Delivery.post
    # Posted today it would be deemed received on Mon 5 Oct: in time for Mon 12 Oct.
    assert only_unmet(p, Notify(), date(2026, 10, 6)).clause == "§6.5"


# --- start (§6.5, §5.1.5, §8.2.4) ------------------------------------------------


def test_a_placement_starts_once_the_start_date_is_reached():
    notified = in_state("notified")

    unmet = only_unmet(notified, Start(), date(2026, 10, 9))
    assert unmet.clause == "§6.5" and "has not been reached" in unmet.message
    assert allowed(notified, Start(), START).state == "active"
    assert allowed(notified, Start(), date(2026, 10, 13)).state == "active"


def test_a_placement_starts_only_once_notice_is_given():
    unmet = only_unmet(changed(in_state("notified"), notice=None), Start(), START)

    assert unmet.clause == "§6.5" and "notice" in unmet.message


def registered_consulted():
    return in_state("la_consulted", provider=samples.registered_provider())


def test_a_pupil_at_a_registered_school_provider_is_dual_registered_from_day_one():
    p = allowed(registered_consulted(), samples.notify(NOTICE_DAY), NOTICE_DAY)

    assert only_unmet(p, Start(), START).clause == "§5.1.5, §8.2.4"
    assert only_unmet(p, Start(dual_registration_from=date(2026, 10, 13)), START).clause == "§5.1.5, §8.2.4"
    assert allowed(p, Start(dual_registration_from=START), START).dual_registration_from == START


def test_dual_registration_may_be_recorded_with_the_notice():
    p = allowed(registered_consulted(), samples.notify(NOTICE_DAY, dual_registration_from=START), NOTICE_DAY)

    assert allowed(p, Start(), START).state == "active"


def test_an_unregistered_provider_needs_no_dual_registration():
    assert allowed(in_state("notified"), Start(), START).dual_registration_from is None


def test_the_system_starts_a_placement_on_its_start_date():
    assert allowed(in_state("notified"), Start(), START, SYSTEM).history[-1].actor == SYSTEM


# --- book a review (§6.8) --------------------------------------------------------


def test_parents_of_an_off_site_direction_are_invited_at_least_six_days_before_the_review():
    active = in_state("active")

    six = samples.open_review(date(2026, 11, 16), date(2026, 11, 10))
    assert allowed(active, six, date(2026, 11, 10)).state == "under_review"

    five = samples.open_review(date(2026, 11, 16), date(2026, 11, 11))
    unmet = only_unmet(active, five, date(2026, 11, 11))
    assert unmet.clause == "§6.8"
    assert "the earliest meeting date is 2026-11-17" in unmet.message


@pytest.mark.parametrize("kind", [HEALTH, EHCP, SUSPENSION])
def test_the_six_day_invitation_is_not_required_for_other_kinds(kind):
    extra = {
        HEALTH: {},
        EHCP: {"pupil": EHCP_PUPIL},
        SUSPENSION: {"suspension_first_day": date(2026, 10, 5)},
    }[kind]
    active = in_state("active", kind=kind, **extra)

    assert allowed(active, samples.open_review(MEETING_DAY, date(2026, 11, 15)), date(2026, 11, 15)).state == "under_review"


def test_parents_are_invited_in_writing_by_apflow_unless_the_school_gave_it():
    p = allowed(in_state("active"), samples.open_review(MEETING_DAY), INVITE_DAY)

    assert [(c.delivery, c.given_on) for c in p.review_meetings[-1].invitation] == [(Delivery.email, None)]
    # Sent today, the invitation leaves too few days before a meeting in five.
    assert only_unmet(in_state("active"), samples.open_review(date(2026, 11, 13)), date(2026, 11, 9)).clause == "§6.8"


def test_a_review_meeting_is_booked_on_a_school_day():
    unmet = only_unmet(in_state("active"), samples.open_review(date(2026, 11, 21)), INVITE_DAY)  # a Saturday

    assert unmet.clause == "§6.8, §9.6" and "not a school day" in unmet.message


def test_a_review_meeting_cannot_be_booked_in_the_past():
    unmet = only_unmet(in_state("active"), samples.open_review(date(2026, 11, 16), date(2026, 11, 9)), date(2026, 11, 17))

    assert unmet.clause == "§6.8" and "past" in unmet.message


def test_a_review_invitation_cannot_be_dated_in_the_future():
    unmet = only_unmet(in_state("active"), samples.open_review(date(2026, 11, 23), date(2026, 11, 10)), INVITE_DAY)

    assert unmet.clause == "§6.8" and "future" in unmet.message


# --- record a review: continue or extend (§6.8, DfE guidance 2025) ---------------


def under_review(**changes):
    return in_state("under_review", **changes)


def record(outcome=ReviewOutcome.continue_, held_on=MEETING_DAY, **changes) -> RecordReview:
    return RecordReview(review=samples.review(held_on, outcome, **changes))


def test_a_review_must_be_held_and_recorded_in_writing():
    unmet = only_unmet(under_review(), RecordReview(), MEETING_DAY)

    assert unmet.clause == "§6.8" and "recorded in writing" in unmet.message
    assert allowed(under_review(), record(), MEETING_DAY).state == "active"


def test_a_review_record_holds_the_parents_view():
    with pytest.raises(ValidationError):
        ReviewRecord(held_on=MEETING_DAY, record="Attendance up.", outcome=ReviewOutcome.continue_)
    with pytest.raises(ValidationError):
        ReviewRecord(held_on=MEETING_DAY, record="Attendance up.", parents_view=" ", outcome=ReviewOutcome.continue_)


def test_a_review_cannot_be_recorded_before_it_is_held():
    unmet = only_unmet(under_review(), record(held_on=date(2026, 11, 17)), MEETING_DAY)

    assert unmet.clause == "§6.8, §9.6" and "before it is held" in unmet.message


@pytest.mark.parametrize("outcome", [ReviewOutcome.reintegrate, ReviewOutcome.terminate])
def test_recording_a_review_continues_or_extends_the_placement_only(outcome):
    unmet = only_unmet(under_review(), record(outcome), MEETING_DAY)

    assert unmet.clause == "§6.8" and f"'{outcome}' does not continue" in unmet.message


PLANNED_END = date(2026, 12, 18)


def test_an_extension_has_a_later_end_date_and_a_reason():
    p = under_review(planned_end_date=PLANNED_END)
    action = record(ReviewOutcome.extend, new_end_date=date(2027, 2, 12), extension_reason="Good progress; needs another half-term")

    after = allowed(p, action, MEETING_DAY)

    assert after.state == "active" and after.planned_end == date(2027, 2, 12)


@pytest.mark.parametrize("new_end", [None, PLANNED_END, date(2026, 12, 11)], ids=["none", "same-day", "earlier"])
def test_an_extension_needs_an_end_date_after_the_current_one(new_end):
    p = under_review(planned_end_date=PLANNED_END)
    action = record(ReviewOutcome.extend, new_end_date=new_end, extension_reason="Needs longer")

    unmet = only_unmet(p, action, MEETING_DAY)

    assert unmet.clause == "DfE guidance 2025: maximum period" and "new end date" in unmet.message


def test_an_extension_needs_a_reason():
    p = under_review(planned_end_date=PLANNED_END)

    unmet = only_unmet(p, record(ReviewOutcome.extend, new_end_date=date(2027, 2, 12)), MEETING_DAY)

    assert unmet.clause == "DfE guidance 2025: maximum period" and "reason" in unmet.message


def test_a_review_that_continues_the_placement_cannot_move_its_end_date():
    p = under_review(planned_end_date=PLANNED_END)

    unmet = only_unmet(p, record(ReviewOutcome.continue_, new_end_date=date(2027, 2, 12)), MEETING_DAY)

    assert unmet.clause == "DfE guidance 2025: maximum period" and "only an extension" in unmet.message
    assert allowed(p, record(ReviewOutcome.continue_), MEETING_DAY).planned_end == PLANNED_END


def test_a_second_extension_must_go_past_the_first():
    p = under_review(planned_end_date=PLANNED_END)
    p = allowed(p, record(ReviewOutcome.extend, new_end_date=date(2027, 2, 12), extension_reason="Another half-term"), MEETING_DAY)
    p = allowed(p, samples.open_review(date(2027, 2, 8), date(2027, 2, 1)), date(2027, 2, 1))

    same = record(ReviewOutcome.extend, held_on=date(2027, 2, 8), new_end_date=date(2027, 2, 12), extension_reason="More")
    assert only_unmet(p, same, date(2027, 2, 8)).clause == "DfE guidance 2025: maximum period"
    later = record(ReviewOutcome.extend, held_on=date(2027, 2, 8), new_end_date=date(2027, 3, 26), extension_reason="More")
    assert allowed(p, later, date(2027, 2, 8)).planned_end == date(2027, 3, 26)


# --- reintegrate (§2.4, §2.7, §6.10, §8.2.7) ---------------------------------------


def test_reintegration_follows_a_review_that_decided_on_it():
    unmet = only_unmet(under_review(), Reintegrate(review=samples.review(MEETING_DAY, ReviewOutcome.continue_)), MEETING_DAY)

    assert unmet.clause == "§2.7"
    assert allowed(under_review(), samples.reintegrate(MEETING_DAY), MEETING_DAY).state == "reintegrating"


def test_reintegration_needs_the_review_recorded():
    plan = samples.reintegrate(MEETING_DAY).plan

    assert only_unmet(under_review(), Reintegrate(plan=plan), MEETING_DAY).clause == "§6.8"


def test_reintegration_needs_a_plan_with_support_from_school_and_provider():
    # A health package agrees no plan at the start, so the review must bring one.
    p = in_state("under_review", kind=HEALTH, reintegration_plan=None)
    without_plan = Reintegrate(review=samples.review(MEETING_DAY, ReviewOutcome.reintegrate))

    assert only_unmet(p, without_plan, MEETING_DAY).clause == "§2.4, §2.7, §6.10, §8.2.7"
    assert allowed(p, samples.reintegrate(MEETING_DAY), MEETING_DAY).reintegration_plan.school_support


def test_the_plan_agreed_at_the_start_serves_for_reintegration():
    p = under_review()
    action = Reintegrate(review=samples.review(MEETING_DAY, ReviewOutcome.reintegrate))

    assert allowed(p, action, MEETING_DAY).reintegration_plan == p.reintegration_plan


# --- close (§2.6, §3.7, §8.2.17-19, appendix) ----------------------------------------


@pytest.mark.parametrize(
    ("missing", "clause"),
    [
        ("final_report", "§2.6, §8.2.17"),
        ("destination", "§3.7, §8.2.19"),
        ("pupil_view", "§3.7, §8.2.18"),
        ("evaluation", "appendix: evaluation"),
    ],
)
def test_closing_needs_each_end_of_placement_record(missing, clause):
    reintegrating = with_end_evaluation(in_state("reintegrating"), CLOSE_DAY)
    if missing == "evaluation":  # recorded before, part by part (domain.evaluations)
        assert only_unmet(in_state("reintegrating"), samples.close(CLOSE_DAY), CLOSE_DAY).clause == clause
    else:
        action = samples.close(CLOSE_DAY).model_copy(update={missing: None})
        assert only_unmet(reintegrating, action, CLOSE_DAY).clause == clause
    assert allowed(reintegrating, samples.close(CLOSE_DAY), CLOSE_DAY).state == "closed"


def test_an_empty_pupil_view_is_no_view():
    action = Close(**{**samples.close(CLOSE_DAY).model_dump(), "pupil_view": "   "})

    assert only_unmet(with_end_evaluation(in_state("reintegrating"), CLOSE_DAY), action, CLOSE_DAY).clause == "§3.7, §8.2.18"


# --- terminate (§9.7, §10.1, §13.4.4) -------------------------------------------------


def test_ending_a_placement_needs_a_reason():
    action = samples.terminate(PREP_DAY).model_copy(update={"reason": None})

    assert only_unmet(in_state("active"), action, INVITE_DAY).clause == "§9.7"


def test_ending_a_placement_needs_the_pupils_next_destination():
    action = samples.terminate(PREP_DAY).model_copy(update={"next_destination": None})

    unmet = only_unmet(in_state("active"), action, INVITE_DAY)

    assert unmet.clause == "§10.1, §13.4.4" and "roll" in unmet.message


def test_ending_with_neither_reason_nor_destination_names_both():
    assert clauses(refusal(in_state("active"), Terminate(), INVITE_DAY)) == ["§9.7", "§10.1, §13.4.4"]


@pytest.mark.parametrize("state", NON_FINAL)
def test_a_safeguarding_termination_is_possible_from_every_state_that_is_not_final(state):
    today = ACTING_DAY[state]

    after = allowed(in_state(state), samples.terminate(today, safeguarding=True), today, DSL)

    assert after.state == "terminated"
    assert after.termination.safeguarding and after.termination.next_destination is not None


def test_a_review_may_decide_to_terminate():
    action = samples.terminate(MEETING_DAY).model_copy(update={"review": samples.review(MEETING_DAY, ReviewOutcome.terminate)})

    after = allowed(under_review(), action, MEETING_DAY)

    assert after.state == "terminated" and after.reviews[-1].outcome is ReviewOutcome.terminate


def test_suspension_cover_is_full_time_education():
    part_time = samples.proposal(START).pattern
    unmet = proposal_unmet(kind=SUSPENSION, suspension_first_day=date(2026, 10, 5), start=date(2026, 10, 12), pattern=part_time)
    assert [(u.clause, u.message) for u in unmet] == [("§13.2", "suspension cover must be full-time education")]
