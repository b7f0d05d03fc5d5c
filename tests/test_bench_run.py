"""bench/run.py's options: what it writes where (the measuring itself is not a test)."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

RUN = Path(__file__).resolve().parents[1] / "bench" / "run.py"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_run", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "RESULTS", tmp_path)
    return module


def _results(*rows: tuple[str, str]) -> dict[str, Any]:
    return {
        "meta": {"started": "2026-11-26T09-00-00"},
        "rows": [{"framework": f, "server": s, "endpoints": {}} for f, s in rows],
    }


def test_output_leaves_latest_and_the_docs_alone(run: ModuleType, tmp_path: Path) -> None:
    args = run.parse_args(["--output", str(tmp_path / "recheck.json")])
    assert args.no_docs is True
    default = run.parse_args([])
    assert default.no_docs is False
    assert default.output == tmp_path / "latest.json"
    (tmp_path / "latest.json").write_text(json.dumps(_results(("bare", "uvicorn"))))
    run.save(_results(("plait", "uvicorn")), args.output)
    assert json.loads((tmp_path / "recheck.json").read_text())["rows"][0]["framework"] == "plait"
    assert json.loads((tmp_path / "latest.json").read_text())["rows"][0]["framework"] == "bare"


def test_merge_keeps_the_rows_not_run_again(run: ModuleType, tmp_path: Path) -> None:
    output = tmp_path / "recheck.json"
    output.write_text(json.dumps(_results(("bare", "uvicorn"), ("plait", "uvicorn"))))
    final = run.merged(_results(("plait", "uvicorn"), ("plait", "granian")), output)
    keys = [(row["framework"], row["server"]) for row in final["rows"]]
    assert keys == [("bare", "uvicorn"), ("plait", "uvicorn"), ("plait", "granian")]


def _realtime(*rows: tuple[str, str, float]) -> dict[str, Any]:
    """Real-time rows: (framework, server, broadcast deliveries per CPU-second)."""
    return {
        "meta": {"started": "2026-12-07T04-00-00", "command": "bench", "date": "2026-12-07"},
        "rows": [],
        "realtime": {
            "rows": [
                {
                    "framework": f,
                    "server": s,
                    "error": None,
                    "scenarios": {
                        "broadcast": [
                            {
                                "deliveries_per_s": v / 2,
                                "deliveries_per_s_per_cpu_s": v,
                                "p50_ms": 10.0,
                                "p99_ms": 20.0,
                                "server_cpu_pct": 50.0,
                                "client_cpu_pct": 20.0,
                            }
                        ],
                        "idle": [{"rss_mib": 300.0, "kib_per_connection": 25.0}],
                    },
                }
                for f, s, v in rows
            ]
        },
    }


def test_real_time_rows_merge_and_their_tables_compare_with_the_bare_app(
    run: ModuleType, tmp_path: Path
) -> None:
    output = tmp_path / "realtime.json"
    output.write_text(json.dumps(_realtime(("bare", "uvicorn", 50_000), ("plait", "uvicorn", 1))))
    final = run.merged(_realtime(("plait", "uvicorn", 45_000)), output)
    rows = final["realtime"]["rows"]
    assert [(r["framework"], r["server"]) for r in rows] == [
        ("bare", "uvicorn"),
        ("plait", "uvicorn"),
    ]
    sys.path.insert(0, str(RUN.parent))
    try:
        from plaitbench.rtreport import rt_markdown
    finally:
        sys.path.remove(str(RUN.parent))
    text = rt_markdown(final)
    assert "| bare | 1.00 (50.0k) |" in text  # per CPU-second, the bare app is the unit
    assert "| plait | 0.90 |" in text
    assert "| plait | uvicorn | 22.5k | 10 / 20 ms | 300 MiB (25) |" in text


class _Stream(io.StringIO):
    """stdout or stderr, on a terminal or piped."""

    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize("terminal", [True, False])
def test_a_run_shows_its_progress_on_a_terminal_only(
    run: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    import plaitbench.measure
    from plaitbench.progress import say

    def measured(repeat: int, *args: Any, **kwargs: Any) -> None:
        time.sleep(1.3)  # past the second a job runs before its progress line shows
        say(f"  plaintext  bare/uvicorn  repeat {repeat + 1}")

    out, err = _Stream(terminal), _Stream(terminal)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(plaitbench.measure, "run_repeat", measured)
    monkeypatch.setattr(run, "prepare_database", lambda args: {})
    argv = ["--parts", "http", "--frameworks", "bare", "--servers", "uvicorn"]
    argv += ["--repeats", "1", "--output", str(tmp_path / "run.json")]
    assert run.measure(run.parse_args(argv), argv) == 0
    assert "plaintext  bare/uvicorn  repeat 1\n" in out.getvalue()
    if terminal:
        assert "\r\x1b[Kbench: repeat 1/1, http 0/1 (0%)" in err.getvalue()  # redrawn in place
        assert "\r\x1b[Kbench: repeat 1/1, http: done" in err.getvalue()
    else:
        assert err.getvalue() == ""  # piped: the results only


def _data(database: str, *rows: tuple[str, float]) -> dict[str, Any]:
    """Data-part rows on uvicorn: (framework, req/s of ``GET /cities``, at half a core)."""
    machine = {"cpu": "AMD EPYC", "nproc": "2", "kernel": "6", "python": "3.11", "wrk": "4"}
    options = {"server_cpu": "1", "load_cpu": "0", "connections": 64, "warmup": 1}
    options |= {"repeats": 1, "duration": 3}
    meta = {"started": "2026-12-07T07-00-00", "command": "bench --parts data"}
    meta |= {"date": "2026-12-07", "machine": machine, "options": options}
    meta["versions"] = {"plait": "0.1.0"}

    def row(framework: str, rps: float) -> dict[str, Any]:
        related = {"rps": [rps], "server_cpu_pct": [50.0], "non2xx": [0], "socket_errors": [0]}
        return {"framework": framework, "server": "uvicorn", "endpoints": {"related": related}}

    return {"meta": meta, "rows": [], "data": {database: {"rows": [row(*r) for r in rows]}}}


def test_the_default_run_has_the_data_part_on_both_databases(run: ModuleType) -> None:
    args = run.parse_args([])
    assert args.parts == ["http", "data", "realtime"]
    assert args.data_dbs == ["sqlite", "postgres"]


def test_data_rows_merge_and_their_tables_compare_with_the_raw_app(
    run: ModuleType, tmp_path: Path
) -> None:
    output = tmp_path / "datapath.json"
    output.write_text(json.dumps(_data("postgres", ("bare", 4000), ("plaitdb", 1))))
    final = run.merged(_data("postgres", ("plaitdb", 3000), ("djangodb", 1000)), output)
    rows = final["data"]["postgres"]["rows"]
    assert [r["framework"] for r in rows] == ["bare", "plaitdb", "djangodb"]
    sys.path.insert(0, str(RUN.parent))
    try:
        from plaitbench.datareport import data_markdown
    finally:
        sys.path.remove(str(RUN.parent))
    text = data_markdown(final)
    assert "**PostgreSQL (asyncpg; psycopg 3 for Django and SQLModel), uvicorn**: req/s" in text
    assert "| raw SQL (bare ASGI) | 4.0k |" in text
    assert "| plait.db | 3.0k (0.75) |" in text
    assert "| Django async ORM | 2.0k (0.25) |" in text  # per CPU-second: at half a core
    assert "Problems" not in text
    final["data"]["postgres"]["rows"][2]["endpoints"]["related"]["non2xx"] = [7]
    text = data_markdown(final)  # wrk counts error answers as requests: the cell says so
    assert "| Django async ORM | 1.0k (0.25) ⚠ |" in text
    assert "- Django async ORM (PostgreSQL, uvicorn) related: 7 non-2xx answers" in text


class _FakeFan:
    """A fan-out whose p99 grows with the rate: 2 ms per message/s (the limit: 25 msg/s)."""

    clients = 1000

    def __init__(self) -> None:
        self.rate = 0.0
        self.pending: dict[int, int] = {}
        self.lost = 0
        self.rates: list[float] = []

    async def run(self, warmup: float, duration: float) -> dict[str, Any]:
        self.rates.append(self.rate)
        return {
            "rate": self.rate,
            "p50_ms": self.rate,
            "p99_ms": 2 * self.rate,
            "deliveries_per_s": self.rate * self.clients,
            "server_cpu_pct": 40.0,
        }

    async def drain(self) -> None:
        return None


def test_the_limit_sweep_finds_the_highest_rate_under_the_bound_and_reports_it() -> None:
    import asyncio

    sys.path.insert(0, str(RUN.parent))
    try:
        from plaitbench.rtreport import rt_markdown
        from plaitbench.rtsweep import sweep
    finally:
        sys.path.remove(str(RUN.parent))
    fan = _FakeFan()
    found = asyncio.run(sweep(fan, slo_ms=50, budget=60, warmup=0, duration=0))  # type: ignore[arg-type]
    # Doubling from 10 until 40 fails, then bisecting (geometric) to within 15 %.
    assert [round(rate, 1) for rate in fan.rates] == [10, 20, 40, 28.3, 23.8, 25.9]
    assert (found["max_rate"], found["first_failed_rate"]) == (23.8, 25.9)
    slow = _FakeFan()
    never = asyncio.run(sweep(slow, slo_ms=1, budget=60, warmup=0, duration=0))  # type: ignore[arg-type]
    assert slow.rates == [10, 5, 2.5, 1.25]  # halved until under 1 msg/s
    assert never["max_rate"] == 0
    results = _realtime(("bare", "uvicorn", 50_000))
    row = results["realtime"]["rows"][0]
    row["scenarios"]["broadcast-limit"] = [found]
    row["scenarios"]["sse-limit"] = [never]
    text = rt_markdown(results)
    assert "#### Fan-out limit: the highest publish rate with p99 under 50 ms" in text
    cells = "24 msg/s (23.8k/s) · 24 / 48 ms · 40 % | none: p99 2 ms at 1.2 msg/s"
    assert f"| bare | uvicorn | {cells} |" in text
