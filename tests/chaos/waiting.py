"""Waiting on a condition, never on the clock alone: what follows a step
(its projection, its letters, a retry) comes when it comes."""
from __future__ import annotations

import asyncio


async def until(check, what: str, wait_s: float):
    """`check()`'s value (awaited, if it is a coroutine) once it is truthy;
    fails naming `what` after `wait_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not (found := await _value(check())):
        assert loop.time() < deadline, f"not within {wait_s} s: {what}"
        await asyncio.sleep(0.05)
    return found


async def _value(found):
    return await found if asyncio.iscoroutine(found) else found
