"""The console's forms fuzzed as each kind of person, and what no refused
form may leave behind (issue 13: "fuzz ... the console's forms: no 5xx, and
no refused request changes any placement (checked after the run)").

The forms are found as a person meets them: every `<form method="post">` on
the pages of placements in known states, as the AP lead, the headteacher and
the DSL see them, and on the pages a provider's and a parent's links open.
Each is then posted with values Hypothesis draws (hostile text, markup, mail
headers, impossible dates, huge fields, fields left out, repeated or never
heard of, a file that is no PDF), as people who may act on the school's
placements (on two placements kept to play with) and as people who may not
(another school's AP lead, a governor with read-only access: on every
placement). Most carry the person's own CSRF token, so they reach the
handler; some carry a forged one, or another person's, and come from
another site.

Checked on every answer: no 5xx but the documented 503; a page, not a
traceback. Checked after the run: a placement no accepted form could have
reached is exactly as it was, in the register (its attendance marks and its links too) and in
its workflow; no one outside the school was ever let through.

Generation is seeded per form and person, and bounded (`EXAMPLES` each).
"""
from __future__ import annotations

import asyncio
import re
import zlib
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from apflow import samples
from apflow.calendars import load_calendar
from domain.actions import ACTION_MODELS
from domain.models import Weekday
from store import attendance
from store import documents as sent
from tests.api import test_api as api
from tests.api.test_fuzz import snapshot_of, state_of

from .conftest import DSL, HEAD, LEAD, OPS, OTHER_LEAD, Person
from .helpers import consulted, started_today

EVERY_DAY = samples.proposal(date.today()).pattern.model_copy(update={"days": list(Weekday)})

# The service under test runs in this process, on other threads: what it
# draws from `random` while a form's values are drawn, Hypothesis takes for
# the strategies' own use and warns of (now and then, by timing).
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")

EXAMPLES = 4  # per form, person and placement
READ_ONLY = Person("governor-137000", "read_only")
INSIDERS = (LEAD, HEAD, DSL, OPS)
OUTSIDERS = (OTHER_LEAD, READ_ONLY)
ANONYMOUS = Person("", "")  # a link's holder: no sign-in at all
SEARCHES = ("/placements/search", "/register/search")  # posted so that a pupil's name stays out of URLs; they change nothing

HOSTILE = [
    "", " ", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}",
    "Bcc: someone@elsewhere.example\r\nSubject: forged", "line\nbreak", "\x00", "\u202egnirts", "😀" * 20,
    "2026-02-30", "9999-12-31", "0001-01-01", "31/12/2026", "-1", "0", "1e309", "NaN", "99999999999999999999",
    "P-0001", "137001", "placement-00000000-0000-0000-0000-000000000000", "../../etc/passwd", "%00", "true",
    "x" * 5_000,
]
HUGE = "y" * 2_000_000  # past any field's and the body's limit


@dataclass
class Form:
    """One form as drawn: where it posts, its fields with the values the page
    gave them (and the options of a choice), and its file inputs."""

    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._in: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._in = Form(a.get("action") or "")
            self.forms.append(self._in)
        if self._in is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input" and a.get("type") == "file":
            self._in.files.append(name)
        elif tag in ("input", "textarea"):
            self._in.fields.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select":
            self._select = name
            self._in.fields.setdefault(name, [])
        if tag == "option" and self._select:
            self._in.fields[self._select].append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._in = None
        elif tag == "select":
            self._select = None


