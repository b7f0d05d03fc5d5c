"""The real-time part of docs/benchmarks.md (its own markers) and its chart."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from plaitbench.report import replace_block

__all__ = ["rt_chart", "rt_markdown", "write_rt_docs"]

START = "<!-- bench:realtime:start -->"
END = "<!-- bench:realtime:end -->"

THROUGHPUT = {  # scenario: (column label, result key)
    "echo1": ("echo 1 conn text", "msgs_per_s"),
    "echo1-json": ("echo 1 conn JSON", "msgs_per_s"),
    "echo100": ("echo 100 conns text", "msgs_per_s"),
    "echo100-json": ("echo 100 conns JSON", "msgs_per_s"),
    "broadcast": ("broadcast deliveries", "deliveries_per_s"),
    "sse": ("SSE deliveries", "deliveries_per_s"),
}
LIMITS = {"broadcast-limit": "broadcast", "sse-limit": "SSE"}
LATENCY = {
    "broadcast": "broadcast, saturated",
    "broadcast-paced": "broadcast, paced",
    "sse": "SSE, saturated",
    "sse-paced": "SSE, paced",
}


def _median(values: list[Any]) -> float | None:
    found = [v for v in values if isinstance(v, int | float)]
    return statistics.median(found) if found else None


def _value(row: dict[str, Any], scenario: str, key: str) -> float | None:
    return _median([run.get(key) for run in row["scenarios"].get(scenario, [])])


def _per_cpu(row: dict[str, Any], scenario: str, key: str) -> float | None:
    return _value(row, scenario, key + "_per_cpu_s")


def _k(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"


def _find(rows: list[dict[str, Any]], framework: str, server: str) -> dict[str, Any] | None:
    return next((r for r in rows if (r["framework"], r["server"]) == (framework, server)), None)


def _servers(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(row["server"] for row in rows))


def _ratio_table(rows: list[dict[str, Any]], per_cpu: bool) -> list[str]:
    measure = _per_cpu if per_cpu else _value
    columns = [s for s in THROUGHPUT if any(s in r["scenarios"] for r in rows)]
    out = []
    for server in _servers(rows):
        bare = _find(rows, "bare", server)
        out += [
            f"**{server}**: 1.00 = the bare ASGI app on {server} (its value in brackets)",
            "",
            "| | " + " | ".join(THROUGHPUT[c][0] for c in columns) + " |",
            "|---|" + "---:|" * len(columns),
        ]
        for row in (r for r in rows if r["server"] == server):
            cells = []
            for column in columns:
                key = THROUGHPUT[column][1]
                mine = measure(row, column, key)
                ref = measure(bare, column, key) if bare else None
                if row is bare or ref is None:
                    cells.append(f"1.00 ({_k(mine)})" if row is bare else _k(mine))
                else:
                    cells.append(f"{mine / ref:.2f}" if mine else "-")
            out.append(f"| {row['framework']} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def _absolute_table(rows: list[dict[str, Any]]) -> list[str]:
    columns = [s for s in THROUGHPUT if any(s in r["scenarios"] for r in rows)]
    lat = [s for s in LATENCY if any(s in r["scenarios"] for r in rows)]
    out = [
        "| framework | server | "
        + " | ".join(THROUGHPUT[c][0] + " /s" for c in columns)
        + " | "
        + " | ".join(LATENCY[s] + " p50 / p99" for s in lat)
        + " | idle RSS (KiB/conn) |",
        "|---|---|" + "---:|" * (len(columns) + len(lat) + 1),
    ]
    for row in rows:
        cells = [_k(_value(row, c, THROUGHPUT[c][1])) for c in columns]
        for s in lat:
            p50, p99 = _value(row, s, "p50_ms"), _value(row, s, "p99_ms")
            cells.append(
                f"{p50:.0f} / {p99:.0f} ms" if p50 is not None and p99 is not None else "-"
            )
        rss, per = _value(row, "idle", "rss_mib"), _value(row, "idle", "kib_per_connection")
        cells.append(f"{rss:.0f} MiB ({per:.0f})" if rss is not None and per is not None else "-")
        out.append(f"| {row['framework']} | {row['server']} | " + " | ".join(cells) + " |")
    return [*out, ""]


def _limit_cell(row: dict[str, Any], scenario: str) -> str:
    runs = [run for run in row["scenarios"].get(scenario, []) if "max_rate" in run]
    if not runs:
        return "-"
    rate = _median([run["max_rate"] for run in runs])
    if not rate:  # not even the lowest rate tried held: show how far off it was
        lowest = min((step for run in runs for step in run["steps"]), key=lambda s: s["rate"])
        return f"none: p99 {lowest['p99_ms']:.0f} ms at {lowest['rate']:.1f} msg/s"
    held = [run for run in runs if run["max_rate"]]
    p50, p99 = _median([r.get("p50_ms") for r in held]), _median([r.get("p99_ms") for r in held])
    cpu = _median([r.get("server_cpu_pct") for r in held])
    shown = f"{rate:.0f} msg/s ({_k(rate * int(runs[0].get('clients') or 1000))}/s)"
    if p50 is not None and p99 is not None:
        shown += f" · {p50:.0f} / {p99:.0f} ms"
    return shown + (f" · {cpu:.0f} %" if cpu is not None else "")


def _limit_table(rows: list[dict[str, Any]]) -> list[str]:
    present = [s for s in LIMITS if any(s in r["scenarios"] for r in rows)]
    if not present:
        return []
    slo = next(
        (run["slo_ms"] for r in rows for s in present for run in r["scenarios"].get(s, []) if "slo_ms" in run),
        50,
    )  # fmt: skip
    out = [
        f"#### Fan-out limit: the highest publish rate with p99 under {slo:g} ms",
        "",
        "Median of the repeats: messages/s (deliveries/s to every client) · p50 / p99 at that"
        " rate · the worker's CPU share then.",
        "",
        "| framework | server | " + " | ".join(LIMITS[s] for s in present) + " |",
        "|---|---|" + "---:|" * len(present),
    ]
    for row in rows:
        if any(s in row["scenarios"] for s in present):
            cells = [_limit_cell(row, s) for s in present]
            out.append(f"| {row['framework']} | {row['server']} | " + " | ".join(cells) + " |")
    return [*out, ""]


def _machine(results: dict[str, Any]) -> list[str]:
    meta = results.get("meta", {})
    machine, versions = meta.get("machine"), meta.get("versions")
    if not machine or not versions:
        return []
    shown = ("plait", "fastapi", "litestar", "blacksheep", "starlette", "uvicorn", "granian")
    extra = ("channels", "websockets", "wsproto", "picows")
    listed = " · ".join(f"{n} {versions[n]}" for n in shown if n in versions)
    return [
        f"- **Machine:** {machine['cpu']} · `nproc` {machine['nproc']} · Linux"
        f" {machine['kernel']} · Python {machine['python']}",
        f"- **Versions:** {listed} · " + " · ".join(f"{n} {_version(n)}" for n in extra),
    ]


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_note(rows: list[dict[str, Any]]) -> list[str]:
    shares = [
        run["server_cpu_pct"]
        for row in rows
        for runs in row["scenarios"].values()
        for run in runs
        if isinstance(run.get("server_cpu_pct"), int | float)
    ]
    clients = [
        run["client_cpu_pct"]
        for row in rows
        for runs in row["scenarios"].values()
        for run in runs
        if isinstance(run.get("client_cpu_pct"), int | float)
    ]
    if not shares:
        return []
    return [
        f"Server worker CPU share during the measured windows: median {statistics.median(shares):.0f} %"
        f" (min {min(shares):.0f}, max {max(shares):.0f}); load client CPU share: median"
        f" {statistics.median(clients):.0f} %, max {max(clients):.0f} %"
        " (under 100 %: the client was not the bottleneck).",
        "",
    ]


def _problems(rows: list[dict[str, Any]]) -> list[str]:
    found = [
        f"- {row['framework']} ({row['server']}) {name}: {run['error']}"
        for row in rows
        for name, runs in row["scenarios"].items()
        for run in runs
        if run.get("error")
    ]
    found += [f"- {r['framework']} ({r['server']}): {r['error']}" for r in rows if r.get("error")]
    return ["Problems seen during the run:", "", *sorted(set(found)), ""] if found else []


def rt_markdown(results: dict[str, Any]) -> str:
    realtime = results.get("realtime", {})
    rows = realtime.get("rows", [])
    meta = realtime.get("meta", {})
    lines = [
        f"_Generated by `{meta.get('command', results['meta']['command'])}` on"
        f" {meta.get('date', results['meta']['date'])}. Do not edit between the markers._",
        "",
        f"- **Method:** {meta.get('method', '')}",
        *_machine(results),
        "",
        "![Real-time throughput relative to the bare ASGI app](benchmarks-realtime.png)",
        "",
        "#### Throughput per CPU-second of the server worker, as a fraction of the bare app",
        "",
        *_ratio_table(rows, per_cpu=True),
        "#### Throughput (messages or deliveries per second), as a fraction of the bare app",
        "",
        *_ratio_table(rows, per_cpu=False),
        "#### Every figure (medians of the repeats)",
        "",
        *_absolute_table(rows),
        *_limit_table(rows),
        *_cpu_note(rows),
        *_problems(rows),
    ]
    return "\n".join(lines).rstrip() + "\n"


def rt_chart(results: dict[str, Any], path: Path) -> None:
    """One panel per server: each framework's throughput per CPU-second over the bare app's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results.get("realtime", {}).get("rows", [])
    servers = _servers(rows)
    columns = [s for s in THROUGHPUT if any(s in r["scenarios"] for r in rows)]
    fig, axes = plt.subplots(len(servers), 1, figsize=(12, 4 * len(servers)), squeeze=False)
    for ax, server in zip(axes[:, 0], servers, strict=True):
        bare = _find(rows, "bare", server)
        mine = [r for r in rows if r["server"] == server]
        width = 0.8 / max(len(mine), 1)
        for i, row in enumerate(mine):
            values = []
            for column in columns:
                key = THROUGHPUT[column][1]
                value, ref = (
                    _per_cpu(row, column, key),
                    _per_cpu(bare, column, key) if bare else None,
                )
                values.append(value / ref if value and ref else 0.0)
            xs = [x + (i - (len(mine) - 1) / 2) * width for x in range(len(columns))]
            ax.bar(xs, values, width, label=row["framework"])
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_xticks(range(len(columns)), [THROUGHPUT[c][0] for c in columns])
        ax.set_ylabel("fraction of bare ASGI")
        ax.set_title(f"{server}: messages per CPU-second of the server")
        ax.legend(fontsize=8, ncol=7, loc="upper center", bbox_to_anchor=(0.5, -0.1))
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("plait real-time bench")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_rt_docs(results: dict[str, Any], md_path: Path, png_path: Path) -> None:
    """Replace the real-time block of ``md_path`` and draw its chart (when there are rows)."""
    if not results.get("realtime", {}).get("rows"):
        return
    replace_block(md_path, START, END, rt_markdown(results))
    rt_chart(results, png_path)
