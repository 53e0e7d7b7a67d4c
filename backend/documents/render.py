"""PDF rendering: a Jinja template in the reader's language, turned into PDF in a child process.

The template is rendered to HTML here; WeasyPrint runs in a child process (backend.documents.pdf),
for two reasons. It cannot be interrupted from another thread, so the only time limit that
always holds is killing a process. And the child is the only place that fetches anything,
through a fetcher that reads the project's static files and nothing else.

Children come from a forkserver that has WeasyPrint imported already (importing it takes a
second or two), rather than from forking the worker itself, whose other threads may hold locks
at the moment of the fork.

Only workers call this: PDFs are never made while a web request waits.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
from collections.abc import Mapping
from contextvars import copy_context
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, get_currency_name
from jinja2 import Environment, StrictUndefined

from backend.kit.i18n import current_locale, set_locale, translated_environment
from backend.settings import get_settings

log = logging.getLogger("merkato.documents")

TEMPLATES = Path(__file__).resolve().parent / "templates"
# What the child runs, named rather than imported so that this process never loads WeasyPrint.
PDF_WRITER = "backend.documents.pdf:write_pdf"


class RenderError(RuntimeError):
    """The document could not be rendered (the message says why; it is stored on the document)."""


class RenderTimeout(RenderError):
    """The render ran past its time limit and was killed."""


@dataclass(frozen=True, slots=True)
class Rendered:
    pdf: bytes
    fetched: list[str] = field(default_factory=list)  # URLs the fetcher served
    refused: list[str] = field(default_factory=list)  # URLs it refused


# --- running something in a child process, with a time limit ----------------------------------


@cache
def _processes() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    # takes effect when the forkserver starts, i.e. at this process's first render
    context.set_forkserver_preload([PDF_WRITER.partition(":")[0]])
    return context


def _child(connection: Connection, target: str, args: tuple[Any, ...]) -> None:
    try:
        module, _, name = target.partition(":")
        outcome: tuple[bool, Any] = (True, getattr(importlib.import_module(module), name)(*args))
    except BaseException as exc:  # noqa: BLE001  # whatever it was, the parent reports it
        outcome = (False, f"{type(exc).__name__}: {exc}")
    connection.send(outcome)
    connection.close()


def _receive(connection: Connection) -> tuple[bool, Any] | None:
    try:
        outcome: tuple[bool, Any] = connection.recv()
    except EOFError:  # the child died without a word
        return None
    return outcome


def run_isolated(target: str, args: tuple[Any, ...], *, timeout: float) -> Any:
    """Call `target` ("module:function") with `args` in a fresh child process and return what it
    returns (both travel by pickle). RenderError if it raised or died; RenderTimeout, with the
    child killed, if it has not answered after `timeout` seconds."""
    processes = _processes()
    receiver, sender = processes.Pipe(duplex=False)
    child = processes.Process(target=_child, args=(sender, target, args), name="merkato-pdf", daemon=True)
    child.start()
    sender.close()  # the child holds the only writer now, so its death reads as EOF here
    try:
        finished = receiver.poll(timeout)
        outcome = _receive(receiver) if finished else None
        if finished:
            child.join(5)  # it has answered (or died) and is on its way out
    finally:
        # also when the caller is interrupted: no render outlives its caller
        receiver.close()
        if child.is_alive():
            child.kill()
            child.join()
        exit_code = child.exitcode
        child.close()
    if not finished:
        raise RenderTimeout(f"rendering took longer than {timeout:g} seconds and was stopped")
    if outcome is None:
        raise RenderError(f"the renderer exited without a result (exit code {exit_code})")
    succeeded, payload = outcome
    if not succeeded:
        raise RenderError(payload)
    return payload


def html_to_pdf(html: str, *, timeout: float) -> Rendered:
    rendered = run_isolated(PDF_WRITER, (html,), timeout=timeout)
    if not isinstance(rendered, Rendered):
        raise RenderError(f"the renderer answered {type(rendered).__name__}, not a PDF")
    for url in rendered.refused:
        log.warning("a document asked for %.200s; refused", url)
    return rendered


# --- templates ------------------------------------------------------------------------------


def _date(value: date | datetime, timezone: str = "UTC") -> str:
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(timezone)).date()
    return format_date(value, format="long", locale=current_locale())


def _datetime(value: datetime, timezone: str = "UTC") -> str:
    return format_datetime(value, format="medium", tzinfo=ZoneInfo(timezone), locale=current_locale())


def _number(value: int | float) -> str:
    return format_decimal(value, locale=current_locale())


def _currency_name(code: str) -> str:
    return get_currency_name(code, locale=current_locale())


def _html_lang() -> str:
    return current_locale().replace("_", "-")  # zh_Hans -> zh-Hans, a BCP 47 tag


@cache
def environment() -> Environment:
    """Documents' own Jinja environment: gettext and Babel formatting in the document's locale."""
    # a missing value is a bug to see, not a blank on someone's PDF
    env = translated_environment(TEMPLATES, undefined=StrictUndefined)
    env.filters["date"] = _date
    env.filters["datetime"] = _datetime
    env.filters["number"] = _number
    env.filters["currency_name"] = _currency_name
    env.globals["html_lang"] = _html_lang
    return env


def render_html(template_name: str, context: Mapping[str, Any], locale: str) -> str:
    """The template as HTML in `locale`, leaving the caller's own locale alone."""

    def in_locale() -> str:
        set_locale(locale)
        return environment().get_template(template_name).render(**context)

    return copy_context().run(in_locale)


def render_pdf(template_name: str, context: Mapping[str, Any], locale: str, *, timeout: float | None = None) -> bytes:
    """The template as a PDF in `locale`. Blocks for the render (workers call it in a thread);
    RenderError if it fails, RenderTimeout past `timeout` (default MERKATO_PDF_TIMEOUT_SECONDS)."""
    html = render_html(template_name, context, locale)
    limit = timeout if timeout is not None else get_settings().pdf_timeout_seconds
    return html_to_pdf(html, timeout=limit).pdf
