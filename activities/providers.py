"""The providers' sweep (`workflows.providers`): which running placements'
providers have a certificate or check expiring or expired, from one read of
the register, and telling those placements' workflows. Safe to run twice: a
placement escalates each cause once (its escalation's id)."""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.providers import ProviderAlert, problems
from domain.settings import ProviderSettings
from messages import ProviderSweepReport, ProviderSweepRequest
from store import providers as store

log = logging.getLogger(__name__)
SIGNAL = "provider_alert"


class ProviderActivities:
    def __init__(self, engine: Engine, client: Client, settings: ProviderSettings, concurrency: int = 20):
        self._engine, self._client, self._settings, self._concurrency = engine, client, settings, concurrency

    def find(self, req: ProviderSweepRequest) -> tuple[int, list[tuple[str, ProviderAlert]]]:
        """(placement id, alert) for every running placement at a listed
        provider with something expiring within the warning days or expired."""
        at = store.open_placements_at_providers(self._engine, None)
        records = store.by_ids(self._engine, at)
        alerts, providers = [], 0
        for provider_id, record in records.items():
            found = problems(record, req.day, self._settings.warn_days)
            providers += bool(found)
            alerts += [(r.placement_id, ProviderAlert.of(provider_id, p, req.day)) for p in found for r in at[provider_id]]
        return providers, alerts

    async def _signal(self, placement_id: str, alert: ProviderAlert, limit: asyncio.Semaphore) -> bool:
        async with limit:
            try:
                await self._client.get_workflow_handle(placement_id).signal(SIGNAL, alert)
                return True
            except RPCError as e:
                if e.status is not RPCStatusCode.NOT_FOUND:
                    raise
                log.warning("provider alert for %s: no running workflow", placement_id)
                return False

    @activity.defn(name="sweep_providers")
    async def sweep_providers(self, req: ProviderSweepRequest) -> ProviderSweepReport:
        providers, alerts = await asyncio.to_thread(self.find, req)
        limit = asyncio.Semaphore(self._concurrency)
        sent = await asyncio.gather(*(self._signal(pid, a, limit) for pid, a in alerts))
        return ProviderSweepReport(day=req.day, providers=providers, signalled=sum(sent), not_found=len(sent) - sum(sent))
