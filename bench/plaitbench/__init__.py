"""The benchmark runner's parts: the server matrix, wrk, and the report (see bench/run.py)."""
