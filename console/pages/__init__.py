"""The staff console: server-rendered pages (GOV.UK Design System) on the
same app as the JSON API, calling the same services. One module an area:
`today`, `placements` (the list), `placement` (one), `attendance` (a
placement's marks, and one recorded) and `attendance_week` (a week's return
keyed in), `links` (a placement's signed links: withdrawn, or given by hand), `steps` (every step's form, and the proposal's), `register`
(every placement, and its exports), `stuck` (trust operations' stuck
placements), `providers` (the trust's list), with `forms` building a form
from a model."""
from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from apflow.settings import Settings

from . import (attendance, attendance_week, evaluations, links, placement, placements, providers, register, steps, stuck, today,
               today_contacts)

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
# Installed by `npm ci` from package.json at the project's root (./dev does it).
GOVUK = Path(__file__).resolve().parents[2] / "node_modules" / "govuk-frontend" / "dist" / "govuk"


def install(app: FastAPI, settings: Settings) -> None:
    """The console's routes, and its assets under /assets: GOV.UK Frontend's
    CSS and script under /assets/govuk-frontend, its fonts and images under
    /assets (where its CSS looks for them), the console's own under /assets/console."""
    app.mount("/assets/console", StaticFiles(directory=STATIC), name="console-assets")
    if GOVUK.is_dir():
        app.mount("/assets/govuk-frontend", StaticFiles(directory=GOVUK), name="govuk-frontend")
        app.mount("/assets", StaticFiles(directory=GOVUK / "assets"), name="govuk-assets")
    else:
        log.warning("GOV.UK Frontend is not installed (%s): run npm ci; the console is served unstyled", GOVUK)
    # `steps` first: /placements/new is not a placement's id.
    for module in (today, today_contacts, steps, placements, placement, attendance, attendance_week, links, evaluations, register,
                   stuck, providers):
        app.include_router(module.router)
