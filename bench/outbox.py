"""`make bench` part two: the outbox. Two figures, in one run on a throwaway database:

1. lag: at a steady rate (default 100 jobs/s), the time from a job's enqueueing transaction to
   the job starting in a real worker process (dramatiq over Redis, as in production); p50, p99
   and max are printed. Every job must run exactly once.
2. cost of a job on a write: requests/s of POST /api/v1/suppliers (which enqueues the "new
   supplier" announcement) against the same write with enqueueing switched off in a second
   server, in alternating rounds; the target is a ratio of at least 0.8.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import redis

from backend.jobs import outbox as outbox_module
from backend.jobs.broker import BatchingPublisher
from backend.jobs.runtime import install
from backend.models import Tenant
from backend.parties import service as parties_service
from bench.load import LoadResult, parse_wrk
from bench.outbox_jobs import MARK
from bench.run import (
    REPO,
    RESULTS,
    BenchFailed,
    Server,
    api_token,
    database_server,
    machine,
    request,
    throwaway_database,
)
from bench.run import _seed as seed
from tenants.context import PartyKind, TenantContext
from tenants.isolation import Database

TARGET_WRITE_RATIO = 0.8
UNLIMITED_PLAN = "enterprise"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def app_without_jobs() -> Any:
    """The real app with enqueueing made a no-op: the write minus its job (bench only)."""
    from backend.app import app_from_environment

    async def no_job(*_: Any, **__: Any) -> None:
        return None

    parties_service.enqueue = no_job  # type: ignore[attr-defined,assignment]  # the bench's variant only
    return app_from_environment()


# --- 1. lag -------------------------------------------------------------------------------------


async def _produce(owner_url: str, tenant_id: UUID, rate: float, seconds: float) -> int:
    """Enqueue one job per 1/rate seconds, each in its own transaction, concurrently enough that
    a slow commit never lowers the rate (a steady arrival rate, not a closed loop)."""
    broker = install(REDIS_URL)
    db = Database.connect(owner_url, pool_size=8, publish=BatchingPublisher(broker))

    async def one() -> None:
        async with db.transaction(TenantContext.system(tenant_id)) as session:
            await outbox_module.enqueue(session, MARK, token=str(uuid4()))

    try:
        start = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        while (slot := len(tasks) / rate) < seconds:
            await asyncio.sleep(max(0.0, slot - (time.monotonic() - start)))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        return len(tasks)
    finally:
        await db.dispose()


async def _lags(owner_url: str, expected: int, wait_seconds: float) -> list[float]:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(owner_url)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            done = await connection.fetchval("SELECT count(*) FROM bench.job_starts")
            if done >= expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        rows = await connection.fetch(
            "SELECT extract(epoch FROM s.started_at - o.created_at) * 1000 AS lag_ms"
            " FROM bench.job_starts s JOIN outbox o ON o.args->>'token' = s.token::text"
        )
        duplicates = await connection.fetchval(
            "SELECT count(*) FROM (SELECT token FROM bench.job_starts GROUP BY 1 HAVING count(*) > 1) d"
        )
        if duplicates:
            raise BenchFailed(f"{duplicates} jobs started twice")
        return [float(row["lag_ms"]) for row in rows]
    finally:
        await connection.close()


async def _prepare_effects(owner_url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(owner_url)
    try:
        await connection.execute(
            "CREATE SCHEMA IF NOT EXISTS bench;"
            " CREATE TABLE IF NOT EXISTS bench.job_starts (token uuid, started_at timestamptz);"
            " GRANT USAGE ON SCHEMA bench TO merkato_app; GRANT INSERT, SELECT ON bench.job_starts TO merkato_app"
        )
    finally:
        await connection.close()


def measure_lag(
    stack: ExitStack, owner_url: str, tenant_id: UUID, args: argparse.Namespace, log_dir: Path
) -> dict[str, Any]:
    asyncio.run(_prepare_effects(owner_url))
    env = {**os.environ, "DATABASE_URL": owner_url, "BROKER_URL": REDIS_URL, "MERKATO_ENV": "test"}
    log = (log_dir / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "bench.outbox_jobs:setup", "--processes", "1", "--threads", "8"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.callback(_stop, worker)
    time.sleep(3)  # let the worker boot and connect before the clock starts
    if worker.poll() is not None:
        raise BenchFailed(f"the worker exited; see {log_dir / 'worker.log'}")
    sent = asyncio.run(_produce(owner_url, tenant_id, args.rate, args.seconds))
    lags = sorted(asyncio.run(_lags(owner_url, sent, wait_seconds=60)))
    # stopped now: the write rounds measure the writes; workers run on other machines in production
    _stop(worker)
    if len(lags) != sent:
        raise BenchFailed(f"{sent} jobs enqueued, {len(lags)} ran")
    return {
        "jobs": sent,
        "rate_per_second": args.rate,
        "p50_ms": round(statistics.median(lags), 2),
        "p99_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 2),
        "max_ms": round(lags[-1], 2),
    }


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


# --- 2. a write with and without its job ----------------------------------------------------------


def _wrk_post(port: int, token: str, seconds: float, script_dir: Path) -> LoadResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchFailed("this part needs wrk (`make bench` installs it)")
    script = script_dir / "post.lua"
    body = json.dumps({"name": "Bench Supplier Co.", "country": "CN", "currency": "CNY"})
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{body}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        'wrk.headers["Host"] = "acme.localhost"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    done = subprocess.run(
        [
            wrk,
            "-t1",
            "-c16",
            f"-d{seconds:g}s",
            "--timeout=10s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/api/v1/suppliers",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
    if done.returncode != 0:
        raise BenchFailed(f"wrk failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


async def without_supplier_limit(owner_url: str, tenant_id: UUID) -> None:
    """The write run adds thousands of suppliers: its workspace goes on the plan with no limit on
    them, or every request past the demo plan's 250 would be refused (403) instead of measured."""
    db = Database.connect(owner_url)
    try:
        async with db.transaction(TenantContext(tenant_id, PartyKind.STAFF)) as session:
            tenant = await session.get(Tenant, tenant_id)
            assert tenant is not None
            tenant.plan = UNLIMITED_PLAN
    finally:
        await db.dispose()


