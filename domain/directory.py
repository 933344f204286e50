"""Who letters come from and go to: a school's own details, its staff who
sign letters and receive escalations, and its local authority.

The trust keeps these in its directory file (`apflow.directory` reads it);
a placement carries its school's entry as data, like its calendar, so the
workflow can judge a letter complete without reading anything itself.
"""
from __future__ import annotations

from .models import EmailAddress, Model


class StaffMember(Model):
    name: str | None = None
    email: EmailAddress | None = None


class LocalAuthorityContacts(Model):
    name: str | None = None  # as it should read in a letter, e.g. "Kirklees Council"
    email: EmailAddress | None = None  # notices of placements (§8.1), copies of notices (§6.5)
    send_email: EmailAddress | None = None  # the SEND team, for EHC plan consultations (§3.1); `email` when unset


class SchoolContacts(Model):
    """One school's entry in the trust's directory, with its LA's."""

    address: str | None = None
    phone: str | None = None
    email: EmailAddress | None = None  # the school office
    headteacher: StaffMember | None = None
    ap_lead: StaffMember | None = None
    dsl: StaffMember | None = None
    la: LocalAuthorityContacts | None = None

    def staff(self, role: str) -> StaffMember | None:
        return {"headteacher": self.headteacher, "ap_lead": self.ap_lead, "dsl": self.dsl}.get(role)
