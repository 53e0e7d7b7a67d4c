"""The API keeps the promises of its OpenAPI document, for every kind of caller.

Schemathesis reads the app's OpenAPI document (the very one it serves, as a test here checks) and
sends generated requests (valid ones and deliberately invalid ones) to every operation, as each
staff role, a supplier user, a customer user and someone without a token. An operation a new
module adds joins the run by being in the document. Every answer must be documented (status, media type, body shape),
no input may cause a server error, input the document calls valid must not be refused as bad, and
input it calls invalid must be refused.

The run has a workspace of its own: the generated requests create suppliers, and would otherwise
change what other modules count in the demo workspaces (and use up their plan's supplier room). Its
app is its own too, on a database pool of its own: schemathesis calls an ASGI app from an event
loop of its own, which the session's pool (bound to the test loop) must not be used from, and the
app's per-address ceiling on logins counts this run's requests apart from every other module's.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import settings
from schemathesis import checks
from schemathesis.python.asgi import shutdown_lifespans

from backend.app import create_app
from backend.authz.roles import StaffRole
from backend.dev.demo import DEMO_PASSWORD
from backend.kit.ids import new_id
from backend.models import MembershipKind, TenantStatus
from backend.parties.service import PartyForm, create_customer, create_supplier
from tenants.context import TenantContext
from tenants.directory import create_tenant
from tenants.isolation import Database
from tests.fixtures.people import Login, add_login, remove_people
from tests.web.conftest import web_settings

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
]

ANONYMOUS = "anonymous"
SUPPLIER = "supplier"
CUSTOMER = "customer"
# every kind of caller: each staff role on its own, a supplier's and a customer's user, nobody
CALLERS = [*(role.value for role in StaffRole), SUPPLIER, CUSTOMER, ANONYMOUS]


@dataclass(frozen=True, slots=True)
class Workspace:
    slug: str
    logins: dict[str, Login]  # caller -> its login (none for the anonymous caller)

    @property
    def base_url(self) -> str:
        return f"http://{self.slug}.localhost"


@pytest.fixture(scope="module")
async def workspace(db: Database, owner_engine: Any) -> AsyncIterator[Workspace]:
    """A workspace of this module's own, with one supplier and one customer and a login per caller."""
    tenant_id = new_id()
    slug = f"contract-{secrets.token_hex(3)}"
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await create_tenant(session, slug=slug, name="Contract Check", tenant_id=tenant_id, status=TenantStatus.ACTIVE)
        supplier = await create_supplier(session, PartyForm(name="Contract Supplier", country="DE", currency="EUR"))
        customer = await create_customer(session, PartyForm(name="Contract Customer", country="US", currency="USD"))
    logins = {
        role.value: await add_login(db, tenant_id, f"{role.value}@{slug}.test", MembershipKind.STAFF, roles=[role])
        for role in StaffRole
    }
    logins[SUPPLIER] = await add_login(
        db, tenant_id, f"supplier@{slug}.test", MembershipKind.SUPPLIER, supplier_id=supplier.id
    )
    logins[CUSTOMER] = await add_login(
        db, tenant_id, f"customer@{slug}.test", MembershipKind.CUSTOMER, customer_id=customer.id
    )
    yield Workspace(slug=slug, logins=logins)
    await remove_people(owner_engine, logins.values())


@pytest.fixture(scope="module")
def contract_app(owner_url: str, workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    database = Database.connect(owner_url, pool_size=2)
    app = create_app(web_settings(Path(tmp_path_factory.mktemp("contract"))), database=database)
    # schemathesis runs the app's lifespan in its own event loop, so the pool is closed there too
    app.tenant.on_shutdown.append(database.dispose)
    yield app
    shutdown_lifespans()


def _document() -> dict[str, Any]:
    """The OpenAPI document the app serves, built as the app builds it: the operations must be
    known when the tests are collected (one test each), before any database exists. Building the
    document reads no data, so the app is given a database it never reaches."""
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(web_settings(Path(data_dir)), database=Database.connect(NEVER_REACHED))
        document: dict[str, Any] = app.tenant.openapi_schema.to_schema()
    return document


NEVER_REACHED = "postgresql://nobody@127.0.0.1:1/none"
DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def tokens(contract_app: Any, workspace: Workspace) -> dict[str, str]:
    """A bearer token per caller, asked for the way a client asks (they last longer than the run)."""
    ask = schema["/api/v1/token"]["POST"]
    found = {}
    for caller, login in workspace.logins.items():
        response = ask.Case(body={"email": login.email, "password": DEMO_PASSWORD}).call(
            base_url=workspace.base_url, app=contract_app
        )
        assert response.status_code == 200, response.text
        found[caller] = response.json()["access_token"]
    return found


async def test_the_document_fuzzed_is_the_one_served(app: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://acme.localhost") as client:
        served = await client.get("/api/v1/schema/openapi.json")
    assert served.json() == DOCUMENT


@schema.parametrize()
# 25 examples per operation and caller keep the whole run within seconds; no example database
# (.hypothesis/): every run starts from a fresh workspace anyway
@settings(max_examples=25, deadline=None, database=None)
def test_every_answer_is_documented(case: Any, contract_app: Any, tokens: dict[str, str], workspace: Workspace) -> None:
    """Each generated request is sent as every caller. One that carries no credentials anyway is
    sent once, without a token: to an operation that asks for none (logging in), or when the case
    leaves the token out on purpose (an invalid request that must be refused)."""
    needs_no_credentials = {} in case.operation.definition.raw.get("security", [])
    token_left_out = case.operation.schema.is_security_param_negated(case)
    callers = [ANONYMOUS] if needs_no_credentials or token_left_out else CALLERS
    for caller in callers:
        headers = {"authorization": f"Bearer {tokens[caller]}"} if caller != ANONYMOUS else {}
        try:
            case.call_and_validate(base_url=workspace.base_url, headers=headers, checks=CHECKS, app=contract_app)
        except Exception as failure:
            failure.add_note(f"sent as: {caller}")
            raise
