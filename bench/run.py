"""`make bench`: requests/s of GET /api/v1/suppliers/{id} through the whole app, against a baseline.

In one run: a throwaway database (migrated, demo-seeded, dropped at the end), two uvicorn
servers (bench/baseline.py and the real app), a correctness check of both, then warm-up and
alternating rounds of load (baseline, real, baseline, real, ...) so drift on a shared machine
hits both alike. Prints a table and writes bench/results/latest.json. Exit status 1 if anything
fails, including a single error response under load; the ratio is reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import inspect
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs; only connect() and execute() are used
from sqlalchemy.engine import make_url

from backend.dev.demo import DEMO_PASSWORD, DemoData, seed_demo
from backend.migrate import upgrade
from bench.load import Generator, LoadError, LoadResult, PythonClient, Target, Wrk
from tenants.isolation import Database

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
EMBEDDED_PGDATA = REPO / ".merkato" / "bench-pg"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_RATIO = 0.40
SERVER_START_SECONDS = 60
SERVER_STOP_SECONDS = 10
# The pool the app opens per process; the baseline gets as many connections.
APP_POOL_SIZE: int = inspect.signature(Database.connect).parameters["pool_size"].default


class BenchFailed(RuntimeError):
    """A step failed; the message says which, and the run exits 1 after cleaning up."""


# --- the database -------------------------------------------------------------------------------


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def database_server() -> Iterator[tuple[str, str]]:
    """(owner URL of a maintenance database, how it was found): the configured server, the local
    one on 5432, or an embedded pgserver, in that order."""
    configured = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield configured, "configured (TEST_DATABASE_URL/DATABASE_URL)"
        return
    if _reachable("127.0.0.1", 5432):
        yield DEFAULT_SERVER_URL, "local server at 127.0.0.1:5432"
        return
    from pgserver.postgres_server import get_server  # only needed when there is no server to use

    EMBEDDED_PGDATA.parent.mkdir(parents=True, exist_ok=True)
    # pgserver stops the server once the last process holding a handle has cleaned up.
    server = get_server(EMBEDDED_PGDATA)
    try:
        yield server.get_uri(), f"embedded pgserver under {EMBEDDED_PGDATA}"
    finally:
        server.cleanup()


def _libpq_url(url: str, database: str | None = None) -> str:
    """The URL as asyncpg takes it: plain postgresql:// (a configured URL may name +asyncpg)."""
    # make_url keeps passwords, ports and a ?host= socket directory intact.
    parsed = make_url(url).set(drivername="postgresql")
    return (parsed.set(database=database) if database else parsed).render_as_string(hide_password=False)