def measure_writes(stack: ExitStack, owner_url: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": owner_url,
        "BROKER_URL": REDIS_URL,  # publish after commit, as production does; no worker drains it here
        "MERKATO_ENV": "test",
        "MERKATO_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop",
        "MERKATO_DATA_DIR": str(log_dir),
    }
    servers = {
        "with_job": Server("with_job", "backend.app:app_from_environment", env, log_dir),
        "without_job": Server("without_job", "bench.outbox:app_without_jobs", env, log_dir),
    }
    for server in servers.values():
        server.start()
        stack.callback(server.stop)
    for server in servers.values():
        server.wait_ready()
    token = api_token(servers["with_job"].port, "acme")
    for name, server in servers.items():
        status, body = request(
            server.port,
            "POST",
            "/api/v1/suppliers",
            host="acme.localhost",
            token=token,
            body={"name": "Check Co.", "country": "DE", "currency": "EUR"},
        )
        if status != 201:
            raise BenchFailed(f"{name}: POST /api/v1/suppliers answered {status}: {body!r}")
    results: dict[str, list[float]] = {name: [] for name in servers}
    for server in servers.values():
        _wrk_post(server.port, token, 2, log_dir)  # warm-up
    for _ in range(args.rounds):
        for name, server in servers.items():
            result = _wrk_post(server.port, token, args.duration, log_dir)
            if result.errors or result.socket_errors:
                raise BenchFailed(f"{name}: {result.errors} error responses, {result.socket_errors} socket errors")
            results[name].append(result.requests_per_second)
            print(f"  {name:12s} {result.requests_per_second:8.0f} req/s")
    medians = {name: statistics.median(values) for name, values in results.items()}
    return {
        "rounds": results,
        "median_rps": medians,
        "ratio": round(medians["with_job"] / medians["without_job"], 3),
        "target_ratio": TARGET_WRITE_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="jobs per second for the lag run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the lag run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per write round")
    args = parser.parse_args(argv)
    redis.Redis.from_url(REDIS_URL).flushdb()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="merkato-bench-") as tmp:
        server_url, where = stack.enter_context(database_server())
        owner_url = stack.enter_context(throwaway_database(server_url))
        demo = asyncio.run(seed(owner_url))
        log_dir = Path(tmp)
        print(f"database: {where}; broker: {REDIS_URL}")
        print(f"lag: {args.rate:g} jobs/s for {args.seconds:g}s through a worker process ...")
        lag = measure_lag(stack, owner_url, demo.tenants["acme"].id, args, log_dir)
        summary = f"p50 {lag['p50_ms']} ms, p99 {lag['p99_ms']} ms, max {lag['max_ms']} ms"
        print(f"  {lag['jobs']} jobs, each ran once: {summary}")
        print("write throughput, POST /api/v1/suppliers with and without its job:")
        asyncio.run(without_supplier_limit(owner_url, demo.tenants["acme"].id))
        writes = measure_writes(stack, owner_url, args, log_dir)
        verdict = "meets" if writes["ratio"] >= TARGET_WRITE_RATIO else "BELOW"
        print(f"ratio with/without job: {writes['ratio']} ({verdict} the target of {TARGET_WRITE_RATIO})")
        report = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(),
            "lag": lag,
            "writes": writes,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "outbox.json").write_text(json.dumps(report, indent=2))
        print(f"written: {RESULTS / 'outbox.json'}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
