"""Load generators: wrk when it is installed, else a small asyncio keep-alive client.

Both send the same GET with the same headers over N persistent connections for a fixed time and
report requests/s, p50/p99 latency, and the responses that were not 2xx or never came, so the
caller can refuse a measurement that counted errors.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

# The deadline per request (wrk's --timeout); a slower answer counts as a socket error, and the run
# fails. Generous, because other work on a 2-core machine can stall a server for a second or more.
REQUEST_TIMEOUT_SECONDS = 5
# Headroom on top of the load duration for connecting, warming and printing, before we give up.
GRACE_SECONDS = 30

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.MULTILINE)
_SOCKET_ERRORS = re.compile(r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE)


class LoadError(RuntimeError):
    """The generator failed, or its output could not be read."""


@dataclass(frozen=True, slots=True)
class Target:
    port: int
    path: str
    headers: Mapping[str, str]  # Host included: the app routes by it


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int  # responses >= 400 (wrk cannot tell 3xx from 2xx; run.py checks the status first)
    socket_errors: int  # connect/read/write failures and timeouts: requests that got no answer


class Wrk:
    name = "wrk"

    def __init__(self, threads: int, connections: int) -> None:
        path = shutil.which("wrk")
        if path is None:
            raise LoadError("wrk is not installed")
        self.path = path
        self.threads = threads
        self.connections = connections
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=False)
        # `wrk --version` prints its banner and usage and exits 1; the banner names the build.
        self.version = (version.stdout or version.stderr).splitlines()[0].split(" Copyright")[0].strip()

    def describe(self, seconds: float) -> str:
        return f"{self.version}: -t{self.threads} -c{self.connections} -d{seconds:g}s --latency"

    def run(self, target: Target, seconds: float) -> LoadResult:
        argv = [
            self.path,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds:g}s",
            f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
            "--latency",
        ]
        for name, value in target.headers.items():
            argv += ["-H", f"{name}: {value}"]  # wrk uses a given Host header instead of the URL's
        argv.append(f"http://127.0.0.1:{target.port}{target.path}")
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + GRACE_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise LoadError(f"wrk did not finish within {seconds + GRACE_SECONDS:g}s") from exc
        if done.returncode != 0:
            raise LoadError(f"wrk exited with {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
        return parse_wrk(done.stdout)


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Read wrk's plain (Lua-free) report; a missing line is an error, never a silent zero."""
    rps = _RPS.search(output)
    total = _TOTAL.search(output)
    if rps is None or total is None:
        raise LoadError(f"unexpected wrk output:\n{output}")
    percentiles = {m.group(1): _milliseconds(m.group(2), m.group(3)) for m in _PERCENTILE.finditer(output)}
    non_2xx = _NON_2XX.search(output)
    sockets = _SOCKET_ERRORS.search(output)
    return LoadResult(
        requests=int(total.group(1)),
        seconds=_milliseconds(total.group(2), total.group(3)) / 1e3,
        requests_per_second=float(rps.group(1)),
        p50_ms=percentiles.get("50"),
        p99_ms=percentiles.get("99"),
        errors=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


class PythonClient:
    """The fallback: asyncio streams over keep-alive connections, in this very process.

    It shares the 2 cores with the servers and spends more CPU per request than wrk, so its
    absolute figures are lower; the ratio, measured the same way on both servers, still holds.
    """

    name = "python"

    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.version = "asyncio keep-alive client (bench/load.py)"

    def describe(self, seconds: float) -> str:
        return f"{self.version}: {self.connections} connections, {seconds:g}s"

    def run(self, target: Target, seconds: float) -> LoadResult:
        return asyncio.run(self._run(target, seconds))

    async def _run(self, target: Target, seconds: float) -> LoadResult:
        head = "".join(f"{name}: {value}\r\n" for name, value in target.headers.items())
        request = f"GET {target.path} HTTP/1.1\r\n{head}\r\n".encode("latin-1")
        latencies: list[float] = []
        counts = {"errors": 0, "socket_errors": 0}
        started = time.perf_counter()
        deadline = started + seconds
        async with asyncio.timeout(seconds + GRACE_SECONDS):
            await asyncio.gather(
                *(self._connection(target.port, request, deadline, latencies, counts) for _ in range(self.connections))
            )
        elapsed = time.perf_counter() - started
        ordered = sorted(latencies)
        return LoadResult(
            requests=len(ordered),
            seconds=elapsed,
            requests_per_second=len(ordered) / elapsed,
            p50_ms=statistics.median(ordered) * 1e3 if ordered else None,
            p99_ms=ordered[int(len(ordered) * 0.99)] * 1e3 if ordered else None,
            errors=counts["errors"],
            socket_errors=counts["socket_errors"],
        )

    @staticmethod
    async def _connection(
        port: int, request: bytes, deadline: float, latencies: list[float], counts: dict[str, int]
    ) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            counts["socket_errors"] += 1
            return
        try:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                writer.write(request)
                async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head[9:12])
                    length = _content_length(head)
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - sent)
                if status >= 400:
                    counts["errors"] += 1
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            counts["socket_errors"] += 1
        finally:
            writer.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    # Both servers always send Content-Length; a chunked answer would be misread, so refuse it.
    raise ValueError("response without Content-Length")


Generator = Wrk | PythonClient
