"""Real worker processes, a real broker (Redis, or RabbitMQ) and bounded waits, for the delivery
tests of tests/jobs.

Workers run dramatiq's own command line with the worker entry tests.jobs.worker_entry:setup, the
way `merkato worker` runs it (started through tests/jobs/launch.py, which only imports the backend
before dramatiq forks). Each command gets its own process group, so that a test can kill -9 the
whole of it, as a crashed machine would, or one worker process of it; every group a test started
is killed when the test ends, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import UUID

import pika
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.jobs.broker import QUEUE
from backend.jobs.outbox import enqueue
from tenants.context import TenantContext
from tenants.isolation import Database

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")

READY = "Worker process is ready for action."
READY_PID = re.compile(r"\[PID (\d+)\].*" + re.escape(READY))

# Under load (2 cores shared with PostgreSQL, Redis and the test itself) one worker process
# needs several seconds to import the backend: generous, but bounded.
BOOT_TIMEOUT = 90.0


async def wait_for(what: str, check: Callable[[], Awaitable[T | None]], *, within: float, interval: float = 0.2) -> T:
    """Poll `check` until it returns something other than None/False; fail after `within` s."""
    deadline = time.monotonic() + within
    last: T | None = None
    while True:
        last = await check()
        if last is not None and last is not False:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what} (last: {last!r})")
        await asyncio.sleep(interval)


# --- processes ----------------------------------------------------------------------------------


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def kill_group(pgid: int, *, timeout: float = 20.0) -> None:
    """kill -9 every process of the group and wait until none is left running."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _group_members(pgid):
        if time.monotonic() >= deadline:
            raise AssertionError(f"process group {pgid} still alive {timeout:.0f} s after SIGKILL")
        time.sleep(0.05)


@dataclass
class WorkerGroup:
    """One `python -m dramatiq` command: a parent and its worker processes, one process group."""

    process: subprocess.Popen[bytes]
    log: Path
    processes: int

    @property
    def pgid(self) -> int:
        return self.process.pid

    def ready_pids(self) -> list[int]:
        return [int(match.group(1)) for match in READY_PID.finditer(self.log.read_text(errors="replace"))]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def wait_ready(self, within: float = BOOT_TIMEOUT) -> None:
        async def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"workers exited with {self.process.returncode}:\n{self.log_tail()}")
            return len(self.ready_pids()) >= self.processes

        try:
            await wait_for(f"{self.processes} worker processes to boot", ready, within=within)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- worker log ---\n{self.log_tail()}") from None

    def kill(self) -> None:
        """kill -9 the whole group: the parent and every worker process at once."""
        kill_group(self.pgid)
        self.process.wait(timeout=10)

    def kill_one_worker(self) -> int:
        """kill -9 one worker process; dramatiq's parent then stops the others and exits."""
        pid = self.ready_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid


@dataclass
class Workers:
    """Starts worker groups for one test and kills every one of them at the end."""

    env: dict[str, str]
    logs: Path
    groups: list[WorkerGroup] = field(default_factory=list)

    def start(self, *, processes: int = 2, threads: int = 4, env: Mapping[str, str] | None = None) -> WorkerGroup:
        log = self.logs / f"workers-{len(self.groups)}.log"
        command = [
            sys.executable,
            "-m",
            "tests.jobs.launch",  # dramatiq's own command line (see there why not `-m dramatiq`)
            "tests.jobs.worker_entry:setup",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            # a stopping sibling of a killed worker should not wait long for its jobs
            "--worker-shutdown-timeout",
            "2000",
        ]
        with log.open("wb") as output:
            output.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] starting {' '.join(command[1:])}\n".encode())
            output.flush()
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the workers it forks
            )
        group = WorkerGroup(process=process, log=log, processes=processes)
        self.groups.append(group)
        return group

    async def started(
        self, *, processes: int = 2, threads: int = 4, env: Mapping[str, str] | None = None
    ) -> WorkerGroup:
        group = self.start(processes=processes, threads=threads, env=env)
        await group.wait_ready()
        return group

    def kill_all(self) -> None:
        for group in self.groups:
            kill_group(group.pgid)
            if group.process.poll() is None:
                group.process.wait(timeout=10)