async def _admin(server_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE refuse to run in a transaction: a bare connection runs in autocommit.
    connection = await asyncpg.connect(_libpq_url(server_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """The owner URL of a new database, migrated; dropped (even with connections left) on exit."""
    name = f"merkato_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        url = _libpq_url(server_url, name)
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _seed(owner_url: str) -> DemoData:
    db = Database.connect(owner_url)
    try:
        return await seed_demo(db)
    finally:
        await db.dispose()


# --- the servers --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """One uvicorn process in its own process group, so stopping it takes every child with it."""

    def __init__(self, name: str, app: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = _free_port()
        self.log_path = log_dir / f"{name}.log"
        self._argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            app,
            "--host=127.0.0.1",
            f"--port={self.port}",
            "--workers=1",
            "--loop=uvloop",
            "--http=httptools",
            "--no-access-log",
            "--log-level=warning",
            f"--timeout-graceful-shutdown={SERVER_STOP_SECONDS // 2}",
        ]
        self._env = dict(env)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._argv, cwd=REPO, env=self._env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server has used so far (Linux /proc; None elsewhere)."""
        if self._process is None:
            return None
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the ")" of comm
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def check_alive(self) -> None:
        if self._process is None or self._process.poll() is not None:
            raise BenchFailed(f"the {self.name} server is not running; {self.log_path} ends:\n{self.log_tail()}")

    def wait_ready(self) -> None:
        """Until it answers HTTP at all (any status: readiness, not correctness, which comes next)."""
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                request(self.port, "GET", "/", host="localhost")
                return
            except OSError:
                time.sleep(0.2)
        raise BenchFailed(f"the {self.name} server did not answer within {SERVER_START_SECONDS}s")

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after a bounded wait."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=SERVER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=SERVER_STOP_SECONDS)
        except ProcessLookupError:
            process.wait(timeout=SERVER_STOP_SECONDS)


# --- HTTP for the checks ------------------------------------------------------------------------


def request(
    port: int, method: str, path: str, *, host: str, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    """(status, decoded JSON body or None) of one request on a fresh connection."""
    headers = {"Host": host}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    is_json = response.getheader("content-type", "").startswith("application/json")
    return response.status, json.loads(raw) if is_json and raw else None


def api_token(port: int, slug: str) -> str:
    status, body = request(
        port,
        "POST",
        "/api/v1/token",
        host=f"{slug}.localhost",
        body={"email": f"admin@{slug}.test", "password": DEMO_PASSWORD},
    )
    if status != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise BenchFailed(f"POST /api/v1/token on {slug}.localhost answered {status}: {body!r}")
    token: str = body["access_token"]
    return token


def _expect(what: str, status: int, allowed: set[int]) -> None:
    if status not in allowed:
        raise BenchFailed(f"{what}: expected {sorted(allowed)}, got {status}")
    print(f"  ok  {what}: {status}")


def verify(baseline: Server, real: Server, demo: DemoData) -> dict[str, Target]:
    """Prove both endpoints answer 200 with the same supplier, and that the app refuses other
    tenants' requests, so the load below can only be measuring the right successful response."""
    acme_id, globex_id = demo.acme.supplier_ids[0], demo.globex.supplier_ids[0]
    acme_token, globex_token = api_token(real.port, "acme"), api_token(real.port, "globex")
    real_path, baseline_path = f"/api/v1/suppliers/{acme_id}", f"/suppliers/{acme_id}"

    status, real_body = request(real.port, "GET", real_path, host="acme.localhost", token=acme_token)
    _expect("real app, acme token, acme supplier", status, {200})
    if not isinstance(real_body, dict) or real_body.get("id") != str(acme_id):
        raise BenchFailed(f"the real app answered another document: {real_body!r}")
    status, baseline_body = request(baseline.port, "GET", baseline_path, host="localhost")
    _expect("baseline, acme supplier", status, {200})
    if baseline_body != real_body:
        raise BenchFailed(f"baseline and app disagree:\n  baseline {baseline_body!r}\n  app      {real_body!r}")
    print("  ok  baseline and real app send the same JSON document")

    refusals = [
        ("real app, globex token on acme host", real_path, "acme.localhost", globex_token),
        ("real app, acme token, globex supplier", f"/api/v1/suppliers/{globex_id}", "acme.localhost", acme_token),
        ("real app, no token", real_path, "acme.localhost", None),
    ]
    for what, path, host, token in refusals:
        status, _ = request(real.port, "GET", path, host=host, token=token)
        _expect(what, status, {401, 404})

    return {
        "baseline": Target(baseline.port, baseline_path, {"Host": "localhost"}),
        "real": Target(real.port, real_path, {"Host": "acme.localhost", "Authorization": f"Bearer {acme_token}"}),
    }


# --- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    round: int  # 0 = warm-up, not counted
    server: str
    result: LoadResult
    # The server process's own CPU per answered request: it moves much less than req/s when other
    # work shares the machine, so it still shows what the app costs on a busy box.
    cpu_ms_per_request: float | None


def choose_generator(name: str, threads: int, connections: int) -> Generator:
    if name == "wrk" or (name == "auto" and shutil.which("wrk")):
        return Wrk(threads, connections)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("hint: wrk is missing; `apt-get update && apt-get install -y wrk` gives a proper load generator")
    return PythonClient(connections)


def measure(
    generator: Generator, targets: Mapping[str, Target], servers: Mapping[str, Server], args: argparse.Namespace
) -> list[Sample]:
    schedule = [(0, name, args.warmup) for name in targets]
    schedule += [(n, name, args.duration) for n in range(1, args.rounds + 1) for name in targets]
    samples = []
    for round_number, name, seconds in schedule:
        cpu_before = servers[name].cpu_seconds()
        result = generator.run(targets[name], seconds)
        cpu_after = servers[name].cpu_seconds()
        servers[name].check_alive()
        cpu_ms = None
        if cpu_before is not None and cpu_after is not None and result.requests:
            cpu_ms = (cpu_after - cpu_before) * 1e3 / result.requests
        label = "warm-up" if round_number == 0 else f"round {round_number}"
        print(f"  {label:8} {name:8} {result.requests_per_second:9.0f} req/s")
        if result.errors or result.socket_errors or not result.requests:
            raise BenchFailed(
                f"{name} {label}: {result.requests} responses, {result.errors} errors (status >= 400),"
                f" {result.socket_errors} socket errors/timeouts: not a measurement of successful requests"
            )
        samples.append(Sample(round_number, name, result, cpu_ms))
    return samples


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarize(samples: list[Sample], names: tuple[str, ...]) -> dict[str, dict[str, float | None]]:
    summary = {}
    for name in names:
        counted = [s for s in samples if s.server == name and s.round > 0]
        summary[name] = {
            "requests_per_second": _median([s.result.requests_per_second for s in counted]),
            "p50_ms": _median([s.result.p50_ms for s in counted]),
            "p99_ms": _median([s.result.p99_ms for s in counted]),
            "cpu_ms_per_request": _median([s.cpu_ms_per_request for s in counted]),
        }
    return summary


@dataclass(frozen=True, slots=True)
class Ratios:
    throughput: float  # median real req/s over median baseline req/s: the figure the target is for
    cpu: float | None  # baseline CPU ms per request over real's


def ratios(summary: Mapping[str, Mapping[str, float | None]]) -> Ratios:
    real, baseline = summary["real"], summary["baseline"]
    throughput = (real["requests_per_second"] or 0.0) / (baseline["requests_per_second"] or 1.0)
    real_cpu, baseline_cpu = real["cpu_ms_per_request"], baseline["cpu_ms_per_request"]
    return Ratios(throughput, baseline_cpu / real_cpu if baseline_cpu and real_cpu else None)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _row(label: str, server: str, rps: float | None, p50: float | None, p99: float | None, cpu: float | None) -> str:
    return f"{label:>6}  {server:8}  {rps or 0.0:9.0f}  {_ms(p50):>7}  {_ms(p99):>7}  {_ms(cpu):>10}"


def print_table(samples: list[Sample], summary: Mapping[str, Mapping[str, float | None]], ratios: Ratios) -> None:
    print(f"\n{'round':>6}  {'server':8}  {'req/s':>9}  {'p50 ms':>7}  {'p99 ms':>7}  {'CPU ms/req':>10}")
    for s in samples:
        if s.round:
            r = s.result
            print(_row(str(s.round), s.server, r.requests_per_second, r.p50_ms, r.p99_ms, s.cpu_ms_per_request))
    for name, m in summary.items():
        print(_row("median", name, m["requests_per_second"], m["p50_ms"], m["p99_ms"], m["cpu_ms_per_request"]))
    verdict = "meets" if ratios.throughput >= TARGET_RATIO else "BELOW"
    print(f"\nratio real/baseline: {ratios.throughput:.3f} ({verdict} the target of {TARGET_RATIO:.2f})")
    if ratios.cpu is not None:
        print(f"server CPU per request, baseline/real: {ratios.cpu:.3f} (the ratio a CPU-bound server would reach)")


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "platform": platform.platform(), "python": sys.version.split()[0]}


# --- the run ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per server (default 3)")
    # whole seconds: wrk's -d takes no fractions
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per round (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load per server first")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (one leaves a core for the servers)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="report; server logs beside it")
    args = parser.parse_args(argv)
    if min(args.rounds, args.duration, args.warmup, args.connections, args.threads) < 1:
        parser.error("rounds, duration, warmup, connections and threads must be at least 1")
    if args.threads > args.connections:
        parser.error("wrk needs at least one connection per thread")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so every finally block stops its server.
    raise KeyboardInterrupt(signal.Signals(signum).name)


def start_servers(stack: ExitStack, owner_url: str, demo: DemoData, log_dir: Path) -> tuple[Server, Server]:
    """(baseline, real), both answering HTTP, each stopped when the stack closes."""
    data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="merkato-bench-"))
    inherited = {k: v for k, v in os.environ.items() if k != "DATABASE_APP_URL"}  # it names another database
    baseline_env = {
        "BENCH_DATABASE_URL": owner_url,
        "BENCH_TENANT_ID": str(demo.acme.id),
        "BENCH_POOL_SIZE": str(APP_POOL_SIZE),
    }
    real_env = {
        "DATABASE_URL": owner_url,
        # the API path does not depend on the environment (only cookies' Secure flag does)
        "MERKATO_ENV": "test",
        "MERKATO_SECRET_KEY": secrets.token_urlsafe(48),
        "MERKATO_BASE_DOMAIN": "localhost",
        "MERKATO_DATA_DIR": data_dir,
        # the one token taken before the load must outlive every round
        "MERKATO_API_TOKEN_MINUTES": "120",
    }
    baseline = Server("baseline", "bench.baseline:create_app", inherited | baseline_env, log_dir)
    real = Server("real", "backend.app:app_from_environment", inherited | real_env, log_dir)
    for server in (baseline, real):
        stack.callback(server.stop)
        server.start()
    for server in (baseline, real):
        server.wait_ready()
        print(f"{server.name} server: uvicorn on 127.0.0.1:{server.port}, log {server.log_path}")
    return baseline, real


def run(args: argparse.Namespace) -> dict[str, Any]:
    generator = choose_generator(args.generator, args.threads, args.connections)
    print(f"load generator: {generator.describe(args.duration)}")
    log_dir = args.output.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        server_url, server_kind = stack.enter_context(database_server())
        print(f"database server: {server_kind}")
        owner_url = stack.enter_context(throwaway_database(server_url))
        demo = asyncio.run(_seed(owner_url))
        print(f"database {make_url(owner_url).database}: migrated and seeded")
        baseline, real = start_servers(stack, owner_url, demo, log_dir)
        print("correctness:")
        targets = verify(baseline, real, demo)
        print("load (warm-up first, then alternating rounds):")
        load_before = os.getloadavg()[0]
        samples = measure(generator, targets, {"baseline": baseline, "real": real}, args)
        load_after = os.getloadavg()[0]

    summary = summarize(samples, tuple(targets))
    found = ratios(summary)
    print_table(samples, summary, found)
    # Other work on the machine lowers both servers' req/s, and not always alike: say how busy it was.
    print(f"load average (1 min) before/after measuring: {load_before:.2f}/{load_after:.2f}")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "generator": {"name": generator.name, "description": generator.describe(args.duration)},
        "database_server": server_kind,
        "pool_size": APP_POOL_SIZE,
        "endpoints": {"baseline": targets["baseline"].path, "real": targets["real"].path + " (Host acme.localhost)"},
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
        },
        "load_average_1min": {"before": load_before, "after": load_after},
        "samples": [
            {"round": s.round, "server": s.server, **asdict(s.result), "cpu_ms_per_request": s.cpu_ms_per_request}
            for s in samples
        ],
        "median": summary,
        "ratio": round(found.throughput, 4),
        "cpu_ratio": None if found.cpu is None else round(found.cpu, 4),
        "target_ratio": TARGET_RATIO,
        "meets_target": found.throughput >= TARGET_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        report = run(args)
    except (BenchFailed, LoadError) as failure:
        print(f"\nbench failed: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupt:
        # no traceback: the ExitStack in run() has already stopped the servers and dropped the database
        print(f"\nbench interrupted ({interrupt or 'SIGINT'})", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
