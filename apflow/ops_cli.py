"""`apflow ops`: stuck placements and their fixes on the command line, for
the trust's operations staff. Each command names who runs it (`--as EMAIL`,
an active account holding `trust_operations`, as `apflow users` names
accounts); a fix is recorded in the placement's audit trail as theirs.

    apflow ops stuck --as EMAIL [--json]
    apflow ops retry|reset|terminate PLACEMENT_ID --as EMAIL [--reason TEXT]

A refusal says why and exits non-zero: 2 for input that cannot be right, 1
for an account, placement or action that is refused."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from temporalio.service import RPCError

from domain.access import Principal
from operations import stuck
from operations.fixes import Fixer, Refused as NotDone, operator
from store import accounts
from store.db import make_engine, migrate

from .settings import Settings
from .temporal import connect
from .users_cli import Refused, _command, email_of


def operations_person(engine, email: str) -> Principal:
    """The account named on the command line, as the server would see it signed in."""
    row = accounts.user_by_email(engine, email_of(email))
    if row is None:
        raise Refused(f"no account for {email_of(email)}: add it with `apflow users add`", code=1)
    if not row.active:
        raise Refused(f"{row.email} is disabled", code=1)
    person = Principal(user_id=row.user_id, grants=accounts.grants_of(engine, row.user_id), name=row.name)
    try:
        operator(person)
    except NotDone as e:
        raise Refused(f"{row.email}: {e}", code=1) from None
    return person


def _table(found: list[stuck.Stuck]) -> str:
    if not found:
        return "no placement is stuck"
    lines = [("placement", "school", "state", "reason", "since", "what")]
    for s in found:
        for r in s.reasons:
            lines.append((s.placement_id, s.school_id or "-", s.state or "-", r.kind.value,
                          f"{r.since:%Y-%m-%d %H:%M}" if r.since else "-",
                          r.message + (f" [attempts {r.attempts}]" if r.attempts else "")
                          + (f" [last error: {r.last_error}]" if r.last_error else "")))
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line[:5], widths)) + "  " + line[5] for line in lines)


async def _run(args, settings: Settings, engine) -> None:
    person = operations_person(engine, args.as_email)
    try:
        client = await connect(settings)
    except RuntimeError as e:  # the SDK's "Failed client connect"
        raise Refused(f"Temporal does not answer at {settings.temporal_address}: {e}", code=1) from None
    if args.action == "stuck":
        found = await stuck.find(client, engine, settings.policy.stuck)
        print(json.dumps([s.model_dump(mode="json") for s in found], indent=2) if args.json else _table(found))
        return
    try:
        done = await Fixer(client, engine).take(args.action, args.placement_id, person, args.reason)
    except NotDone as e:
        raise Refused(str(e), code=2 if e.status == 422 else 1) from None
    except RPCError as e:
        raise Refused(f"Temporal did not answer ({e.status.name}): whether it was done is not known; "
                      "see `apflow ops stuck` before trying again", code=1) from None
    print(f"{done.action}: {done.placement_id}: {done.message}")


def add_parsers(commands) -> None:
    ops = _command(commands, "ops", "stuck placements and their fixes, for the trust's operations staff")
    actions = ops.add_subparsers(dest="action", required=True)
    listing = _command(actions, "stuck", "every stuck placement with every reason")
    listing.add_argument("--json", action="store_true", help="as JSON, for scripts")
    for name, text in (("retry", "try a placement's failing activities again now"),
                       ("reset", "reset a placement's workflow to its last good point (a reason is required)"),
                       ("terminate", "terminate a placement's workflow (a reason is required)")):
        fix = _command(actions, name, text)
        fix.add_argument("placement_id")
        fix.add_argument("--reason", help="why, for the audit trail")
    for parser in actions.choices.values():
        parser.add_argument("--as", dest="as_email", required=True, metavar="EMAIL",
                            help="who runs it: an account holding trust_operations")


def run(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.db_url)
    try:
        migrate(engine)
        asyncio.run(_run(args, settings, engine))
        return 0
    except Refused as e:
        print(f"apflow ops {args.action}: {e}", file=sys.stderr)
        return e.code
    finally:
        engine.dispose()