def forms_on(html: str, page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    for f in parser.forms:
        f.action = f.action or page.split("?")[0]
    return parser.forms


@dataclass(frozen=True)
class Call:
    who: str
    path: str
    status: int


@dataclass
class Run:
    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def headers_of(person: Person) -> dict[str, str]:
    return person.headers if person.user else {}


async def token_of(http: httpx.AsyncClient, person: Person) -> str:
    """The CSRF token the console puts in this person's forms."""
    html = (await http.get("/placements", headers=headers_of(person))).text
    return re.findall(r'name="csrf_token" value="([^"]+)"', html)[0]


def values(form: Form, name: str) -> st.SearchStrategy[list[str]]:
    """What a field is sent as: as drawn, another of its options, hostile
    text, several values, or nothing at all."""
    given_ = [v for v in form.fields[name] if v]
    one = st.one_of(st.sampled_from(given_ or [""]), st.sampled_from(HOSTILE), st.text(max_size=30))
    return st.one_of(one.map(lambda v: [v]), st.lists(one, min_size=2, max_size=3), st.just([]))


async def fuzz_form(http: httpx.AsyncClient, form: Form, path: str, person: Person, tokens: dict[str, str], run: Run) -> None:
    """Posts `form` to `path` as `person`, EXAMPLES times with drawn values."""
    names = sorted(form.fields)
    # A link's holder is not signed in: their token is the one their page gave them (with its cookie).
    own = tokens[person.user] if person.user else (form.fields.get("csrf_token") or [""])[0]
    others = [t for u, t in tokens.items() if u != person.user]
    loop = asyncio.get_running_loop()

    @seed(zlib.crc32(f"{form.action} {person.user}".encode()))
    @settings(max_examples=EXAMPLES, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def draw(data):
        body: list[tuple[str, str]] = []
        for name in names:
            if name == "csrf_token":
                continue
            body += [(name, v) for v in data.draw(values(form, name), label=name)]
        body += [(n, v) for n, v in data.draw(st.lists(st.tuples(st.sampled_from(["extra", "action", "school_id", "placement_id"]),
                                                                 st.sampled_from(HOSTILE)), max_size=2), label="extra")]
        if data.draw(st.sampled_from([False] * 19 + [True]), label="huge"):
            body.append((data.draw(st.sampled_from(names or ["x"]), label="huge field"), HUGE))
        token = data.draw(st.sampled_from([own] * 8 + ["forged", *others[:1]]), label="csrf")
        body.append(("csrf_token", token))
        cross_site = data.draw(st.booleans(), label="cross-site")
        files = {n: data.draw(st.sampled_from([("copy.pdf", b"not a pdf", "application/pdf"), ("copy.txt", b"", "text/plain"),
                                               ("copy.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")]), label=n)
                 for n in form.files}
        headers = {**headers_of(person), **({"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"} if cross_site else {})}
        form_data: dict[str, list[str]] = {}
        for n, v in body:
            form_data.setdefault(n, []).append(v)
        r = asyncio.run_coroutine_threadsafe(
            http.post(path, headers=headers, data=form_data, files=files or None, follow_redirects=False), loop).result()
        run.calls.append(Call(person.user or "link holder", path, r.status_code))
        if r.status_code >= 500 and not api.unknown_outcome(r):
            run.problems.append(f"POST {path} as {person.user or 'a link holder'}: {r.status_code} {r.text[:300]}\n  {body!r:.1500}")
        elif "Traceback" in r.text:
            run.problems.append(f"POST {path} as {person.user}: a traceback in the answer")

    await asyncio.to_thread(draw)


@pytest_asyncio.fixture(scope="module")
async def seeded(console) -> dict[str, str]:
    """Placements of the school in known states, by state."""
    cal = load_calendar("137000", console.settings.calendars_dir)
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as http:
        out = {"proposed": (await api.propose(http))["placement"]["placement_id"],
               "la_consulted": await consulted(http, cal.add_school_days(api.today(), 15), "Fuzz Consulted"),
               # Every weekday: the day each starts owes sessions, so its week's return has a form.
               "active": await started_today(http, cal, "Fuzz Active", pattern=EVERY_DAY),
               "active_to_play": await started_today(http, cal, "Fuzz Playground", pattern=EVERY_DAY),
               "proposed_to_play": (await api.propose(http))["placement"]["placement_id"]}
    return out


async def forms_of(http: httpx.AsyncClient, console, seeded: dict[str, str]) -> list[Form]:
    """Every form the school's staff are shown on the seeded placements'
    pages and the console's own, and those of a provider's and a parent's
    links, each once by where it posts (a placement's id as `{pid}`)."""
    pages = ["/", "/placements", "/placements/new", "/register", "/providers/new", "/today/contacts"]
    for pid in seeded.values():
        pages += [f"/placements/{pid}", f"/placements/{pid}/attendance", f"/placements/{pid}/links"]
        facts = attendance.expectation(console.engine, pid)
        if facts is not None and facts.started_on:  # the week it started: this week may be a holiday's
            pages.append(f"/placements/{pid}/attendance/week?of={facts.started_on}")
        pages += [f"/placements/{pid}/actions/{action}" for action in ACTION_MODELS]
    found: dict[str, Form] = {}
    for person in (LEAD, HEAD, DSL):
        for page in pages:
            r = await http.get(page, headers=person.headers)
            if r.status_code == 200:
                for f in forms_on(r.text, page):
                    key = f.action
                    for pid in seeded.values():
                        key = key.replace(pid, "{pid}")
                    found.setdefault(key, f)
    for purpose in ("attendance", "progress_report", "evaluation_mid_parent"):
        link = api.expect(await http.post(f"/api/placements/{seeded['active_to_play']}/links", headers=api.LEAD,
                                          json={"purpose": purpose}), 201)
        path = httpx.URL(link["url"]).path
        for f in forms_on((await http.get(path)).text, path):
            found.setdefault(f"link {purpose} {f.action}", f)
    return [Form(key, f.fields, f.files) for key, f in found.items()]


def links_of(console, pid: str) -> list[tuple]:
    """A placement's signed links, and whether each was withdrawn."""
    return [(x.link_id, x.purpose, x.revoked_at) for x in sent.links_for(console.engine, pid)]


def marks_of(console, pid: str) -> tuple[list, list]:
    """A placement's attendance marks and their amendments, as its register holds them."""
    return ([(m.day, m.session, m.code, m.source, m.note, m.recorded_by) for m in attendance.marks_for(console.engine, pid)],
            [(a.day, a.session, a.new_code, a.amended_by) for a in attendance.amendments_for(console.engine, pid)])


async def test_fuzzing_the_consoles_forms_finds_no_5xx_and_refused_forms_change_nothing(console, seeded):
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as http:
        before = {pid: (state_of(console.engine, pid), await snapshot_of(http, pid), marks_of(console, pid), links_of(console, pid)) for pid in seeded.values()}
        forms = await forms_of(http, console, seeded)
        placement_forms = [f for f in forms if "{pid}" in f.action]
        assert len(placement_forms) >= 10 and {"/placements/{pid}/attendance", "/placements/{pid}/attendance/week", "/placements/{pid}/links"} <= {f.action for f in forms}, [f.action for f in forms]
        assert any(f.files for f in forms) and any(f.action.startswith("link ") for f in forms)
        tokens = {p.user: await token_of(http, p) for p in (*INSIDERS, *OUTSIDERS)}
        run = Run()
        playground = [seeded["active_to_play"], seeded["proposed_to_play"]]
        out_of_reach = [pid for pid in seeded.values() if pid not in playground]
        for form in forms:
            if form.action.startswith("link "):  # a link's form: its holder alone, no sign-in
                await fuzz_form(http, form, form.action.split(" ", 2)[2], ANONYMOUS, tokens, run)
                continue
            for i, person in enumerate(INSIDERS):  # each on one of the two, in turn
                pid = playground[i % 2]
                await fuzz_form(http, form, form.action.replace("{pid}", pid), person, tokens, run)
            for person in OUTSIDERS:
                for pid in (out_of_reach if "{pid}" in form.action else [None]):
                    await fuzz_form(http, form, form.action.replace("{pid}", pid or ""), person, tokens, run)
        after = {pid: (state_of(console.engine, pid), await snapshot_of(http, pid), marks_of(console, pid), links_of(console, pid)) for pid in seeded.values()}

    assert run.problems == [], f"{len(run.problems)} problems in {len(run.calls)} posts:\n" + "\n".join(run.problems[:20])
    outsiders = {p.user for p in OUTSIDERS}
    let_in = [c for c in run.calls if c.who in outsiders and c.status < 400 and c.path not in SEARCHES]
    assert let_in == [], f"people outside the school were let through: {let_in[:10]}"
    checked = 0
    for state, pid in seeded.items():
        if state.endswith("_to_play"):
            continue  # insiders' forms may have been taken there, as they may
        refused = [c for c in run.calls if pid in c.path and c.status >= 400]
        assert refused, f"no refused form reached the {state} placement: the check would prove nothing"
        assert after[pid] == before[pid], f"the {state} placement changed though {len(refused)} forms to it were refused"
        checked += 1
    assert checked == 3
