"""The daily sweep on the time-skipping server, with real placement
workflows: one query finds the placements that owe a mark or have an
unexplained absence, and only those are chased or signalled (the chase's
letter itself is read back in test_chase)."""
from __future__ import annotations

from datetime import time, timedelta

from apflow import samples
from domain.models import Pattern, Role, Weekday
from store import attendance
from worker import build_worker
from workflows.client import act

from .conftest import (
    HEAD,
    LEAD,
    attendance_escalations,
    env_today,
    live_placement,
    record,
    sleep_until,
    sweep,
)

PM_ONLY = Pattern(full_time=False, days=list(Weekday), arrival=time(13, 0), departure=time(15, 0))
MON_WED = Pattern(full_time=False, days=[Weekday.mon, Weekday.wed], arrival=time(9, 0), departure=time(15, 0))


async def test_the_sweep_signals_exactly_the_placements_that_need_it(time_env, engine, codes_synced, task_queue, calendars):
    env = time_env
    term = calendars(await env_today(env))
    tue = term.first + timedelta(days=1)
    async with build_worker(env.client, task_queue, engine):
        ids = {}
        for name, pattern in [("all_marked", samples.FULL_TIME), ("pm_missing", samples.FULL_TIME),
                              ("am_unexplained", samples.FULL_TIME), ("school_b_only", samples.FULL_TIME),
                              ("not_a_pattern_day", MON_WED), ("pm_only", PM_ONLY), ("ill", samples.FULL_TIME)]:
            ids[name] = await live_placement(env, task_queue, term.first, pattern=pattern)
        await sleep_until(env, tue, time(9, 0))

        def marks(name, *pairs):
            return [(ids[name], tue, session, code) for session, code in pairs]

        record(engine, [
            *marks("all_marked", ("am", "B"), ("pm", "B")),
            *marks("pm_missing", ("am", "B")),
            *marks("am_unexplained", ("am", "N"), ("pm", "B")),
            *marks("school_b_only", ("pm", "B")),
            *marks("pm_only", ("pm", "B")),
            *marks("ill", ("am", "I"), ("pm", "I")),
        ], today=tue)
        record(engine, marks("school_b_only", ("am", "B")), today=tue, source="school", actor=HEAD)

        # The am check: the school's own B is chased with the provider; the
        # unexplained absence goes to the DSL the same day.
        await sleep_until(env, tue, time(10, 30))
        am = await sweep(env, task_queue, ["am"])
        assert am.day == tue
        assert (am.missing, am.unexplained_absence, am.chased, am.signalled, am.not_found) == (1, 1, 1, 1, 0)

        # The pm check: the chased B is still the school's alone, so the AP
        # lead hears of it; the afternoon's missing mark is chased first.
        await sleep_until(env, tue, time(14, 30))
        report = await sweep(env, task_queue, ["am", "pm"])
        assert (report.missing, report.unexplained_absence, report.chased, report.signalled, report.not_found) == (2, 0, 1, 1, 0)

        expected = {
            "am_unexplained": [("unexplained_absence", "am", Role.dsl)],
            "school_b_only": [("attendance_missing", "am", Role.ap_lead)],
        }
        for name, pid in ids.items():
            want = expected.get(name, [])
            got = await attendance_escalations(env, pid, len(want))
            assert [(e.kind, e.escalation_id.rsplit(":", 1)[1], e.owner) for e in got] == want, name
            assert all(e.escalation_id.split(":")[1] == tue.isoformat() and e.due == tue for e in got)
        assert [(c.day, c.session, c.check_day, c.check) for c in attendance.chases_for(engine, ids["pm_missing"])] == [
            (tue, "pm", tue, "pm")]

        # Sent once: the same check again finds nothing new, and the alerts are on record.
        again = await sweep(env, task_queue, ["am", "pm"])
        assert (again.missing, again.unexplained_absence, again.chased, again.signalled) == (0, 0, 0, 0)
        assert [(a.session, a.problem, a.code) for a in attendance.alerts_for(engine, ids["school_b_only"])] == [("am", "missing", "B")]


async def test_days_without_a_register_are_not_chased(time_env, engine, codes_synced, task_queue, calendars):
    """Weekends, bank holidays, INSET, the half-term holiday and days outside
    the pattern owe nothing, even with no marks at all."""
    env = time_env
    term = calendars(await env_today(env))
    async with build_worker(env.client, task_queue, engine):
        every_day = await live_placement(env, task_queue, term.first, pattern=samples.FULL_TIME)
        mon_wed = await live_placement(env, task_queue, term.first, pattern=MON_WED)
        await sleep_until(env, term.first, time(8, 0))
        saturday = term.first + timedelta(days=5)
        for day in (saturday, saturday + timedelta(days=1), term.inset, term.bank_holiday, *term.holiday):
            report = await sweep(env, task_queue, ["am", "pm"], day=day)
            assert (report.signalled, report.missing) == (0, 0), day
        tuesday = term.first + timedelta(days=1)
        report = await sweep(env, task_queue, ["am", "pm"], day=tuesday)
        # The full-time placement's two sessions only, each chased with the provider first.
        assert (report.missing, report.chased, report.signalled) == (2, 2, 0)
        assert [(c.day, c.session) for c in attendance.chases_for(engine, every_day)] == [(tuesday, "am"), (tuesday, "pm")]
        assert attendance.chases_for(engine, mon_wed) == []
        assert await attendance_escalations(env, mon_wed) == []


async def test_a_placement_not_yet_started_or_ended_is_not_chased(time_env, engine, codes_synced, task_queue, calendars):
    env = time_env
    term = calendars(await env_today(env))
    async with build_worker(env.client, task_queue, engine):
        later = await live_placement(env, task_queue, term.first + timedelta(days=7), pattern=samples.FULL_TIME)
        ended = await live_placement(env, task_queue, term.first, pattern=samples.FULL_TIME)
        await sleep_until(env, term.first, time(16, 0))
        await act(env.client, ended, LEAD, samples.terminate(term.first))
        await sleep_until(env, term.first + timedelta(days=1), time(15, 0))
        report = await sweep(env, task_queue, ["am", "pm"])
        assert (report.missing, report.signalled) == (0, 0)
        assert attendance.expectation(engine, later).started_on is None
        gone = attendance.expectation(engine, ended)
        assert (gone.state, gone.started_on, gone.ended_on) == ("terminated", term.first, term.first)