def worker_env(owner_url: str, broker_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of `merkato worker` pointed at the test database and the test Redis."""
    env = {
        name: value
        for name, value in os.environ.items()
        # nothing of the developer's own configuration may leak into the workers
        if not name.startswith(("MERKATO_", "DATABASE_", "BROKER_", "TEST_DATABASE_", "CHAOS_"))
    }
    env.update(
        DATABASE_URL=owner_url,
        BROKER_URL=broker_url,
        MERKATO_ENV="test",
        MERKATO_SECRET_KEY="tests-jobs-secret-key-0123456789-abcdefghijklmnop",
        MERKATO_DATA_DIR=str(data_dir),
        MERKATO_JOB_REPUBLISH_SECONDS=str(REPUBLISH_SECONDS),
        MERKATO_JOB_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        MERKATO_JOB_RETRY_SECONDS=str(RETRY_SECONDS),
        PYTHONUNBUFFERED="1",
    )
    return env


REPUBLISH_SECONDS = 3
MAX_ATTEMPTS = 3
RETRY_SECONDS = 1


# --- the brokers ----------------------------------------------------------------------------------


class BrokerUnderTest(Protocol):
    """What a delivery test asks of the broker it runs on, whichever that is."""

    url: str  # BROKER_URL for the workers and the publisher
    # RabbitMQ hands a dead consumer's unacknowledged messages to the others as soon as its
    # connection drops; dramatiq's Redis broker only after a heartbeat timeout far longer than the
    # relay's republish delay, so there the relay is what delivers them again.
    requeues_at_once: bool

    def clear(self) -> None:
        """Drop every queued message of the job queue."""

    def queued(self) -> int:
        """Messages waiting in the job queue."""

    def in_flight(self) -> int | None:
        """Messages fetched by some worker and not acked yet (what a dead worker takes down with
        it), or None where the broker does not tell (AMQP has no such count)."""


@dataclass
class RedisUnderTest:
    """The run's private Redis (tests/fixtures/services.py): nobody else's queues live in it."""

    url: str
    client: redis.Redis = field(init=False)
    requeues_at_once: bool = False

    def __post_init__(self) -> None:
        self.client = redis.Redis.from_url(self.url)

    def clear(self) -> None:
        self.client.flushdb()

    def queued(self) -> int:
        return int(self.client.llen(f"dramatiq:{QUEUE}"))

    def in_flight(self) -> int:
        keys = self.client.scan_iter(match=f"dramatiq:__acks__.*.{QUEUE}")
        return sum(int(self.client.scard(key)) for key in keys)

    def close(self) -> None:
        self.client.close()


# Held, exclusively, by the one test run that uses the RabbitMQ server's job queue right now.
RABBITMQ_LOCK = "merkato-tests-lock"
RABBITMQ_LOCK_WAIT = 600.0


@dataclass
class RabbitmqUnderTest:
    """A RabbitMQ server that others may use too: its job queue is this run's only while the run
    holds the lock queue (an exclusive queue, which RabbitMQ gives one connection at a time) and
    no worker of anyone else consumes from it."""

    url: str
    lock: pika.BlockingConnection
    broker: RabbitmqBroker
    requeues_at_once: bool = True

    def clear(self) -> None:
        # Workers killed a moment ago: RabbitMQ puts back what they held once it sees their
        # connections gone, which may be after the kill returned; purge after that, not before.
        deadline = time.monotonic() + 30
        while self.consumers() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.broker.flush(QUEUE)

    def queued(self) -> int:
        return self.broker.get_queue_message_counts(QUEUE)[0]

    def in_flight(self) -> None:
        return None

    def consumers(self) -> int:
        """Workers consuming the job queue now (0 if it does not exist yet)."""
        channel = self.lock.channel()
        try:
            return int(channel.queue_declare(QUEUE, passive=True).method.consumer_count)
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code == 404:
                return 0
            raise
        finally:
            if channel.is_open:
                channel.close()

    def close(self) -> None:
        self.broker.close()
        self.lock.close()  # and with it the lock queue


def connect_rabbitmq(url: str) -> pika.BlockingConnection | None:
    """A connection to the AMQP server at `url`, or None if none answers there."""
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.socket_timeout = 3
    # Held idle for the whole test, so no heartbeat may time it out (which would drop the lock).
    parameters.heartbeat = 0
    try:
        return pika.BlockingConnection(parameters)
    except pika.exceptions.AMQPConnectionError:
        return None


def lock_rabbitmq(url: str, connection: pika.BlockingConnection) -> RabbitmqUnderTest:
    """Wait until no other test run holds the lock queue, then hold it on `connection`."""
    deadline = time.monotonic() + RABBITMQ_LOCK_WAIT
    while True:
        channel = connection.channel()
        try:
            channel.queue_declare(RABBITMQ_LOCK, exclusive=True, auto_delete=True)
            return RabbitmqUnderTest(url=url, lock=connection, broker=RabbitmqBroker(url=url))
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code != 405:  # RESOURCE_LOCKED: another run holds it
                raise
        if time.monotonic() >= deadline:
            raise AssertionError(f"another test run held {RABBITMQ_LOCK} at {url} for {RABBITMQ_LOCK_WAIT:.0f} s")
        time.sleep(1)


# --- the database, as the owner sees it -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    id: UUID
    tenant_id: UUID
    actor: str
    key: str | None
    status: str
    attempts: int
    last_error: str | None
    run_at: float  # epoch seconds, PostgreSQL's clock
    published_at: float | None
    created_at: float


@dataclass(frozen=True, slots=True)
class Effect:
    key: str
    tenant_id: UUID
    outbox_id: UUID | None
    worker_pid: int
    at: float


async def outbox_rows(owner: AsyncEngine, actor_prefix: str = "testjobs.") -> dict[str, Row]:
    """Test jobs by key (keys are unique per tenant and the tests make them unique overall)."""
    async with owner.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT id, tenant_id, actor, key, status, attempts, last_error, extract(epoch FROM run_at),"
                " extract(epoch FROM published_at), extract(epoch FROM created_at)"
                " FROM outbox WHERE actor LIKE :prefix || '%'"
            ),
            {"prefix": actor_prefix},
        )
        rows = [
            Row(row_id, tenant, actor, key, status, attempts, error, float(run), pub and float(pub), float(created))
            for row_id, tenant, actor, key, status, attempts, error, run, pub, created in result
        ]
    # periodic jobs share their period's key across tenants: theirs are told apart as their effects are
    by_key = {
        f"{row.key}@{row.tenant_id}" if (row.key or "").startswith("periodic:") else str(row.key): row for row in rows
    }
    assert len(by_key) == len(rows), "test job keys must be unique across tenants"
    return by_key


async def effects(owner: AsyncEngine) -> list[Effect]:
    async with owner.connect() as connection:
        result = await connection.execute(
            text("SELECT key, tenant_id, outbox_id, worker_pid, extract(epoch FROM at) FROM chaos.effects")
        )
        return [Effect(key, tenant, outbox, pid, float(at)) for key, tenant, outbox, pid, at in result]


async def deliveries(owner: AsyncEngine, actor_prefix: str = "testjobs.") -> dict[str, int]:
    """What the recorded deliveries came to: done, skipped (a redelivery), retry, failed."""
    async with owner.connect() as connection:
        result = await connection.execute(
            text("SELECT outcome, count(*) FROM chaos.deliveries WHERE actor LIKE :prefix || '%' GROUP BY 1"),
            {"prefix": actor_prefix},
        )
        return {outcome: int(count) for outcome, count in result}


async def done_twice(owner: AsyncEngine, actor_prefix: str = "testjobs.") -> list[UUID]:
    """Jobs whose effect two deliveries each recorded as done: a job that ran twice. (Counting
    effects cannot tell: their key is a primary key, a second insert would merely fail.)"""
    async with owner.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT outbox_id FROM chaos.deliveries WHERE actor LIKE :prefix || '%' AND outcome = 'done'"
                " GROUP BY outbox_id HAVING count(*) > 1"
            ),
            {"prefix": actor_prefix},
        )
        return list(result.scalars())


async def db_now(owner: AsyncEngine) -> float:
    async with owner.connect() as connection:
        return float(await connection.scalar(text("SELECT extract(epoch FROM clock_timestamp())")) or 0)


async def is_locked(owner: AsyncEngine, outbox_id: UUID) -> bool:
    """Whether some transaction holds the row's lock (a worker running it)."""
    async with owner.connect() as connection:
        free = await connection.scalar(
            text("SELECT id FROM outbox WHERE id = :id FOR UPDATE SKIP LOCKED"), {"id": outbox_id}
        )
        await connection.rollback()
    return free is None


# --- writing jobs -------------------------------------------------------------------------------


async def enqueue_jobs(
    db: Database, tenant_id: UUID, effects: list[str], actor: str = "testjobs.record", batch: int = 100, **args: Any
) -> dict[str, UUID]:
    """Enqueue one job per effect name (also its idempotency key), `batch` per transaction."""
    ids: dict[str, UUID] = {}
    for start in range(0, len(effects), batch):
        async with db.transaction(TenantContext.system(tenant_id)) as session:
            for effect in effects[start : start + batch]:
                ids[effect] = await enqueue(session, actor, key=effect, effect=effect, **args)
    return ids


def commit_then_die(env: Mapping[str, str], tenant_id: UUID, effects: list[str]) -> subprocess.Popen[bytes]:
    """Start a process that commits these jobs and is killed right after the commit."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.commit_then_die", str(tenant_id), *effects],
        cwd=REPO,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
