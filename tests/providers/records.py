"""Invented provider records for the tests: vetted and current unless changed."""
from __future__ import annotations

from datetime import date, timedelta

from apflow import samples
from domain.checklist import REQUIRED_ITEMS
from domain.providers import CheckRecord, InsuranceRecord, ProviderDetails, ProviderIn


def insurance(expires_on: date, **changes) -> InsuranceRecord:
    base = dict(public_liability=5_000_000, employers_liability=10_000_000, professional_negligence=2_000_000,
                public_liability_expires_on=expires_on, employers_liability_expires_on=expires_on,
                professional_negligence_expires_on=expires_on)
    return InsuranceRecord(**{**base, **changes})


def record(today: date, name: str = "Bridgeway Learning Centre", **changes) -> ProviderIn:
    """A provider vetted a month ago, its insurance good for a year."""
    seen = today - timedelta(days=30)
    base = dict(
        provider=ProviderDetails.model_validate({**samples.provider().model_dump(exclude_unset=True), "name": name}),
        checklist={k: CheckRecord(status="seen", seen_on=seen) for k in REQUIRED_ITEMS},
        insurance=insurance(today + timedelta(days=365)),
        safeguarding_confirmation_received_on=seen,
    )
    return ProviderIn(**{**base, **changes})
