"""CPU seconds of the JSON error path for 10 MB bodies (issue 12, finding 1).

Drives a small app in-process with the test client and reports the median CPU time of this
process (the app and the client) over ``--repeat`` requests per body, so the numbers hold on
a loaded machine. ``--coverage`` measures under coverage.py's tracer, as CI runs the suite:
a Python call per value shows there, a C-speed pass does not.

    python bench/json_errors.py
    python bench/json_errors.py --coverage
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from plait.testing import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_json_limits import make_app  # the app the bounded-time test drives

__all__ = ["BODIES", "main"]


def _body(item: bytes, n: int) -> bytes:
    return b"[" + b",".join([item] * n) + b"]"


BODIES = {
    "valid [{a:1},…] to list[Item] (the C-speed baseline)": (
        "/items",
        _body(b'{"a":1}', 1_250_000),
    ),
    "[1.0, …] (2.5 M floats) to an object": ("/notes", _body(b"1.0", 2_500_000)),
    '[{"a":1.0}, …] to an object': ("/notes", _body(b'{"a":1.0}', 1_000_000)),
    "1.2 M objects missing a field, to list[Item]": ("/items", _body(b'{"b":1}', 1_200_000)),
    '[{"a":1.0}, …] to list[Item] (valid once ints)': ("/items", _body(b'{"a":1.0}', 1_000_000)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--coverage", action="store_true", help="measure under coverage.py")
    args = parser.parse_args()
    cov = None
    if args.coverage:
        import coverage

        cov = coverage.Coverage(source=["plait"], branch=True)
        cov.start()
    with TestClient(make_app()) as client:
        for name, (path, body) in BODIES.items():
            seconds = []
            for _ in range(args.repeat):
                start = time.process_time()
                response = client.post(
                    path, content=body, headers={"content-type": "application/json"}
                )
                seconds.append(time.process_time() - start)
            print(
                f"{name:55} {len(body) / 1e6:4.1f} MB  {response.status_code}"
                f"  {statistics.median(seconds):.3f} s CPU (median of {args.repeat})"
            )
    if cov is not None:
        cov.stop()


if __name__ == "__main__":
    main()
