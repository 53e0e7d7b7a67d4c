"""No test skips but through tests/fixtures/services.py's `unavailable`, so that under CI=true a
suite missing its service or browser fails instead of passing by not running; and that helper
does fail there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures import services

TESTS = Path(__file__).resolve().parent
# pytest.skip / skipif / xfail / importorskip, unittest's skip decorators and skipTest
SKIPPING = re.compile(
    r"\b(?:pytest\.(?:skip|xfail|importorskip)|mark\.(?:skip|skipif|xfail)|skipTest|unittest\.skip)\b"
)


def test_every_skip_goes_through_the_one_helper() -> None:
    helper = Path(services.__file__).resolve()
    found = [
        f"{path.relative_to(TESTS.parent)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.resolve() not in (helper, Path(__file__).resolve())
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if SKIPPING.search(line)
    ]
    assert not found, "skip through tests.fixtures.services.unavailable instead:\n" + "\n".join(found)


def test_the_helper_searches_what_it_should() -> None:
    """The pattern above finds the ways there are to skip (else the test above proves nothing)."""
    for line in (
        'pytest.skip("no redis")',
        "@pytest.mark.skipif(True, reason='x')",
        "@pytest.mark.xfail",
        'pytest.importorskip("weasyprint")',
        "self.skipTest('x')",
        "@unittest.skip('x')",
    ):
        assert SKIPPING.search(line), line
    assert not SKIPPING.search("outcomes.get('skipped', 0)")


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_a_missing_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI=true: a suite may not skip"):
        services.unavailable("no redis-server here")
    # the RabbitMQ delivery test alone is reported as skipped even there
    with pytest.raises(pytest.skip.Exception, match="no AMQP server answers"):
        services.unavailable("no AMQP server answers", even_in_ci=True)


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_a_missing_service_skips_elsewhere(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="no redis-server here"):
        services.unavailable("no redis-server here")
