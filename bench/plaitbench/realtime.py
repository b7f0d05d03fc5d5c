"""The real-time part: WebSocket echo and broadcast, SSE fan-out and idle connections.

Every framework's app (the same ``apps/<framework>_app.py`` as the HTTP part, at
``/ws/echo``, ``/ws/json``, ``/ws/room``, ``/sse/room`` and ``POST /sse/publish``) runs on
uvicorn with each of its WebSocket implementations and on granian, one worker pinned to the
server CPU; the load client (``wsload.py``, picows on asyncio) runs pinned to the other. As
in the HTTP part, all servers of a repeat are up at once and each scenario visits them in an
order rotated at each repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plaitbench.progress import say
from plaitbench.servers import Server, ServerError, free_port, stop_all

__all__ = [
    "RT_FRAMEWORKS",
    "RT_ONLY",
    "RT_SERVERS",
    "SCENARIOS",
    "RealtimeTarget",
    "rt_targets",
    "run_realtime",
]

RT_FRAMEWORKS = (
    "bare", "plait", "fastapi", "litestar", "blacksheep", "starlette", "channels", "plait-rsgi",
)  # fmt: skip
RT_ONLY = ("channels",)  # Django Channels: apps/channels_app.py serves the real-time endpoints only
RT_SERVERS = ("uvicorn", "uvicorn-wsproto", "granian")
BENCH = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    args: tuple[str, ...]
    metric: str  # the headline figure of the scenario's result


def scenarios(
    rate: float, clients: int, idle: int, slo: float = 50, budget: float = 60
) -> dict[str, Scenario]:
    limit = ("--sweep", f"{slo:g}", "--budget", f"{budget:g}")
    found = [
        Scenario("echo1", "echo, 1 conn, text", ("echo", "--connections", "1"), "msgs_per_s"),
        Scenario("echo1-json", "echo, 1 conn, JSON", ("echo", "--connections", "1", "--kind", "json"), "msgs_per_s"),
        Scenario("echo100", "echo, 100 conns, text", ("echo", "--connections", "100"), "msgs_per_s"),
        Scenario("echo100-json", "echo, 100 conns, JSON", ("echo", "--connections", "100", "--kind", "json"), "msgs_per_s"),
        Scenario("broadcast", f"broadcast to {clients:,}", ("broadcast", "--clients", str(clients)), "deliveries_per_s"),
        Scenario("broadcast-paced", f"broadcast to {clients:,}, {rate:g} msg/s", ("broadcast", "--clients", str(clients), "--rate", str(rate)), "p99_ms"),
        Scenario("sse", f"SSE to {clients:,}", ("sse", "--clients", str(clients)), "deliveries_per_s"),
        Scenario("sse-paced", f"SSE to {clients:,}, {rate:g} msg/s", ("sse", "--clients", str(clients), "--rate", str(rate)), "p99_ms"),
        Scenario("broadcast-limit", f"broadcast to {clients:,}: highest rate with p99 < {slo:g} ms", ("broadcast", "--clients", str(clients), *limit), "max_rate"),
        Scenario("sse-limit", f"SSE to {clients:,}: highest rate with p99 < {slo:g} ms", ("sse", "--clients", str(clients), *limit), "max_rate"),
        Scenario("idle", f"{idle:,} idle WebSockets", ("idle", "--clients", str(idle)), "rss_mib"),
    ]  # fmt: skip
    return {scenario.name: scenario for scenario in found}


SCENARIOS = tuple(scenarios(20, 1000, 10000))


@dataclass(frozen=True)
class RealtimeTarget:
    """A framework's app on one server, with WebSockets on."""

    framework: str
    server: str

    @property
    def key(self) -> str:
        return f"{self.framework}@{self.server}"

    def command(self, port: int, bin_dir: Path) -> list[str]:
        module = "plait_app" if self.framework == "plait-rsgi" else f"{self.framework}_app"
        target = f"{module}:app"
        if self.server.startswith("uvicorn"):
            ws = "wsproto" if self.server == "uvicorn-wsproto" else "websockets"
            return [
                str(bin_dir / "uvicorn"), target, "--host", "127.0.0.1", "--port", str(port),
                "--loop", "uvloop", "--http", "httptools", "--ws", ws, "--no-access-log",
                "--log-level", "warning", "--backlog", "4096",
            ]  # fmt: skip
        interface = "rsgi" if self.framework == "plait-rsgi" else "asgi"
        return [
            str(bin_dir / "granian"), "--interface", interface, "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--http", "1", "--loop", "uvloop",
            "--log-level", "warning", "--backlog", "4096", target,
        ]  # fmt: skip


def rt_targets(frameworks: list[str], servers: list[str]) -> list[RealtimeTarget]:
    rows = []
    for framework in frameworks:
        if framework not in RT_FRAMEWORKS:
            continue
        choices = ("granian",) if framework == "plait-rsgi" else RT_SERVERS
        rows += [RealtimeTarget(framework, s) for s in choices if s in servers]
    return rows


def _row(results: dict[str, Any], target: RealtimeTarget) -> dict[str, Any]:
    rows = results.setdefault("realtime", {}).setdefault("rows", [])
    for row in rows:
        if (row["framework"], row["server"]) == (target.framework, target.server):
            return row  # type: ignore[no-any-return]
    row: dict[str, Any] = {
        "framework": target.framework, "server": target.server, "scenarios": {}, "error": None,
    }  # fmt: skip
    rows.append(row)
    return row


