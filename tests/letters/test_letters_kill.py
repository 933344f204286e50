"""A worker killed right after a letter left, before the register recorded
it, does not send the letter again.

The worker runs as its own process (`python worker.py`) against the dev
server, its mail going to a real SMTP server in this test. A test-only
setting makes its process end at the worst moment: the SMTP server has
accepted the LA's notice and the register still says `sending`. A new worker
retries the activity, finds `sending`, and does not send it a second time: it
marks it `unconfirmed` and the workflow tells the AP lead to check with the
LA. The step itself completes.
"""
from __future__ import annotations

import asyncio

from temporalio.service import RPCError

from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from documents.delivery import message_id
from store import documents as sent
from store.db import make_engine
from tests.workflows.test_worker_crash import LEAD, RECOVERY_WAIT_S, WorkerProcess, last_school_day, worker_env
from workflows.client import act, snapshot, start_placement

from .conftest import BASE_URL, DIRECTORY, FROM, SECRET, Inbox

DEATH_WAIT_S = 30


async def test_a_worker_killed_after_sending_does_not_send_again(dev_env, tmp_path, smtp):
    inbox, port = smtp
    inbox: Inbox
    client = dev_env.client
    db = tmp_path / "register.db"
    env = worker_env(
        client, tmp_path, db, link_secret=SECRET, public_url=BASE_URL, mail_mode="smtp",
        mail_smtp_host="127.0.0.1", mail_smtp_port=str(port), mail_smtp_security="none", mail_from_address=FROM,
    )
    start = last_school_day()
    cal = load_calendar("137000", Settings().calendars_dir)
    start = cal.add_school_days(start, 15)
    workers: list[WorkerProcess] = []
    try:
        workers.append(WorkerProcess(env | {"APFLOW_TEST_EXIT_AFTER_SEND": "1"}, tmp_path / "worker-1.log"))
        await workers[0].ready()
        handle, _ = await start_placement(client, env["APFLOW_TASK_QUEUE"], samples.proposal(start), LEAD, cal,
                                          directory=DIRECTORY)
        pid = handle.id
        await act(client, pid, LEAD, samples.vet())  # no letter: the pupil has no EHC plan

        # Informing the LA sends it the notice of the placement (§8.1); the
        # worker dies the moment the SMTP server has accepted it.
        informed_on = (await snapshot(client, pid)).placement.history[-1].at.date()
        consult = asyncio.create_task(act(client, pid, LEAD, samples.consult_la(informed_on)))
        code = await asyncio.to_thread(workers[0].proc.wait, DEATH_WAIT_S)
        assert code == 70, workers[0].output()
        assert [m.to for m in inbox.mails] == [["ap-placements@kirklees.example"]]
        key = f"{pid}:3:la_placement_notice:la"
        assert inbox.mails[0].message_id == message_id(key, FROM)
        peek = make_engine(f"sqlite:///{db}")
        assert sent.by_key(peek, key).status == "sending"
        # The step was recorded and answered before its letter went.
        assert (await consult).placement.state == "la_consulted"

        workers.append(WorkerProcess(env, tmp_path / "worker-2.log"))
        await workers[1].ready()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECOVERY_WAIT_S
        while True:
            try:
                snap = await snapshot(client, pid)
            except RPCError:  # no worker has picked the workflow up yet: it cannot answer
                snap = None
            if snap and any(e.kind == "letter_unconfirmed" for e in snap.placement.escalations):
                break
            assert loop.time() < deadline, f"the letter was not settled on the new worker:\n{workers[1].output()}"
            await asyncio.sleep(0.2)

        # The notice arrived once; its row says it may have gone, and the AP lead is told to check.
        (escalation,) = [e for e in snap.placement.escalations if e.kind == "letter_unconfirmed"]
        assert escalation.owner.value == "ap_lead" and escalation.clause == "§8.1"
        assert "may not have been delivered" in escalation.message
        deadline = loop.time() + 10
        while not inbox.to("aplead@nexus-valley.example"):
            assert loop.time() < deadline, [m.subject for m in inbox.mails]
            await asyncio.sleep(0.1)
        notices = [m for m in inbox.mails if m.message_id == message_id(key, FROM)]
        assert len(notices) == 1
        assert [m.to for m in inbox.mails] == [["ap-placements@kirklees.example"], ["aplead@nexus-valley.example"]]
        rows = [r for r in sent.for_placement(peek, pid) if r.kind == "la_placement_notice"]
        assert [(r.idempotency_key, r.status) for r in rows] == [(key, "unconfirmed")]
        peek.dispose()
    finally:
        for w in workers:
            w.kill()
