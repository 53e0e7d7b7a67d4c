"""Elevated steps stay named: request code reaches the SYSTEM context only through
backend/auth/steps.py (`elevated_step`), so every place that acts without a user's own context is
one grep away, and a page can never quietly switch the party wall off."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Where the SYSTEM context is made: the named helper for anonymous request steps, the job
# consumer and relay (which run platform work per tenant), the operator's command and the demo.
ALLOWED = {
    "backend/auth/steps.py",
    "backend/jobs/consumer.py",
    "backend/jobs/relay.py",
    "backend/cli.py",
    "backend/dev/demo.py",
    "tenants/context.py",  # where TenantContext.system itself is defined
}
MAKERS = ("TenantContext.system(", "party_kind=PartyKind.SYSTEM")


def _sources() -> list[Path]:
    return [path for root in ("backend", "portals", "tenants") for path in sorted((REPO / root).rglob("*.py"))]


def test_the_system_context_is_made_only_where_it_is_named() -> None:
    makers = {
        str(path.relative_to(REPO))
        for path in _sources()
        if any(maker in path.read_text(encoding="utf-8") for maker in MAKERS)
    }
    assert makers <= ALLOWED, f"elevate through backend.auth.steps.elevated_step instead: {sorted(makers - ALLOWED)}"
    assert "backend/auth/steps.py" in makers  # the scan reads the tree it means to


def test_no_page_elevates() -> None:
    pages = [path for path in _sources() if path.parts[len(REPO.parts)] == "portals"]
    assert pages
    for path in pages:
        source = path.read_text(encoding="utf-8")
        assert ".system(" not in source, path
