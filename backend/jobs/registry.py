"""The one registry of job functions. A domain declares `@job("suppliers.send_reminder")` on an
`async def fn(session, **ids)` in its tasks.py; the function runs inside the transaction that
marks its outbox row done, with the job's tenant as context, so its effect and that mark commit
or vanish together. A job may also name what to do when it fails for good (`on_give_up`), run in
the transaction that records the failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

JobFn = Callable[..., Awaitable[None]]

REGISTRY: dict[str, JobFn] = {}
GIVE_UP: dict[str, JobFn] = {}


def job(name: str, *, on_give_up: JobFn | None = None) -> Callable[[JobFn], JobFn]:
    """`on_give_up(session, **args)`: after the last attempt failed, with the job's arguments."""
    if name.count(".") != 1:
        raise ValueError(f"job names are 'domain.verb', not {name!r}")

    def register(fn: JobFn) -> JobFn:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"job {name!r} is declared twice")
        REGISTRY[name] = fn
        if on_give_up is not None:
            GIVE_UP[name] = on_give_up
        return fn

    return register


async def call(name: str, session: AsyncSession, args: dict[str, Any]) -> None:
    await REGISTRY[name](session, **args)


async def give_up(name: str, session: AsyncSession, args: dict[str, Any]) -> None:
    if name in GIVE_UP:
        await GIVE_UP[name](session, **args)
