"""Hostile input at the edge of the API: oversized bodies, pages of other
sites, school ids that are not URNs, malformed provider answers, links on
ended placements; and what every response says about itself."""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import date

from apflow import samples
from console.hardening import RedactTokens
from tests.api.test_api import HEAD, LEAD, SCHOOL, act, closed_placement, expect, new_pupil, propose, today  # noqa: F401 - a fixture

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"}


async def test_an_oversized_body_is_refused_before_it_is_read(http):
    huge = b'{"x": "' + b"a" * 1_100_000 + b'"}'
    r = await http.post("/api/placements", headers={**LEAD, "Content-Type": "application/json"}, content=huge)
    assert r.status_code == 413 and "bytes" in r.json()["detail"]["message"]

    async def streamed():
        for _ in range(12):
            yield b"a" * 100_000

    r = await http.post("/api/placements", headers={**LEAD, "Content-Type": "application/json"}, content=streamed())
    assert r.status_code == 413
    assert (await http.get("/healthz")).status_code == 200


async def test_a_state_change_from_another_sites_page_is_refused(http):
    pid = (await propose(http))["placement"]["placement_id"]
    r = await http.post(f"/api/placements/{pid}/actions/vet", headers={**LEAD, "Origin": "http://evil.example"},
                        json=samples.vet().model_dump(mode="json"))
    assert r.status_code == 403 and "another site" in r.json()["detail"]["message"]
    assert (await http.get(f"/api/placements/{pid}", headers=LEAD)).json()["placement"]["state"] == "proposed"
    own = str(http.base_url).rstrip("/")
    assert (await http.post(f"/api/placements/{pid}/actions/vet", headers={**LEAD, "Origin": own},
                            json=samples.vet().model_dump(mode="json"))).status_code == 200


async def test_responses_forbid_framing_and_caching_and_redirects_do_not_echo_the_host(http):
    r = await http.get("/api/placements", headers=LEAD)
    assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in r.headers["content-security-policy"]
    slash = await http.get("/api/placements/", headers={**LEAD, "Host": "evil.example"})
    assert slash.status_code == 404 and "evil.example" not in slash.headers.get("location", "")


async def test_a_school_id_that_is_not_a_urn_is_refused_at_proposal(http):
    for bad in ("a/b", "../../etc/passwd", "137000\x00", ".", "1370000"):
        proposal = samples.proposal(today()).model_dump(mode="json")
        proposal["school"]["school_id"] = bad
        r = await http.post("/api/placements", headers={**LEAD, "X-School": SCHOOL}, json=proposal)
        assert r.status_code == 422, (bad, r.status_code)


async def test_malformed_answers_to_a_provider_link_are_refused_cleanly(http):
    # Any token will do: the body is judged before anything is recorded, and a bad token is refused anyway.
    for body, kind in ((b"\xff\xfe not utf-8", "application/json"), (b"[" * 100_000 + b"]" * 100_000, "application/json"),
                       (b'{"summary": 1' + b"0" * 5000 + b"}", "application/json"),
                       ("&".join(f"f{n}=x" for n in range(300_000)).encode()[:900_000], "application/x-www-form-urlencoded")):
        r = await http.post("/provider/not-a-token", content=body, headers={"Content-Type": kind})
        assert r.status_code < 500, (kind, r.status_code)
        assert len(r.content) < 10_000


async def test_no_link_is_issued_on_an_ended_placement(http):
    pid = (await propose(http))["placement"]["placement_id"]
    await act(http, pid, "terminate", samples.terminate(today()), HEAD)
    r = await http.post(f"/api/placements/{pid}/links", headers=LEAD, json={"purpose": "attendance"})
    assert r.status_code == 409 and "terminated" in r.json()["detail"]


async def test_no_link_is_issued_on_a_closed_placement(closed_placement, http):
    pid = closed_placement["placement_id"]

    async def asked_for_by_staff() -> list[dict]:
        # A letter of the last steps may still be on its way with its own link ("doc-…"): not a request's.
        links = expect(await http.get(f"/api/placements/{pid}/links", headers=LEAD), 200)
        return [x for x in links if not x["issued_by"].startswith("doc-")]

    before = await asked_for_by_staff()
    for purpose in ("attendance", "final_report"):
        r = await http.post(f"/api/placements/{pid}/links", headers=LEAD, json={"purpose": purpose})
        assert r.status_code == 409 and "closed" in r.json()["detail"], (purpose, r.status_code, r.text)
    assert await asked_for_by_staff() == before


