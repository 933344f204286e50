"""The provider's side over real HTTP: the link in the school's request opens
a form, the answer flows into the placement as an action by the provider,
and a tampered, expired, withdrawn, answered or wrong-purpose link is refused
with nothing recorded. Staff fetch what was sent from the API.

uvicorn serves the app on an ephemeral port, connected to the Temporal dev
server, with a worker whose letters go to a real SMTP server.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import socket
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import httpx
import pytest_asyncio
import uvicorn

from activities.documents import DocumentActivities
from apflow import samples
from apflow.calendars import load_calendar
from apflow.settings import Settings
from console.api import create_app, server_config
from documents import LinkPurpose, issue_link
from domain.clock import uk_date
from domain.models import Role
from tests.workflows.test_worker_crash import last_school_day
from worker import build_worker

from .conftest import SECRET, Inbox, mail_settings, pdf_text
from tests.proxy import as_staff

LEAD = as_staff("aplead-137000", "ap_lead", "137000")
HEAD = as_staff("head-137000", "headteacher", "137000")
OTHER_LEAD = as_staff("aplead-137001", "ap_lead", "137001")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        yield


@pytest_asyncio.fixture
async def stack(dev_env, engine, smtp, tmp_path):
    inbox, port = smtp
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so,
    # and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    task_queue = f"tq-provider-{uuid.uuid4()}"
    # The API reads the trust's directory from a copy of its own, which a test may edit.
    directory = tmp_path / "directory.toml"
    directory.write_text(Settings().directory_file.read_text())
    settings = Settings(task_queue=task_queue, var_dir=tmp_path / "var", link_secret=SECRET, public_url=url,
                        directory_file=directory)
    app = create_app(settings, client=dev_env.client, engine=engine)
    server = _Server(server_config(app, log_level="warning"))
    documents = DocumentActivities(engine, mail_settings(port), [SECRET], url)
    try:
        async with build_worker(dev_env.client, task_queue, engine, documents):
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                assert not serving.done(), serving.result()
                await asyncio.sleep(0.05)
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                yield http, inbox, dev_env.client
            server.should_exit = True
            await asyncio.wait_for(serving, 15)
    finally:
        sock.close()


def ok(response: httpx.Response, status: int = 200):
    assert response.status_code == status, (response.status_code, response.text[:2000])
    return response.json() if "json" in response.headers.get("content-type", "") else response.text


async def placement(http, pid: str) -> dict:
    return ok(await http.get(f"/api/placements/{pid}", headers=LEAD))["placement"]


def own_pupil():
    """The sample pupil under an id of their own: a pupil's placements at one
    provider may not overlap (RULES: one placement at a time)."""
    return samples.proposal(uk_date(datetime.now(UTC))).pupil.model_copy(update={"pupil_id": f"P-{uuid.uuid4().hex[:8]}"})


async def notified(http) -> str:
    """An off-site direction, proposed and taken to `notified` over the API."""
    cal = load_calendar("137000", Settings().calendars_dir)
    start = cal.add_school_days(last_school_day(), 10)
    proposal = samples.proposal(start, pupil=own_pupil()).model_dump(mode="json")
    pid = ok(await http.post("/api/placements", json=proposal, headers=LEAD), 201)["placement"]["placement_id"]
    d = uk_date(datetime.now(UTC)).isoformat()
    ok(await http.post(f"/api/placements/{pid}/actions/vet", json=samples.vet().model_dump(mode="json"), headers=LEAD))
    ok(await http.post(f"/api/placements/{pid}/actions/consult_la", json={"informed_on": d, "la_contact": "Inclusion team"}, headers=LEAD))
    ok(await http.post(f"/api/placements/{pid}/actions/notify", json={}, headers=HEAD))
    # The notice's letters go after the step: the placement settles once each copy is recorded given.
    for _ in range(200):
        copies = (await placement(http, pid))["notice"]["copies"]
        if copies and all(c["given_on"] for c in copies):
            return pid
        await asyncio.sleep(0.05)
    raise AssertionError(f"the notice's letters were not recorded given: {copies}")


async def link_path(inbox: Inbox, subject: str) -> str:
    """The path of the provider's link in the one mail with this subject."""
    (mail,) = await inbox.until(lambda: inbox.of(subject))
    return re.search(r"/provider/[A-Za-z0-9_.\-]+", mail.html).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


