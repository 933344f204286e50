"""The console's templates (`console/templates`, beside the GOV.UK macros of
`govuk-frontend-jinja`) and how a page goes out: HTML that is never cached,
for it shows pupils' details to the person signed in."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape

from apflow.directory import school_names
from console.dates import example_day
from console.identity import Principal
from console.signin import csrf
from documents import formatting
from domain.clock import uk_date, uk_offset

from . import wording

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NO_STORE = {"Cache-Control": "no-store"}

env = Environment(
    loader=ChoiceLoader([
        FileSystemLoader(TEMPLATES),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
    ]),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def long_date(value: date | datetime | str | None) -> str:
    """27 March 2027; an instant as its day in the UK."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = uk_date(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    return formatting.long_date(value)


def date_time(value: datetime | None) -> str:
    """27 March 2027, 14:05 in UK civil time (an instant stored without its zone is UTC)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(timezone.utc) + uk_offset(value)
    return f"{local.day} {local:%B %Y, %H:%M}"


def choice(pair: tuple[str, str], current) -> dict:
    """A (value, text) choice as a GOV.UK item, checked when it is `current`
    (a value, or several for checkboxes)."""
    value, text = pair
    chosen = value in current if isinstance(current, (list, tuple, set)) else value == current
    return {"value": value, "text": text, "checked": chosen, "selected": chosen}


def state_choice(value) -> dict:
    """An enum member as a select's item."""
    return {"value": value.value, "text": wording.words(value.value)}


env.filters.update(choice=choice, state_choice=state_choice, long_date=long_date, date_time=date_time, words=wording.words, phrase=wording.phrase, action_title=wording.action_title,
                   state_tag=wording.state_tag, sentence=formatting.sentence, days_in_words=formatting.days_in_words, named=lambda user_id, names: names.get(user_id, user_id))


env.globals["example_day"] = example_day


def page(request: Request, template: str, principal: Principal | None, status: int = 200, **context) -> HTMLResponse:
    """A page for the signed-in person; `csrf_token` is theirs, for every
    form (the sign-in's: `signed_in_form` checks it when the form comes back)."""
    names = school_names(request.app.state.settings.directory_file)
    html = env.get_template(template).render(
        request=request, principal=principal, csrf_token=csrf.token_for(request, principal) if principal else None,
        school_name=lambda school_id: names.get(school_id, school_id), **context,
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def not_found(request: Request, principal: Principal | None, what: str = "page") -> HTMLResponse:
    """The same answer for what does not exist and what is another school's."""
    return page(request, "not_found.html", principal, status=404, what=what)
