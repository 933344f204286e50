"""The providers' sweep (`workflows.providers`): which running placements'
providers have a certificate or check expiring or expired, from the
register (those providers first, then their placements alone), and telling
those placements' workflows. Safe to run twice: a
placement escalates each cause once (its escalation's id)."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

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
        """How many providers with a running placement have something
        expiring within the warning days or expired, and (placement id,
        alert) for each of their running placements. Only those providers'
        placements are read (as Today finds them: `store.with_open_placements`)."""
        warn_days = self._settings.warn_days
        records = store.with_open_placements(self._engine, None, req.day + timedelta(days=warn_days))
        lapsing = {pid: found for pid, record in records.items() if (found := problems(record, req.day, warn_days))}
        at = store.open_placements_at_providers(self._engine, None, lapsing)
        return len(lapsing), [(r.placement_id, ProviderAlert.of(pid, p, req.day))
                              for pid, found in lapsing.items() for p in found for r in at.get(pid, [])]

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