async def test_a_provider_answers_through_its_link_end_to_end(stack):
    http, inbox, client = stack
    pid = await notified(http)
    path = await link_path(inbox, "Initial assessment due by")

    # The link opens a plain form that asks for the assessment; no pupil's name on it.
    page = ok(await http.get(path))
    assert "Send your initial assessment" in page and 'name="summary"' in page and pid in page
    assert "Alex" not in page and "Nexus Valley Academy" in page

    assert 'id="objectives"' not in page  # an assessment is of needs, not yet against the objectives
    # A report is asked for against each objective: its page lists them with their baselines.
    made = ok(await http.post(f"/api/placements/{pid}/links", headers=LEAD, json={"purpose": "progress_report"}), 201)
    report_page = ok(await http.get(urlparse(made["url"]).path))
    objectives = (await placement(http, pid))["objectives"]
    listed = re.findall(r'<li>([^<]*)<br><span class="hint">From: ([^<]*)</span></li>', report_page.replace("&#39;", "'"))
    assert listed == [(o["description"], o["baseline"] + (f". Aiming for: {o['target']}" if o["target"] else ""))
                      for o in objectives] and objectives, report_page

    # An incomplete answer: each field's error, nothing recorded.
    before = await placement(http, pid)
    page = await http.post(path, data={"purpose": "initial_assessment", "summary": "  "})
    assert page.status_code == 422 and "There is a problem" in page.text and "Enter your report" in page.text
    bad = await http.post(path, json={"summary": "Entry 3", "attendance_percent": 150})
    assert bad.status_code == 422
    assert bad.json()["detail"]["fields"] == [{"field": "attendance_percent", "message": "Attendance must be a number from 0 to 100"}]
    assert await placement(http, pid) == before

    # The answer, as form fields, flows into the placement as the provider's action.
    page = ok(await http.post(path, data={"purpose": "initial_assessment", "summary": "Entry 3 maths; small-group support"}))
    assert "has been sent" in page
    after = await placement(http, pid)
    assert after["initial_assessment"]["summary"] == "Entry 3 maths; small-group support"
    step = after["history"][-1]
    (link,) = [x for x in ok(await http.get(f"/api/placements/{pid}/links", headers=LEAD)) if x["purpose"] == "initial_assessment"]
    assert (step["action"], step["actor"]["role"], step["actor"]["user_id"]) == ("record_initial_assessment", "provider", link["link_id"])
    assert link["used_at"] is not None
    snap = ok(await http.get(f"/api/placements/{pid}", headers=LEAD))
    assert "initial_assessment" not in {d["kind"] for d in snap["deadlines"]}  # off the clock

    # Answered once: the link is spent.
    again = await http.post(path, json={"summary": "A second go"})
    assert again.status_code == 410 and again.json()["detail"]["error"] == "used"
    assert len((await placement(http, pid))["history"]) == len(after["history"])

    # Staff read back what was sent: the list, each document's HTML and its PDF with the hash recorded.
    docs = ok(await http.get(f"/api/placements/{pid}/documents", headers=LEAD))
    assert {d["kind"] for d in docs} == {"la_placement_notice", "offsite_direction_notice", "provider_initial_assessment_request"}
    notice = next(d for d in docs if d["kind"] == "offsite_direction_notice")
    assert (notice["recipient_role"], notice["recipient"], notice["status"]) == ("parent", "parent@family.example", "sent")
    detail = ok(await http.get(f"/api/placements/{pid}/documents/{notice['document_id']}", headers=LEAD))
    assert "Priya Shah" in detail["html"]
    pdf = await http.get(f"/api/placements/{pid}/documents/{notice['document_id']}.pdf", headers=LEAD)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == notice["sha256"]
    assert "Helen Carter" in pdf_text(pdf.content)
    assert (await http.get(f"/api/placements/{pid}/documents", headers=OTHER_LEAD)).status_code == 404


