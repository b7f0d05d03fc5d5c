"""The fan-out limit: the highest publish rate at which every client's p99 stays under a bound.

Issue 19's latency target (1,000 clients, p99 under 50 ms at 1,000 messages/s, a million
deliveries a second) is beyond one core for every framework, the bare app included; this
turns it into a measured limit. With the clients connected once, ``sweep`` runs paced
windows at rising rates (doubling from ``start``), then bisects between the last rate that
held and the first that did not, until they are within ``precision`` of each other or the
``budget`` of seconds is spent. A rate holds when the window's p99 is under ``slo_ms``,
nearly every copy published in it arrived within it, no client was lost, and the backlog
drained before the next window (``wsload.py --sweep MS``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plaitbench.wsload import FanOut, Measure

__all__ = ["measure_for", "sweep"]

DRAIN = 10.0  # seconds a backlog may take to clear between windows


async def _window(
    fan: FanOut, rate: float, slo_ms: float, warmup: float, duration: float
) -> dict[str, Any]:
    """One paced window at ``rate``, and whether it held."""
    lost = fan.lost
    fan.rate = rate
    result = await fan.run(warmup, duration)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(fan.drain(), DRAIN)
    expected = rate * fan.clients
    result["drained"] = not fan.pending
    result["lost"] = fan.lost - lost
    result["held"] = bool(
        result["p99_ms"] < slo_ms
        and result["deliveries_per_s"] >= 0.9 * expected
        and result["drained"]
        and not result["lost"]
    )
    return result


async def sweep(
    fan: FanOut, *, slo_ms: float, budget: float, warmup: float, duration: float,
    start: float = 10.0, top: float = 2000.0, precision: float = 1.15,
) -> dict[str, Any]:  # fmt: skip
    """The highest rate (messages/s) whose windows held, with that window's figures."""
    began = time.perf_counter()
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    low, high = 0.0, 0.0  # the highest rate that held, the lowest that did not
    rate = start
    while time.perf_counter() - began + warmup + duration <= budget:
        result = await _window(fan, rate, slo_ms, warmup, duration)
        steps.append(result)
        if result["held"]:
            low, best = rate, result
        else:
            high = rate
        if not result["drained"] or result["lost"]:
            break  # the clients are no longer all there, or still behind: stop here
        if not high:
            if rate >= top:
                break
            rate = min(top, rate * 2)
        elif low and high / low <= precision:
            break
        else:
            rate = (low * high) ** 0.5 if low else high / 2
            if rate < 1:
                break
    found: dict[str, Any] = {
        "max_rate": round(low, 1),
        "slo_ms": slo_ms,
        "clients": fan.clients,
        "first_failed_rate": round(high, 1) if high else None,
        "steps": [
            {k: step[k] for k in ("rate", "p50_ms", "p99_ms", "deliveries_per_s", "held")}
            for step in steps
        ],
    }
    if best is not None:
        for key in ("p50_ms", "p99_ms", "deliveries_per_s", "server_cpu_pct", "client_cpu_pct"):
            if key in best:
                found[key] = best[key]
    return found


def measure_for(args: argparse.Namespace) -> Measure:
    """What ``wsload.py``'s fan-out scenarios measure: one window, or (``--sweep MS``) the limit."""
    if args.sweep:
        return functools.partial(
            sweep, slo_ms=args.sweep, budget=args.budget, warmup=min(args.warmup, 0.5),
            duration=args.step,
        )  # fmt: skip

    async def one_window(fan: FanOut) -> dict[str, Any]:
        return await fan.run(args.warmup, args.duration)

    return one_window