def run_client(scenario: Scenario, server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """One run of the load client against ``server``; its JSON result (or an ``error``)."""
    command = [
        sys.executable, "-m", "plaitbench.wsload", *scenario.args, "--port", str(server.port),
        "--server-pid", str(server.worker or 0), "--duration", str(args.rt_duration),
        "--warmup", str(args.rt_warmup),
    ]  # fmt: skip
    if args.load_cpu is not None:
        command = ["taskset", "-c", args.load_cpu, *command]
    timeout = args.rt_duration + args.rt_warmup + 180 + args.rt_budget
    try:
        done = subprocess.run(
            command, cwd=BENCH, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer in {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result.get("bad"):
        result["error"] = "wrong answers"
    return result


def run_realtime(
    repeat: int, targets: list[RealtimeTarget], args: argparse.Namespace, env: dict[str, str],
    results: dict[str, Any], *, apps: Path, logs: Path,
) -> None:  # fmt: skip
    """Start every target's server, run each scenario on each, and stop them all."""
    chosen = scenarios(args.rt_rate, args.rt_clients, args.rt_idle, args.rt_slo, args.rt_budget)
    say(f"real time, repeat {repeat + 1} of {args.repeats}")
    results.setdefault("realtime", {})["meta"] = {
        "command": results["meta"]["command"],
        "date": results["meta"]["date"],
        "method": (
            f"one server worker pinned to CPU {args.server_cpu}, the load client"
            f" (`plaitbench/wsload.py`: asyncio + picows, uvloop) pinned to CPU {args.load_cpu};"
            f" per scenario {args.rt_warmup:g} s warm-up and {args.rt_duration:g} s measured,"
            f" {args.repeats} repeat(s), servers restarted between repeats, the median shown."
            " Echo: each connection sends its next message when the previous one came back"
            " (text: 56 characters; JSON: a 3-key object, decoded and encoded by the app)."
            f" Broadcast: {args.rt_clients:,} clients in one room, one of them publishing"
            " (saturated: 4 messages in flight, the next when all clients got one; paced:"
            f" {args.rt_rate:g} messages/s); SSE: the same to {args.rt_clients:,} event streams,"
            " published by POST. Latency: from the publish to each copy's arrival."
            f" Limit: paced windows (0.5 s warm-up, 2 s measured) at rates doubling from 10"
            f" messages/s, then bisected to within 15 %, at most {args.rt_budget:g} s: the highest"
            f" rate whose p99 stayed under {args.rt_slo:g} ms with every copy delivered."
            f" Idle: RSS of the worker holding {args.rt_idle:,} open WebSockets."
        ),
    }
    bin_dir = Path(sys.executable).parent
    live: list[tuple[RealtimeTarget, Server]] = []
    try:
        for target in targets:
            row = _row(results, target)
            log = logs / f"rt-{target.framework}-{target.server}.log"
            server = Server(
                target,  # type: ignore[arg-type]
                free_port(), bin_dir=bin_dir, cwd=apps, env=env, cpu=args.server_cpu, log=log,
            )  # fmt: skip
            try:
                server.start()
            except ServerError as exc:
                server.stop()
                row["error"] = str(exc)
                say(f"  {target.key}: failed to start: {exc}")
                continue
            live.append((target, server))
        time.sleep(1.0)
        shift = repeat % max(len(live), 1)
        order = live[shift:] + live[:shift]
        for name in args.rt_scenarios:
            scenario = chosen[name]
            for target, server in order:
                result = run_client(scenario, server, args)
                runs = _row(results, target)["scenarios"].setdefault(name, [])
                runs.append(result)
                shown = result.get("error") or f"{result.get(scenario.metric)} {scenario.metric}"
                extra = ""
                if "p99_ms" in result and scenario.metric != "p99_ms":
                    extra = f"  p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms"
                cpu = result.get("server_cpu_pct")
                say(
                    f"  {name:<16} {target.key:<28} {shown}{extra}"
                    f"  server CPU {cpu} %  client CPU {result.get('client_cpu_pct')} %"
                )
    finally:
        stop_all()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The real-time options of ``bench/run.py``."""
    parser.add_argument(
        "--rt-duration",
        type=float,
        default=None,
        help="seconds per measured real-time run (default 4; quick 2)",
    )
    parser.add_argument(
        "--rt-warmup",
        type=float,
        default=None,
        help="seconds of warm-up per real-time run (default 1)",
    )
    parser.add_argument(
        "--rt-clients", type=int, default=1000, help="broadcast and SSE clients (default 1000)"
    )
    parser.add_argument(
        "--rt-rate",
        type=float,
        default=20.0,
        help="messages/s of the paced broadcast and SSE runs (default 20)",
    )
    parser.add_argument(
        "--rt-slo", type=float, default=50.0,
        help="the p99 bound (ms) of the broadcast-limit and sse-limit sweeps (default 50)",
    )  # fmt: skip
    parser.add_argument(
        "--rt-budget", type=float, default=60.0, help="seconds per limit sweep (default 60)"
    )
    parser.add_argument(
        "--rt-idle",
        type=int,
        default=10000,
        help="idle WebSockets for the memory figure (default 10000)",
    )
    parser.add_argument(
        "--rt-scenarios", type=lambda v: [s for s in SCENARIOS if s in v.split(",")], default=list(SCENARIOS),
        help=f"comma-separated, from {','.join(SCENARIOS)}",
    )  # fmt: skip


def finish_arguments(args: argparse.Namespace) -> None:
    args.rt_duration = args.rt_duration or (2.0 if args.quick else 4.0)
    args.rt_warmup = args.rt_warmup if args.rt_warmup is not None else 1.0
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