async def test_a_one_answer_link_answered_many_times_at_once_records_one_answer(stack):
    http, inbox, client = stack
    pid = await notified(http)
    path = await link_path(inbox, "Initial assessment due by")
    before = len((await placement(http, pid))["history"])

    answers = await asyncio.gather(*(
        http.post(path, json={"summary": f"Assessment number {n}"}) for n in range(8)
    ))

    assert sorted(r.status_code for r in answers) == [200] + [410] * 7
    after = await placement(http, pid)
    assert len(after["history"]) == before + 1 and after["history"][-1]["action"] == "record_initial_assessment"


async def test_tampered_expired_withdrawn_and_wrong_purpose_links_are_refused(stack):
    http, inbox, client = stack
    pid = await notified(http)
    path = await link_path(inbox, "Initial assessment due by")
    history = len((await placement(http, pid))["history"])
    answer = {"summary": "Entry 3 maths; small-group support"}

    async def refused(p: str, status: int, error: str) -> None:
        got = await http.post(p, json=answer)
        assert got.status_code == status and got.json()["detail"]["error"] == error, got.text
        page = await http.get(p)
        assert page.status_code == status and "You cannot use this link" in page.text and "send you a new one" in page.text
        p_now = await placement(http, pid)
        assert len(p_now["history"]) == history and p_now["initial_assessment"] is None

    # Altered: one character of the signature, or of the claims.
    # A character inside the signature, not its last one: that one carries
    # bits no byte uses, so flipping it may leave the signature's bytes as they
    # were (a respelled token, refused by documents.links.canonical).
    token = path.rsplit("/", 1)[1]
    i = len(token) - 5
    flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    await refused(f"/provider/{flipped}", 403, "tampered")
    await refused(f"/provider/x{token[1:]}", 403, "tampered")

    # Expired: a genuine link whose time is up.
    expired = issue_link([SECRET], pid, LinkPurpose.initial_assessment, datetime.now(UTC) - timedelta(minutes=1), "lnk-expired")
    await refused(f"/provider/{expired}", 410, "expired")

    # Withdrawn by staff: refused at once.
    links = ok(await http.get(f"/api/placements/{pid}/links", headers=LEAD))
    (link,) = [x for x in links if x["purpose"] == "initial_assessment"]
    assert (await http.post(f"/api/placements/{pid}/links/{link['link_id']}/revoke", headers=OTHER_LEAD)).status_code == 404
    revoked = ok(await http.post(f"/api/placements/{pid}/links/{link['link_id']}/revoke", headers=LEAD))
    assert revoked["revoked_at"] is not None
    await refused(path, 410, "revoked")

    # Another purpose's link: staff issue one for the final report; used for an assessment it is refused.
    issued = ok(await http.post(f"/api/placements/{pid}/links", json={"purpose": "final_report"}, headers=LEAD), 201)
    final_path = path_of(issued["url"])
    wrong = await http.post(final_path, json={"purpose": "initial_assessment", **answer})
    assert wrong.status_code == 403 and wrong.json()["detail"]["error"] == "wrongpurpose"
    assert len((await placement(http, pid))["history"]) == history

    # The placement cannot take a final report yet (it has not started): refused with the policy's reason.
    early = await http.post(final_path, json={"summary": "Too soon"})
    assert early.status_code == 409 and "not possible while the placement is notified" in early.json()["detail"]["message"]
    assert len((await placement(http, pid))["history"]) == history

    # An attendance link verifies and shows its form; a mark before the placement starts is refused, saying why.
    attendance = ok(await http.post(f"/api/placements/{pid}/links", json={"purpose": "attendance"}, headers=LEAD), 201)
    att_path = path_of(attendance["url"])
    assert "Report attendance" in ok(await http.get(att_path))
    mark = await http.post(att_path, json={"day": uk_date(datetime.now(UTC)).isoformat(), "session": "am", "code": "B"})
    assert mark.status_code == 422 and "not recorded" in mark.json()["detail"]["message"]
    assert (await http.post(f"/api/placements/{pid}/links", json={"purpose": "attendance"},
                            headers={**LEAD, "X-Role": Role.dsl.value})).status_code == 403


