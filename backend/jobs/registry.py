"""The one registry of job functions. A domain declares `@job("suppliers.send_reminder")` on an
`async def fn(session, **ids)` in its tasks.py; the function runs inside the transaction that
marks its outbox row done, with the job's tenant as context, so its effect and that mark commit
or vanish together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

JobFn = Callable[..., Awaitable[None]]

REGISTRY: dict[str, JobFn] = {}


def job(name: str) -> Callable[[JobFn], JobFn]:
    if name.count(".") != 1:
        raise ValueError(f"job names are 'domain.verb', not {name!r}")

    def register(fn: JobFn) -> JobFn:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"job {name!r} is declared twice")
        REGISTRY[name] = fn
        return fn

    return register


async def call(name: str, session: AsyncSession, args: dict[str, Any]) -> None:
    await REGISTRY[name](session, **args)
