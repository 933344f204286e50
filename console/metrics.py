"""`GET /metrics`: the register's counts in Prometheus's text format, for the
trust's monitoring and nobody else.

A scrape target is protected the way Prometheus expects: a bearer token
(`APFLOW_METRICS_TOKEN`; Prometheus sends it with `authorization:
credentials_file:`), compared in constant time. Unset, the endpoint is off
and every scrape is refused, so a deployment that forgot the token shows
nothing. The token is the monitoring's own, not a person's: it opens
/metrics and nothing else, and no staff token or session opens /metrics.

Every value is read at scrape time, one GROUP BY a series
(`store.register.tallies`), so every API process answers the same and a
scrape stays cheap however many placements there are. Labels are states,
school ids (URNs), roles, letter kinds and statuses: never a pupil.

The workers count what happens inside them (activity failures and retries,
the SDK's own series) and serve it themselves (`worker_metrics`).
"""
from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from temporalio.client import Client

from domain.clock import uk_date
from store import register

log = logging.getLogger("apflow.metrics")

# How many placements are stuck, given the API's Temporal client: the API
# passes `operations.stuck.count` (`install(app, count_stuck=...)`). When it
# fails, or none is given, the series is absent rather than zero: nothing looked.
StuckCount = Callable[[Client], Awaitable[int]]


class _Scrape(Collector):
    """One scrape's values, already read, as metric families."""

    def __init__(self, tallies: register.Tallies, stuck: int | None):
        self.tallies, self.stuck = tallies, stuck

    def collect(self) -> Iterator[Metric]:
        t = self.tallies
        yield _gauge("apflow_placements", "Placements in the register, by state and school", ["state", "school_id"],
                     t.placements)
        yield _gauge("apflow_placements_overdue",
                     "Running placements with a deadline already missed (before today, UK time), by school",
                     ["school_id"], t.overdue)
        yield _gauge("apflow_escalations_open", "Escalations not yet resolved, by the role that owns them and school",
                     ["owner_role", "school_id"], t.open_escalations)
        yield _gauge("apflow_letters", "Letters and messages in the register, by kind and status "
                     "(sent, failed, unconfirmed, to_post, posted, ...)", ["kind", "status"], t.letters)
        if self.stuck is not None:
            stuck = GaugeMetricFamily("apflow_placements_stuck", "Placements whose workflow is stuck")
            stuck.add_metric([], self.stuck)
            yield stuck


def _gauge(name: str, doc: str, labels: list[str], rows) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=labels)
    for *values, n in rows:
        g.add_metric([str(v) for v in values], n)
    return g


def _authorised(request: Request) -> None:
    token = request.app.state.settings.metrics_token
    if token is None:
        raise HTTPException(403, "metrics are off: set APFLOW_METRICS_TOKEN and scrape with it as a bearer token")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "scrape with Authorization: Bearer <APFLOW_METRICS_TOKEN>",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


router = APIRouter(tags=["monitoring"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}},
                                                           401: {"description": "No or another token"},
                                                           403: {"description": "Metrics are off (no token set)"}})
async def metrics(request: Request) -> Response:
    """The register's counts for Prometheus: placements by state and school,
    overdue placements, open escalations by role, letters by status, and
    stuck placements."""
    _authorised(request)
    count_stuck: StuckCount | None = request.app.state.count_stuck

    async def stuck() -> int | None:
        if count_stuck is None:
            return None
        try:
            return await count_stuck(request.app.state.client)
        except Exception as e:  # noqa: BLE001 - the register's series still answer; the gap shows as absent
            log.warning("stuck count failed: %s", type(e).__name__)
            return None

    # The two are read side by side: each waits on its database or Temporal, not on the other.
    tallies, stuck = await asyncio.gather(
        run_in_threadpool(register.tallies, request.app.state.engine, uk_date(datetime.now(UTC))), stuck())
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape(tallies, stuck))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def install(app: FastAPI, count_stuck: StuckCount | None = None) -> None:
    app.state.count_stuck = count_stuck
    app.include_router(router)
