"""Running the fake Stripe: in a background thread on a free port (tests, the demo) or in the
foreground (`serve`, for the `merkato dev fake-stripe` command).

The thread owns its own event loop; the state is changed only there. From other threads use the
HTTP API, or `RunningFakeStripe.call`/`advance`, which run a coroutine on the server's loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterable
from types import TracebackType
from typing import Any, TypeVar

import uvicorn

from backend.dev.fake_stripe.app import create_fake_stripe_app
from backend.dev.fake_stripe.state import FakeStripe
from backend.dev.fake_stripe.webhooks import WebhookEndpoint

T = TypeVar("T")
EndpointSpec = WebhookEndpoint | tuple[str, str]


class RunningFakeStripe:
    """A fake Stripe served from a background thread. `url` is what the SDK's `base_addresses["api"]`
    and the control API use; `state` is the live FakeStripe (read freely, change via the server)."""

    def __init__(
        self,
        url: str,
        state: FakeStripe,
        server: uvicorn.Server,
        thread: threading.Thread,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.url = url
        self.state = state
        self._server = server
        self._thread = thread
        self._loop = loop

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the server's loop and wait for its result (from any other thread)."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("call() from the fake Stripe's own thread would wait for itself")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def call_async(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """`call` for async code: the caller's loop stays free (e.g. to serve webhooks it receives)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    def advance(self, seconds: int) -> list[str]:
        """Move the clock and deliver what fell due; the new events' ids, oldest first."""
        return self.call(self.state.advance(seconds))

    async def advance_async(self, seconds: int) -> list[str]:
        return await self.call_async(self.state.advance(seconds))

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningFakeStripe:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _prepare(state: FakeStripe | None, endpoints: Iterable[EndpointSpec]) -> FakeStripe:
    state = state or FakeStripe()
    for endpoint in endpoints:
        if isinstance(endpoint, WebhookEndpoint):
            state.webhooks.endpoints.append(endpoint)
        else:
            state.add_endpoint(endpoint[0], endpoint[1])
    return state


def start_in_thread(
    state: FakeStripe | None = None,
    *,
    public_base: str | None = None,
    endpoints: Iterable[EndpointSpec] = (),
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
) -> RunningFakeStripe:
    """Serve a fake Stripe (a new one unless given) from a daemon thread; returns once it accepts
    connections. `port=0` picks a free port. `public_base` is the origin put into the URLs a browser
    follows (Checkout, portal, invoices); it defaults to the server's own URL. `endpoints` are
    (url, signing secret) pairs or WebhookEndpoint objects added to the state."""
    state = _prepare(state, endpoints)
    # IPPROTO_TCP spelled out: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    url = (
        f"http://[{host}]:{sock.getsockname()[1]}"
        if family == socket.AF_INET6
        else f"http://{host}:{sock.getsockname()[1]}"
    )
    if public_base is not None or not state.public_base:
        state.public_base = (public_base or url).rstrip("/")
    server = uvicorn.Server(
        uvicorn.Config(
            create_fake_stripe_app(state),
            # in someone else's process: leave its logging configuration (and uvicorn's levels) alone
            log_config=None,
            log_level=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    loops: list[asyncio.AbstractEventLoop] = []
    failures: list[BaseException] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loops.append(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except Exception as exc:  # noqa: BLE001 - handed to the starting thread, which raises it
            failures.append(exc)
        finally:
            loop.close()
            sock.close()

    thread = threading.Thread(target=run, name="fake-stripe", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if failures or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the fake Stripe did not start on {url}") from (failures[0] if failures else None)
        time.sleep(0.01)
    return RunningFakeStripe(url, state, server, thread, loops[0])


def serve(
    host: str = "127.0.0.1",
    port: int = 12111,
    endpoints: Iterable[EndpointSpec] = (),
    *,
    public_base: str | None = None,
    state: FakeStripe | None = None,
) -> None:
    """Serve in the foreground until interrupted (Ctrl-C)."""
    state = _prepare(state, endpoints)
    shown_host = "localhost" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - only naming the bind address
    state.public_base = (public_base or f"http://{shown_host}:{port}").rstrip("/")
    uvicorn.run(create_fake_stripe_app(state), host=host, port=port, log_level="info")
