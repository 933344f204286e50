"""Activities that keep the register in step with the workflow."""
from __future__ import annotations

from collections.abc import Callable

from temporalio import activity


def runs_to_its_end(name: str) -> Callable:
    """A synchronous activity that is never broken off mid-way. Cancelled (a
    worker stopping, or the workflow no longer waiting), the SDK would
    otherwise raise CancelledError inside its thread at whatever line it had
    reached: after a letter's whole message went to the relay and before its
    answer was read, which the send would take for a failure and send again.
    Each does a bounded piece of work (a relay's answer is waited for
    `smtp_timeout`), and a stopping worker waits for it to end."""
    return activity.defn(name=name, no_thread_cancel_exception=True)
