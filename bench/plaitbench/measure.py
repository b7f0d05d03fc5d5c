"""One repeat of the suite: start every server, leak-check them, then load each endpoint on each.

All servers of a repeat are up at once (idle ones cost nothing), and each endpoint is measured
on every server back to back, in an order rotated at each repeat. So the rows compared in one
column are measured minutes apart, not an hour apart, and drift in the machine's background
load spreads over all of them instead of landing on whichever ran last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from plaitbench.progress import say
from plaitbench.servers import Server, ServerError, Target, free_port, stop_all
from plaitbench.wrk import ENDPOINTS, Endpoint, check_endpoint, run_requests, run_wrk, single_script

__all__ = ["row_for", "run_repeat"]

Ready = list[tuple[Target, Server, list[Endpoint]]]


def row_for(results: dict[str, Any], target: Target) -> dict[str, Any]:
    """The results row of ``target``, made on first use."""
    for row in results["rows"]:
        if row["framework"] == target.framework and row["server"] == target.server:
            return row
    row: dict[str, Any] = {
        "framework": target.framework,
        "server": target.server,
        "start_s": [],
        "idle_rss_kib": [],
        "loadavg": [],
        "leak": None,
        "endpoints": {},
        "error": None,
    }
    results["rows"].append(row)
    return row


def _start(
    targets: list[Target], args: argparse.Namespace, env: dict[str, str], results: dict[str, Any],
    apps: Path, logs: Path,
) -> Ready:  # fmt: skip
    bin_dir = Path(sys.executable).parent
    live = []
    for target in targets:
        row = row_for(results, target)
        log = logs / f"{target.framework}-{target.server}.log"
        server = Server(
            target, free_port(), bin_dir=bin_dir, cwd=apps, env=env, cpu=args.server_cpu, log=log
        )
        try:
            started = server.start()
        except ServerError as exc:
            server.stop()
            row["error"] = str(exc)
            say(f"  {target.key}: failed to start: {exc}")
            continue
        row["start_s"].append(round(started, 4))
        row["loadavg"].append(round(os.getloadavg()[0], 2))
        live.append((target, server))
    time.sleep(1.0)
    ready = []
    for target, server in live:
        row = row_for(results, target)
        row["idle_rss_kib"].append(server.rss_kib())
        usable = []
        for name in args.endpoints:
            if not target.serves(name):
                continue
            data = row["endpoints"].setdefault(
                name,
                {"rps": [], "p99_ms": [], "server_cpu_pct": [], "non2xx": [], "socket_errors": []},
            )
            problem = check_endpoint(server.port, ENDPOINTS[name])
            if problem:
                data["error"] = problem
                say(f"  {target.key}: {name} answers wrongly, skipped: {problem}")
            else:
                usable.append(ENDPOINTS[name])
        say(
            f"  {target.key:<22} started in {row['start_s'][-1]:.2f} s,"
            f" idle RSS {row['idle_rss_kib'][-1] / 1024:.1f} MiB"
        )
        ready.append((target, server, usable))
    return ready


def _leak_check(ready: Ready, args: argparse.Namespace, results: dict[str, Any]) -> None:
    first = max(args.leak // 10, 1)
    for target, server, usable in ready:
        if not usable:
            continue
        rss = []
        for count in (first, args.leak - first):
            run_requests(
                server.port, usable, count, connections=args.connections, cpu=args.load_cpu
            )
            time.sleep(0.5)
            rss.append(server.rss_kib())
        row_for(results, target)["leak"] = {"requests": [first, args.leak], "rss_kib": rss}
        say(
            f"  {target.key:<22} RSS after {first:,} requests {rss[0] / 1024:.1f} MiB,"
            f" after {args.leak:,} {rss[1] / 1024:.1f} MiB"
        )


def _load(ready: Ready, repeat: int, args: argparse.Namespace, results: dict[str, Any]) -> None:
    shift = repeat % max(len(ready), 1)
    order = ready[shift:] + ready[:shift]
    load = {"connections": args.connections, "cpu": args.load_cpu}
    for name in args.endpoints:
        endpoint = ENDPOINTS[name]
        script = single_script(endpoint)
        for target, server, usable in order:
            if endpoint not in usable:
                continue
            if args.warmup:
                run_wrk(server.port, endpoint.path, duration=args.warmup, script=script, **load)
            cpu_before = server.cpu_seconds()
            result = run_wrk(
                server.port, endpoint.path, duration=args.duration, script=script, **load
            )
            # The worker's share of its core: well under 100 % means something else ran there.
            cpu_pct = (server.cpu_seconds() - cpu_before) / args.duration * 100
            data = row_for(results, target)["endpoints"][name]
            data["rps"].append(result.rps)
            data["p99_ms"].append(result.p99_ms)
            data["server_cpu_pct"].append(round(cpu_pct, 1))
            data["non2xx"].append(result.non2xx)
            data["socket_errors"].append(result.socket_errors)
            say(
                f"  {name:<10} {target.key:<22} {result.rps:>10,.0f} req/s"
                f"   p99 {result.p99_ms or 0:8.2f} ms   server CPU {cpu_pct:5.1f} %"
            )


def run_repeat(
    repeat: int, targets: list[Target], args: argparse.Namespace, env: dict[str, str],
    results: dict[str, Any], *, apps: Path, logs: Path,
) -> None:  # fmt: skip
    """Start every target's server, measure, and stop them all (also on errors and Ctrl-C)."""
    say(f"repeat {repeat + 1} of {args.repeats}")
    try:
        ready = _start(targets, args, env, results, apps, logs)
        if repeat == 0 and args.leak:
            _leak_check(ready, args, results)
        _load(ready, repeat, args, results)
    finally:
        stop_all()
