"""The notice as `notify` will send it, before it is sent: the same plan
(`domain.letters`) and renderer (`documents`) the workflow's letters use,
dated today, from the placement as the register holds it."""
from __future__ import annotations

from datetime import UTC, datetime

from apflow.calendars import load_calendar
from apflow.directory import school_contacts
from apflow.settings import Settings
from documents.render import DocumentIncomplete, RenderedDocument, Renderer
from domain.actions import Notify, apply
from domain.clock import uk_date
from domain.guards import Context
from domain.letters import Kind, LetterPlan
from domain.models import Actor, Placement


class NoPreview(Exception):
    """Why there is no letter to show (what it lacks, or that none is sent)."""


def notice(settings: Settings, p: Placement, actor: Actor) -> RenderedDocument:
    now = datetime.now(UTC)
    today = uk_date(now)
    ctx = Context(today=today, calendar=load_calendar(p.school.school_id, settings.calendars_dir),
                  actor=actor, settings=settings.policy)
    candidate = apply(p, Notify(), ctx, now)
    letters = LetterPlan(school_contacts(p.school, settings.directory_file)).for_step(candidate, "notify", ctx)
    letter = next((x for x in letters if x.kind is Kind.offsite_direction_notice), None)
    if letter is None:
        raise NoPreview("apflow sends no notice for this placement")
    # As the sending activity dates it: the day it goes.
    context = {**letter.context, "issued_on": today.isoformat()}
    try:
        return Renderer(settings.templates_dir).render(letter.kind.value, context)
    except DocumentIncomplete as e:
        raise NoPreview(f"the notice cannot be sent yet: it lacks {'; '.join(str(m) for m in e.missing)}") from None