async def test_a_bodyless_form_post_from_another_site_revokes_no_link_and_reloads_nothing(http):
    """What a page of evil.example makes a signed-in browser send: a form
    POST with no body, its Origin the other site's."""
    pid = (await propose(http))["placement"]["placement_id"]
    issued = expect(await http.post(f"/api/placements/{pid}/links", headers=LEAD, json={"purpose": "attendance"}), 201)
    before = expect(await http.get(f"/api/placements/{pid}", headers=LEAD), 200)
    trail = expect(await http.get(f"/api/placements/{pid}/history", headers=LEAD), 200)

    r = await http.post(f"/api/placements/{pid}/links/{issued['link_id']}/revoke", headers={**LEAD, **FORM})
    assert r.status_code == 403 and "another site" in r.json()["detail"]["message"]
    for path in (f"/api/schools/{SCHOOL}/calendar/reload", f"/api/schools/{SCHOOL}/directory/reload"):
        r = await http.post(path, headers={**LEAD, **FORM})
        assert r.status_code == 403 and "another site" in r.json()["detail"]["message"], (path, r.status_code)

    (link,) = [x for x in expect(await http.get(f"/api/placements/{pid}/links", headers=LEAD), 200)
               if x["link_id"] == issued["link_id"]]
    assert link["revoked_at"] is None
    assert (await http.get(issued["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))).status_code == 200
    assert expect(await http.get(f"/api/placements/{pid}/history", headers=LEAD), 200) == trail
    assert expect(await http.get(f"/api/placements/{pid}", headers=LEAD), 200)["placement"] == before["placement"]


def test_a_providers_token_never_reaches_the_access_log():
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/provider/eyJwbGFjZW1lbnQiOiJ4In0.abc.def", "1.1", 200), None)
    RedactTokens().filter(record)
    assert "eyJ" not in record.getMessage() and "/provider/…" in record.getMessage()


async def test_a_school_in_a_url_is_a_urn_or_nothing(http):
    for path in ("/api/schools/..%2F..%2Fetc/calendar/reload", "/api/schools/137000%00/directory/reload",
                 "/api/schools/abc/letters-to-post"):
        method = http.get if path.endswith("to-post") else http.post
        r = await method(path, headers=LEAD)
        assert r.status_code in (404, 422), (path, r.status_code)


async def test_the_lifecycle_diagram_is_served_from_the_chart(http):
    r = await http.get("/api/lifecycle", params={"state": "under_review"}, headers=LEAD)
    assert r.status_code == 200 and r.text.startswith("stateDiagram-v2") and "under_review:::active" in r.text
    assert (await http.get("/api/lifecycle", params={"state": "nowhere"}, headers=LEAD)).status_code == 422


async def test_amend_takes_only_real_dates_and_what_propose_would(http):
    pid = (await propose(http))["placement"]["placement_id"]
    before = (await http.get(f"/api/placements/{pid}", headers=LEAD)).json()
    r = await http.post(f"/api/placements/{pid}/actions/amend", headers=LEAD, json={"start_date": 0})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    r = await http.post(f"/api/placements/{pid}/actions/amend", headers=LEAD, json={"planned_end_date": "2000-01-01"})
    assert r.status_code == 409 and "§2.3" in r.text
    assert (await http.get(f"/api/placements/{pid}", headers=LEAD)).json()["placement"] == before["placement"]


async def test_amend_with_no_parent_contacts_takes_what_propose_takes(http):
    """A proposal may leave its parents' contacts to be completed (the notice
    is what needs them: `guards.notice`), so an amend to none is taken as
    propose takes it: both 2xx, and the placement then has none."""
    bare = (await propose(http, parent_contacts=[]))["placement"]
    assert bare["parent_contacts"] == []
    pid = (await propose(http))["placement"]["placement_id"]
    r = await http.post(f"/api/placements/{pid}/actions/amend", headers=LEAD, json={"parent_contacts": []})
    assert r.status_code == 200 and r.json()["placement"]["parent_contacts"] == [], r.text


async def test_health_says_the_database_is_degraded_at_once_when_it_does_not_answer(dev_env, tmp_path):
    """Every connection of the register's pool is held (a locked, stuck
    database): /healthz still answers within its second, saying so."""
    from sqlalchemy import create_engine

    from apflow.settings import Settings
    from console.api import create_app
    from store.db import migrate
    from tests.api.conftest import serving

    import httpx

    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}", pool_size=1, max_overflow=0, pool_timeout=20)
    migrate(engine)
    app = create_app(Settings(var_dir=tmp_path / "var", task_queue="unused"), client=dev_env.client, engine=engine)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        held = engine.connect()
        try:
            r = await client.get("/healthz")
            assert r.status_code == 503
            assert r.json() == {"status": "degraded", "database": "error: no answer within 1 s", "temporal": "ok"}
        finally:
            held.close()
        assert (await client.get("/healthz")).json()["database"] == "ok"
    engine.dispose()


async def test_text_no_person_types_is_refused_naming_where_and_nothing_is_made(http):
    start = (await propose(http))["placement"]["start_date"]  # a start the calendar takes
    before = (await http.get("/api/placements", headers=LEAD, params={"limit": 1})).json()["total"]
    for name, char in (("Alex \ud800 Example", "U+D800"), ("Alex\x00Example", "U+0000"), ("Alex\x0bExample", "U+000B"),
                       ("Alex\x85Example", "U+0085")):
        body = samples.proposal(date.fromisoformat(start), pupil=new_pupil().model_copy(update={"name": name})).model_dump(mode="json")
        # As a client sends it: JSON escapes what it cannot write (a lone surrogate as \ud800).
        r = await http.post("/api/placements", headers={**LEAD, "Content-Type": "application/json"}, content=json.dumps(body))
        assert r.status_code == 422, (name, r.text)
        [problem] = r.json()["detail"]
        assert problem["loc"] == ["body", "pupil", "name"] and char in problem["msg"], problem
    assert (await http.get("/api/placements", headers=LEAD, params={"limit": 1})).json()["total"] == before
    # Nested as deep as a parser goes, found at the bottom all the same.
    deep = "[" * 900 + json.dumps({"summary": ["fine", "not\x00fine"]}) + "]" * 900
    r = await http.post("/provider/not-a-token", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "U+0000" in r.json()["detail"][0]["msg"], r.text
    r = await http.get("/api/placements", headers=LEAD, params={"provider": "Bridge\x00way"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "provider"], r.text
    r = await http.post("/sign-in", content="email=a%00b%40example.org&password=x",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "email"], r.text
    # A browser's form is answered with the console's page, naming the field.
    r = await http.post("/sign-in", content="email=a%0Bb%40example.org&password=x",
                        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html,*/*"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html"), r.text
    assert "There is a problem" in r.text and "Email holds a control character (U+000B)" in r.text, r.text
    # What people do type goes through: tabs and new lines in free text, accents, any script, emoji.
    body = samples.proposal(date.fromisoformat(start), pupil=new_pupil().model_copy(update={"name": "Zoë Ó Briain-Łukasz 李 🙂"}),
                            reasons="Line one\n\tand two\r\nthree").model_dump(mode="json")
    r = await http.post("/api/placements", headers={**LEAD, "Content-Type": "application/json"}, content=json.dumps(body))
    assert r.status_code == 201, r.text
    assert r.json()["placement"]["pupil"]["name"] == "Zoë Ó Briain-Łukasz 李 🙂"


async def test_health_names_what_a_part_answered_when_it_is_not_ok():
    from temporalio.service import RPCError, RPCStatusCode

    from console.api import _probe

    async def answers(serving):
        return serving

    async def refuses():
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

    async def hangs():
        await asyncio.sleep(5)

    assert await _probe(lambda: answers(True)) == "ok"
    assert await _probe(lambda: answers(None)) == "ok"  # the database's check returns nothing
    assert await _probe(lambda: answers(False)) == "error: answers but is not serving"
    assert await _probe(refuses) == "error: RPCError UNAVAILABLE"
    assert await _probe(hangs) == "error: no answer within 1 s"


async def test_a_pupils_or_providers_name_longer_than_the_register_holds_is_refused_at_proposal(http):
    for where in ("pupil", "provider"):
        proposal = samples.proposal(today()).model_dump(mode="json")
        proposal[where]["name"] = "N" * 201
        r = await http.post("/api/placements", headers={**LEAD, "X-School": SCHOOL}, json=proposal)
        assert r.status_code == 422 and "200 characters" in r.text and where in r.text, (where, r.text[:300])


async def test_an_idle_connection_outlives_a_clients_keepalive_and_answers_again(api_stack):
    """A client keeping its connection idle as long as httpx keeps one (5 s)
    sends on it again and is answered: the server does not close it in that
    same instant (uvicorn's own 5 s lost such a request in a test's run)."""
    import asyncio
    from urllib.parse import urlsplit

    import httpx

    url = urlsplit(api_stack.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    request = f"GET /healthz HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()

    async def answered() -> bytes:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        await reader.readexactly(length)
        return head.split(b"\r\n")[0]

    try:
        assert (await answered()).startswith(b"HTTP/1.1 ")
        await asyncio.sleep(httpx.Limits().keepalive_expiry + 0.5)
        assert (await answered()).startswith(b"HTTP/1.1 ")
    finally:
        writer.close()
