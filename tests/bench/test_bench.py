"""The benchmark harness: its reading of wrk's report, and one very short end-to-end run.

The end-to-end run uses the Python load generator so it needs no wrk, and asserts only that the
harness works (servers up, checks passed, numbers recorded), never a throughput.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.load import LoadError, parse_wrk
from bench.run import main

WRK_WITH_ERRORS = """\
Running 1s test @ http://127.0.0.1:18765/nope
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.44ms    1.05ms  13.80ms   87.37%
    Req/Sec     1.63k    77.00     1.71k    80.00%
  Latency Distribution
     50%    2.28ms
     75%    2.77ms
     90%    3.29ms
     99%    6.17ms
  1624 requests in 1.00s, 824.87KB read
  Non-2xx or 3xx responses: 1624
Requests/sec:   1621.58
Transfer/sec:    823.64KB
"""

WRK_CLEAN_WITH_SOCKET_ERRORS = """\
Running 10s test @ http://127.0.0.1:40000/suppliers/x
  1 threads and 32 connections
  Latency Distribution
     50%  835.00us
     75%    1.01ms
     90%    1.20ms
     99%    1.05s
  30195 requests in 10.01s, 12.27MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
Requests/sec:   3017.41
Transfer/sec:      1.23MB
"""


def test_wrk_report_with_error_responses() -> None:
    result = parse_wrk(WRK_WITH_ERRORS)
    assert result.requests == 1624
    assert result.seconds == pytest.approx(1.0)
    assert result.requests_per_second == pytest.approx(1621.58)
    assert result.p50_ms == pytest.approx(2.28)
    assert result.p99_ms == pytest.approx(6.17)
    assert result.errors == 1624
    assert result.socket_errors == 0


def test_wrk_report_units_and_socket_errors() -> None:
    result = parse_wrk(WRK_CLEAN_WITH_SOCKET_ERRORS)
    assert result.p50_ms == pytest.approx(0.835)
    assert result.p99_ms == pytest.approx(1050.0)
    assert result.errors == 0
    assert result.socket_errors == 5


def test_unreadable_wrk_report_is_an_error() -> None:
    with pytest.raises(LoadError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_short_end_to_end_run(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"
    argv = ["--generator=python", "--rounds=1", "--duration=1", "--warmup=1", "--connections=4"]
    assert main([*argv, f"--output={output}"]) == 0
    report = json.loads(output.read_text())
    assert report["generator"]["name"] == "python"
    assert [(s["round"], s["server"]) for s in report["samples"]] == [
        (0, "baseline"),
        (0, "real"),
        (1, "baseline"),
        (1, "real"),
    ]
    assert all(s["requests"] > 0 and s["errors"] == 0 and s["socket_errors"] == 0 for s in report["samples"])
    assert report["ratio"] > 0
