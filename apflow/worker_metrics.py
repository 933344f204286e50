"""A worker's own metrics, for Prometheus to scrape from each worker process:
the Temporal SDK's series (polls, task latencies, slots, activity and
workflow outcomes) and apflow's counts of activity failures and retries,
both served by the SDK's runtime at `http://<host>:<port>/metrics`
(`APFLOW_WORKER_METRICS_HOST`, `APFLOW_WORKER_METRICS_PORT`; 0 is off).

They are counted where activities run: the API never sees an attempt fail.
Labels are the SDK's (namespace, task queue, workflow and activity type)
and nothing else: no workflow id, no payload, nothing about a pupil.
"""
from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

FAILURES = "apflow_activity_failures"
RETRIES = "apflow_activity_retries"


def serve_from(host: str, port: int) -> Runtime | None:
    """The default runtime of this process, from now on exporting its
    metrics on `host:port` (Prometheus's conventions: counters end in
    `_total`, durations in seconds); None when `port` is 0. Call before the
    worker's client connects: a client takes the default runtime it finds."""
    if not port:
        return None
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
            bind_address=f"{host}:{port}", counters_total_suffix=True, unit_suffix=True, durations_as_seconds=True)))
    except ValueError as e:  # the port taken, or no such address here
        raise SystemExit(f"the worker cannot serve its metrics on {host}:{port}: {e}") from None
    Runtime.set_default(runtime, error_if_already_set=False)
    return runtime


class ActivityCounts(Interceptor):
    """Counts every activity attempt that raises (`apflow_activity_failures`)
    and every attempt after the first (`apflow_activity_retries`), by
    activity type, in the runtime's metrics (a no-op without them)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Counting(next)


class _Counting(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        meter = activity.metric_meter()  # labelled with namespace, task queue and activity type
        if activity.info().attempt > 1:
            meter.create_counter(RETRIES, "Activity attempts after the first").add(1)
        try:
            return await self.next.execute_activity(input)
        except Exception:  # a cancellation is no failure (and no Exception)
            meter.create_counter(FAILURES, "Activity attempts that raised").add(1)
            raise