async def test_a_report_link_of_an_ended_placement_says_so_before_anything_is_written(stack):
    """Its workflow takes no more steps: the page says the placement has
    ended when the link is opened, not after a report is typed into it. An
    attendance link goes on taking marks, for days up to the end."""
    http, inbox, client = stack
    pid = await notified(http)
    path = await link_path(inbox, "Initial assessment due by")
    attendance = path_of(ok(await http.post(f"/api/placements/{pid}/links", json={"purpose": "attendance"}, headers=LEAD), 201)["url"])
    assert "Send your initial assessment" in ok(await http.get(path))

    d = uk_date(datetime.now(UTC))
    ok(await http.post(f"/api/placements/{pid}/actions/terminate", json=samples.terminate(d).model_dump(mode="json"), headers=HEAD))
    for _ in range(200):
        if (await placement(http, pid))["state"] == "terminated":
            break
        await asyncio.sleep(0.05)
    history = (await placement(http, pid))["history"]
    assert history[-1]["action"] == "terminate"

    page = await http.get(path)
    assert page.status_code == 410 and "This placement has ended" in page.text and "<textarea" not in page.text
    assert "send you a new one" not in page.text  # a new link would have nothing to ask either
    asked = await http.get(path, headers={"Accept": "application/json"})
    assert (asked.status_code, asked.json()["detail"]["error"]) == (410, "ended")
    sent = await http.post(path, json={"summary": "Entry 3 maths; small-group support"})
    assert (sent.status_code, sent.json()["detail"]["error"]) == (410, "ended")
    assert (await placement(http, pid))["history"] == history
    assert "Report attendance" in ok(await http.get(attendance))


async def test_an_edited_directory_reaches_running_placements(stack, tmp_path):
    """A new headteacher: the trust edits the directory and reloads it; the
    notice of a placement proposed before is signed by the new headteacher."""
    http, inbox, client = stack
    cal = load_calendar("137000", Settings().calendars_dir)
    proposal = samples.proposal(cal.add_school_days(last_school_day(), 10), pupil=own_pupil()).model_dump(mode="json")
    pid = ok(await http.post("/api/placements", json=proposal, headers=LEAD), 201)["placement"]["placement_id"]

    edited = tmp_path / "directory.toml"  # the file the stack's settings name
    edited.write_text(edited.read_text().replace("Helen Carter", "Morgan Ellis"))
    assert (await http.post("/api/schools/137000/directory/reload", headers=OTHER_LEAD)).status_code == 403
    told = ok(await http.post("/api/schools/137000/directory/reload", headers=LEAD))
    assert told["school_id"] == "137000" and told["placements_told"] >= 1

    d = uk_date(datetime.now(UTC)).isoformat()
    ok(await http.post(f"/api/placements/{pid}/actions/vet", json=samples.vet().model_dump(mode="json"), headers=LEAD))
    ok(await http.post(f"/api/placements/{pid}/actions/consult_la", json={"informed_on": d, "la_contact": "Inclusion team"}, headers=LEAD))
    ok(await http.post(f"/api/placements/{pid}/actions/notify", json={}, headers=HEAD))
    await inbox.until(lambda: [m for m in inbox.of("Notice of direction") if pid in m.pdf_text])
    (notice,) = [m for m in inbox.of("Notice of direction") if pid in m.pdf_text]
    assert "Morgan Ellis" in notice.pdf_text and "Helen Carter" not in notice.pdf_text
