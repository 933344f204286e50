"""The school census's "AP placements arranged by schools": what each
placement returns, and the check that each row can be returned as the
census asks (the setting named by exactly one of URN, UKPRN or setting type;
a primary reason from the trust's table).

The census's own code lists could not be confirmed, so the codes are the
trust's table (`census/codes.toml`, read by `apflow.census_codes`), built
here from an already-read mapping. Pure: no I/O.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from .attendance import session_times_expected
from .clock import uk_date
from .guards import Unmet
from .models import Pattern, Placement, Proposal

if TYPE_CHECKING:
    from .records import Returns

CLAUSE = "§8.1, §13.4.1; school census: AP placements arranged by schools"
TABLES = ("reasons", "setting_types")
# Which of a proposal's fields takes its code from which table.
CODED_FIELDS = {"census_reason": "reasons", "setting_type": "setting_types"}


class CensusCodes(BaseModel):
    """The trust's census codes: each table maps a code to what it means."""

    model_config = ConfigDict(frozen=True)
    reasons: dict[str, str]
    setting_types: dict[str, str]


class CensusCodeError(ValueError):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


def codes_from_dict(data: Mapping[str, Any]) -> CensusCodes:
    """``{"reasons": {"CODE": {"meaning": "..."}}, "setting_types": {...}}``;
    `CensusCodeError` names the field that is wrong."""
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        raise CensusCodeError(f"unknown key(s) {', '.join(unknown)}; expected {', '.join(TABLES)}")
    tables: dict[str, dict[str, str]] = {}
    for table in TABLES:
        raw = data.get(table)
        if not isinstance(raw, Mapping) or not raw:
            raise CensusCodeError(f"expected at least one code, e.g. [{table}.CODE]", table)
        tables[table] = {}
        for code, entry in raw.items():
            field = f"{table}.{code}"
            if not (1 <= len(code) <= 16 and all(c.isascii() and (c.isupper() or c.isdigit() or c == "_") for c in code)):
                raise CensusCodeError("a code is 1 to 16 of A-Z, 0-9 and _", field)
            if not isinstance(entry, Mapping) or set(entry) != {"meaning"} or not str(entry["meaning"]).strip():
                raise CensusCodeError('expected a table with one key, meaning = "..."', field)
            tables[table][code] = str(entry["meaning"]).strip()
    return CensusCodes(**tables)


@dataclass(frozen=True)
class CensusRow:
    """One placement as the census returns it."""

    placement_id: str
    school_id: str
    upn: str | None
    provider_urn: str | None
    provider_ukprn: str | None
    setting_type: str | None
    entry_date: date
    leaving_date: date | None
    primary_reason: str | None
    full_time: bool
    sessions_per_week: int


def leaving_date(p: Placement, planned_end: date | None) -> date | None:
    """The day the placement ended, or while it runs its planned end (its
    last day as counted on the school's calendar: the register's row holds it)."""
    if p.termination is not None:
        return p.termination.on
    if p.final:
        ends = [uk_date(h.at) for h in p.history if h.to_state == p.state.value]
        if ends:
            return ends[-1]
    return planned_end


def sessions_per_week(pattern: Pattern, boundary: time) -> int:
    """Sessions (am, pm) the pattern schedules in a week: each weekday counts
    the sessions its times reach across the session boundary."""
    return len(pattern.days) * len(session_times_expected(pattern.arrival, pattern.departure, boundary))


def census_row(r: Returns, boundary: time) -> CensusRow:
    """A placement's census row, from what its register row keeps for the returns."""
    return CensusRow(
        placement_id=r.placement_id, school_id=r.school_urn, upn=r.upn,
        provider_urn=r.provider_urn, provider_ukprn=r.provider_ukprn, setting_type=r.setting_type,
        entry_date=r.start_date, leaving_date=r.leaving_date, primary_reason=r.census_reason,
        full_time=r.pattern.full_time, sessions_per_week=sessions_per_week(r.pattern, boundary),
    )


@dataclass(frozen=True)
class CensusProblem:
    """A row the census cannot take as it is: which placement, and why.
    Names the placement by id and school only, never the pupil."""

    placement_id: str
    school_id: str
    message: str
    clause: str = CLAUSE


def problems(row: CensusRow, codes: CensusCodes) -> list[str]:
    """Why `row` cannot be returned: each reason, in words that say what to fix."""
    out = []
    given = [name for name, v in (("a URN", row.provider_urn), ("a UKPRN", row.provider_ukprn),
                                  ("a setting type", row.setting_type)) if v]
    if len(given) > 1:
        out.append(f"the provider has {' and '.join(given)}: the census takes exactly one of URN, UKPRN or "
                   "setting type, so remove the others from the provider's details")
    elif not given:
        out.append("the provider has no URN, UKPRN or setting type: the census needs exactly one")
    if row.setting_type and row.setting_type not in codes.setting_types:
        out.append(f"setting type {row.setting_type!r} is not in the trust's census codes (setting_types)")
    if not row.primary_reason:
        out.append("no census reason for the placement is recorded (census_reason)")
    elif row.primary_reason not in codes.reasons:
        out.append(f"census reason {row.primary_reason!r} is not in the trust's census codes (reasons)")
    return out


def unknown_codes(proposal: Proposal, codes: CensusCodes) -> list[Unmet]:
    """A proposal's census codes that the trust's table does not hold, refused
    when it is made rather than found when the census is returned."""
    out = []
    if proposal.census_reason is not None and proposal.census_reason not in codes.reasons:
        out.append(Unmet(CLAUSE, f"census_reason {proposal.census_reason} is not one of the trust's census reasons: "
                                 + ", ".join(sorted(codes.reasons))))
    setting_type = proposal.provider.setting_type
    if setting_type is not None and setting_type not in codes.setting_types:
        out.append(Unmet(CLAUSE, f"the provider's setting_type {setting_type} is not one of the trust's AP setting types: "
                                 + ", ".join(sorted(codes.setting_types))))
    return out
