"""Rendering: the time limit kills the child, a dead or failing child is a RenderError, and a
document comes out in the language asked for without changing the caller's own language."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.documents.render import RenderError, RenderTimeout, render_html, render_pdf, run_isolated
from backend.documents.tasks import Letterhead
from backend.kit.i18n import current_locale, set_locale
from backend.parties.tasks import SUPPLIER_SUMMARY_TEMPLATE, Contact, SupplierFacts, supplier_summary_context
from backend.settings import SettingsError, load_settings
from tests.documents.pdfs import pdf_text


def summary_context() -> dict[str, object]:
    supplier = SupplierFacts(
        number="SUP-00042",
        name="深圳华强电子有限公司",
        country="CN",
        currency="CNY",
        status="active",
        email="sales@huaqiang-dz.test",
        phone=None,
        tax_id=None,
        created_at=datetime(2026, 1, 5, 3, 0, tzinfo=UTC),
    )
    people = [Contact("Zhang Wei", "supplier@acme.test"), Contact("李娜", "li.na@huaqiang-dz.test")]
    return supplier_summary_context(supplier, people) | {
        "tenant": Letterhead("Acme Manufacturing", "America/Chicago"),
        "generated_at": datetime(2026, 3, 9, 15, 30, tzinfo=UTC),
    }


def test_a_render_past_its_time_limit_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(RenderTimeout, match="longer than 1 seconds"):
        run_isolated("tests.documents.slow:sleep", (str(pid_file), 120), timeout=1)
    assert time.monotonic() - started < 30  # nowhere near the 120 seconds the child wanted
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped: no such process any more


def test_a_render_within_its_time_limit_answers(tmp_path: Path) -> None:
    assert run_isolated("tests.documents.slow:sleep", (str(tmp_path / "pid"), 0), timeout=60) == "finished"


def test_a_failing_or_dying_child_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="ValueError"):
        run_isolated("builtins:int", ("not a number",), timeout=60)
    with pytest.raises(RenderError, match="exit code 3"):
        run_isolated("os:_exit", (3,), timeout=60)


def test_the_summary_speaks_the_requested_language_and_leaves_the_callers_alone() -> None:
    set_locale("en")
    chinese = render_html(SUPPLIER_SUMMARY_TEMPLATE, summary_context(), "zh_Hans")
    assert current_locale() == "en"
    english = render_html(SUPPLIER_SUMMARY_TEMPLATE, summary_context(), "en")

    assert '<html lang="zh-Hans">' in chinese
    assert "中国" in chinese  # the country, named by Babel in the document's language
    assert "人民币" in chinese
    assert "2026年1月4日" in chinese  # supplier since: 5 Jan 03:00 UTC is still 4 Jan in Chicago
    assert "China" in english
    assert "January 4, 2026" in english


def test_the_summary_pdf_carries_chinese_and_latin_text() -> None:
    text = pdf_text(render_pdf(SUPPLIER_SUMMARY_TEMPLATE, summary_context(), "zh_Hans", timeout=60))
    for expected in ("Acme Manufacturing", "深圳华强电子有限公司", "李娜", "SUP-00042", "中国", "supplier@acme.test"):
        assert expected in text


def test_the_time_limit_is_a_setting() -> None:
    base = {"MERKATO_SECRET_KEY": "k" * 48}
    assert load_settings(base).pdf_timeout_seconds == 30
    assert load_settings(base | {"MERKATO_PDF_TIMEOUT_SECONDS": "5"}).pdf_timeout_seconds == 5
    with pytest.raises(SettingsError, match="MERKATO_PDF_TIMEOUT_SECONDS"):
        load_settings(base | {"MERKATO_PDF_TIMEOUT_SECONDS": "0"})
