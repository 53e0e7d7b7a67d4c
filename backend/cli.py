"""The `merkato` command: serve, worker, db upgrade|revision, tenants, users and demo.

With backend/app.py it is one of the two places that wire everything together. It resolves the
database once (DATABASE_URL, else the embedded PostgreSQL under MERKATO_DATA_DIR, which it keeps
at the latest migration because it is the command's own), and it turns every refusal — bad
input, a missing or malformed setting — into one line on stderr and exit code 2, after rolling
back anything it had started to write.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import click
import uvicorn
from sqlalchemy.exc import IntegrityError

from backend import migrate
from backend.accounts.service import PersonForm, add_person
from backend.auth import identities
from backend.auth.identities import normalize_email
from backend.auth.links import password_errors
from backend.authz.roles import StaffRole
from backend.billing.gateway import StripeGateway
from backend.kit.db import to_async_url
from backend.kit.forms import CURRENCIES, InvalidForm
from backend.kit.i18n import DEFAULT_LOCALE, LOCALES
from backend.kit.ids import new_id
from backend.models import MembershipKind, Tenant
from backend.parties.repository import CustomerRepository, PartyRepository, SupplierRepository
from backend.settings import DEVELOPMENT_PORT, Settings, SettingsError, get_settings
from tenants.context import TenantContext
from tenants.directory import SlugRejected, TenantDirectory, create_tenant
from tenants.isolation import Database

T = TypeVar("T")


# What connecting with a wrong DATABASE_URL raises (asyncpg's errors reach us unwrapped).
UNREACHABLE = (OSError, asyncpg.InvalidCatalogNameError, asyncpg.InvalidAuthorizationSpecificationError)

# The command-line option behind each field of a service's form, for error messages.
OPTION_OF_FIELD = {"email": "--email", "full_name": "--name", "password": "--password", "roles": "--role"}


class Refused(click.ClickException):
    """Bad input or configuration: one line on stderr, exit code 2, nothing written."""

    exit_code = 2


class _Merkato(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        # Settings are read in the group callback and again by code the commands call; a bad
        # value is the operator's mistake, not a crash, so it never shows a traceback.
        try:
            return super().invoke(ctx)
        except SettingsError as error:
            raise Refused(str(error)) from None


@click.group(cls=_Merkato)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Merkato: one platform on which a company works with its suppliers and its customers."""
    # Read the environment as it is now: tests invoke the command many times in one process.
    get_settings.cache_clear()
    ctx.obj = get_settings()


# --- the database -------------------------------------------------------------------------------


def owner_url(settings: Settings, *, migrate_first: bool = False) -> str:
    """The owner URL: DATABASE_URL, else the embedded server (started for this process if needed).

    The embedded database belongs to this command, so it is always brought to the latest
    migration; a configured one only when the caller asks.
    """
    url = settings.database_url
    if url is None:
        # a development tool (backend/dev), loaded only when no database is configured: a
        # production process never imports it (the import-linter contract lets only this module)
        from backend.dev.embedded import embedded_database_url

        url = embedded_database_url(settings.data_dir)
        migrate_first = True
    try:
        to_async_url(url)
    except ValueError as error:
        raise Refused(str(error)) from None
    if migrate_first:
        with reaching_database():
            migrate.upgrade(url)
    return url


@contextmanager
def reaching_database() -> Iterator[None]:
    try:
        yield
    except UNREACHABLE as error:
        raise Refused(f"cannot use the database: {error}") from None


def export_database(url: str) -> None:
    """Hand the resolved URL to child processes (uvicorn and dramatiq workers read the environment)."""
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()


def in_database(settings: Settings, url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` with a Database as the app role, on a fresh event loop, and close it after."""

    async def run() -> T:
        app_url = settings.database_app_url if settings.database_url else None
        db = Database.connect(url, app_url, pool_size=1)
        try:
            return await work(db)
        finally:
            await db.dispose()

    with reaching_database():
        return asyncio.run(run())


# --- serve and worker ---------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEVELOPMENT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="server processes")
@click.option("--fake-stripe", is_flag=True, help="demo billing against the project's fake Stripe (not in production)")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int, fake_stripe: bool) -> None:
    """Serve the web app over HTTP (behind a reverse proxy in production)."""
    export_database(owner_url(settings, migrate_first=not settings.production))
    if fake_stripe:
        if settings.production:
            raise Refused("--fake-stripe is for development: production talks to Stripe itself")
        _start_fake_stripe(port)
    # the app and its in-process worker read the settings again: links in e-mails name this port
    os.environ.setdefault("MERKATO_PUBLIC_PORT", str(port))
    get_settings.cache_clear()
    uvicorn.run(
        "backend.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # the client address (throttling) comes from X-Forwarded-For only when the reverse proxy sends it
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        # A spawned worker re-imports this command before it can answer uvicorn's first health
        # check; on a small, busy machine that takes longer than the 5 s default.
        timeout_worker_healthcheck=30,
    )


@main.command()
@click.option("--processes", default=os.cpu_count() or 1, show_default=True, type=click.IntRange(min=1))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1), help="per process")
@click.pass_obj
def worker(settings: Settings, processes: int, threads: int) -> None:
    """Run job workers fed by the broker at BROKER_URL."""
    # Imported here: the broker clients (redis, pika) would slow every other command down.
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser as dramatiq_arguments

    from backend.jobs import broker, runtime

    if not settings.broker_url:
        raise Refused("BROKER_URL is not set: in embedded mode the worker runs inside `merkato serve`")
    # Checked here so a malformed URL is one line, not a traceback in every worker process.
    broker.broker_for(settings.broker_url)
    export_database(owner_url(settings))
    arguments = [
        f"{runtime.__name__}:{runtime.setup.__name__}",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    ]
    sys.exit(dramatiq_main(dramatiq_arguments().parse_args(arguments)))  # type: ignore[no-untyped-call]


# --- billing ------------------------------------------------------------------------------------

FAKE_STRIPE_PORT = 12111
FAKE_STRIPE_KEY = "sk_test_merkato_fake"
FAKE_STRIPE_WEBHOOK_SECRET = "whsec_merkato_fake"


def _start_fake_stripe(app_port: int) -> None:
    """The fake Stripe in a thread of this process, its webhooks sent to this server, and the
    settings pointing the real SDK at it: signup and billing work end to end without Stripe."""
    from backend.dev.fake_stripe.server import start_in_thread

    fake = start_in_thread(
        port=FAKE_STRIPE_PORT,
        public_base=f"http://localhost:{FAKE_STRIPE_PORT}",
        endpoints=[(f"http://127.0.0.1:{app_port}/webhooks/stripe", FAKE_STRIPE_WEBHOOK_SECRET)],
    )
    os.environ.update(
        STRIPE_SECRET_KEY=FAKE_STRIPE_KEY, STRIPE_API_BASE=fake.url, STRIPE_WEBHOOK_SECRET=FAKE_STRIPE_WEBHOOK_SECRET
    )
    get_settings.cache_clear()
    created = asyncio.run(StripeGateway(get_settings()).sync_prices())
    click.echo(f"Fake Stripe on {fake.url} ({len(created)} prices created)")


@main.group()
def billing() -> None:
    """Stripe billing."""


@billing.command("sync-prices")
@click.pass_obj
def billing_sync_prices(settings: Settings) -> None:
    """Create in Stripe the products and prices of the plans it does not have yet (by lookup key)."""
    if not settings.billing_enabled:
        raise Refused("STRIPE_SECRET_KEY is not set: billing is off")
    created = asyncio.run(StripeGateway(settings).sync_prices())
    click.echo(f"Created {len(created)} prices: {', '.join(created)}" if created else "Stripe has every plan's prices.")


@main.group()
def dev() -> None:
    """Development helpers."""


@dev.command("fake-stripe")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=FAKE_STRIPE_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--webhook-url",
    default=f"http://127.0.0.1:{DEVELOPMENT_PORT}/webhooks/stripe",
    show_default=True,
    help="where its webhooks go",
)
@click.option("--webhook-secret", default=FAKE_STRIPE_WEBHOOK_SECRET, show_default=True)
def dev_fake_stripe(host: str, port: int, webhook_url: str, webhook_secret: str) -> None:
    """Run the fake Stripe in the foreground (for a server started separately: point it here with
    STRIPE_API_BASE, STRIPE_SECRET_KEY=sk_test_… and STRIPE_WEBHOOK_SECRET, then sync-prices)."""
    from backend.dev.fake_stripe.server import serve as serve_fake

    if get_settings().production:
        raise Refused("the fake Stripe is for development and tests")
    click.echo(f"STRIPE_API_BASE=http://{host}:{port} STRIPE_WEBHOOK_SECRET={webhook_secret}")
    serve_fake(host=host, port=port, endpoints=[(webhook_url, webhook_secret)])


# --- db -----------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Migrate the database to the latest revision."""
    owner_url(settings, migrate_first=True)
    click.echo("The database is at the latest revision.")


@db.command("revision")
@click.option("-m", "--message", required=True, help="what the migration does")
@click.option(
    "--autogenerate/--empty",
    default=True,
    show_default=True,
    help="compare the models with the database, or write an empty migration",
)
@click.pass_obj
def db_revision(settings: Settings, message: str, autogenerate: bool) -> None:
    """Write a new migration under migrations/versions."""
    url = owner_url(settings)
    with reaching_database():
        migrate.revision(url, message, autogenerate=autogenerate)


# --- tenants ------------------------------------------------------------------------------------


@main.group()
def tenants() -> None:
    """Tenants: the companies using Merkato."""


@tenants.command("create")
@click.option("--slug", required=True, help="host name part: {slug}.{MERKATO_BASE_DOMAIN}")
@click.option("--name", required=True, help="the company's name")
@click.option("--locale", default=DEFAULT_LOCALE, show_default=True, type=click.Choice(LOCALES))
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 code")
@click.pass_obj
def tenants_create(settings: Settings, slug: str, name: str, locale: str, currency: str) -> None:
    """Create a tenant."""
    name, currency = name.strip(), currency.strip().upper()
    if not name or len(name) > 200:
        raise Refused("--name: give the company's name (at most 200 characters)")
    if currency not in CURRENCIES:
        raise Refused(f"--currency: {currency!r} is not an ISO 4217 currency code")

    async def create(db: Database) -> Tenant:
        tenant_id = new_id()  # a tenant is founded in its own system context, the one RLS lets insert it
        async with db.transaction(TenantContext.system(tenant_id)) as session:
            return await create_tenant(
                session, slug=slug, name=name, locale=locale, currency=currency, tenant_id=tenant_id
            )

    try:
        tenant = in_database(settings, owner_url(settings), create)
    except SlugRejected:
        raise Refused(
            f"--slug: {slug!r} is reserved or malformed"
            " (lower-case letters, digits and inner hyphens, at most 40 characters)"
        ) from None
    except IntegrityError:
        # The unique slug is the truth (a check first would still race); the transaction rolled back.
        raise Refused(f"--slug: a tenant {slug.strip().lower()!r} already exists") from None
    click.echo(f"Created tenant {tenant.slug} ({tenant.name}), id {tenant.id}.")


@tenants.command("list")
@click.pass_obj
def tenants_list(settings: Settings) -> None:
    """List every tenant (as the database owner: the app role sees no tenant but its own)."""

    async def everyone() -> Sequence[Any]:
        connection = await asyncpg.connect(to_async_url(url).replace("+asyncpg", ""))
        try:
            return list(
                await connection.fetch("SELECT slug, status, locale, currency, name FROM tenants ORDER BY slug")
            )
        finally:
            await connection.close()

    url = owner_url(settings)
    with reaching_database():
        rows = asyncio.run(everyone())
    if not rows:
        click.echo("No tenants yet.")
    for row in rows:
        click.echo(f"{row['slug']:<40}  {row['status']:<9}  {row['locale']:<7}  {row['currency']}  {row['name']}")


# --- users --------------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """People with a login to a tenant."""


@users.command("create")
@click.option("--tenant", "slug", required=True, help="the tenant's slug")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True, help="the person's full name")
@click.option("--kind", required=True, type=click.Choice([kind.value for kind in MembershipKind]))
@click.option(
    "--role", "roles", multiple=True, type=click.Choice([role.value for role in StaffRole]), help="staff only"
)
@click.option("--party-number", help="the supplier's or customer's number (SUP-00001, CUS-00001)")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="initial password of a new login (asked for if omitted; an existing login keeps its own)",
)
@click.pass_obj
def users_create(
    settings: Settings,
    slug: str,
    email: str,
    full_name: str,
    kind: str,
    roles: tuple[str, ...],
    party_number: str | None,
    password: str,
) -> None:
    """Give a person a login to a tenant: staff, or a user of a supplier or customer."""
    membership_kind = MembershipKind(kind)
    if membership_kind == MembershipKind.STAFF and party_number:
        raise Refused("--party-number: staff belong to no supplier or customer")
    if membership_kind != MembershipKind.STAFF:
        if roles:
            raise Refused(f"--role: roles are for staff, not {kind} users")
        if not party_number:
            raise Refused(f"--party-number: say which {kind} the user belongs to")
    form = PersonForm(email=email.strip(), full_name=full_name.strip(), roles=list(roles))
    if errors := password_errors(password, password):
        raise Refused(f"--password: {errors['password']}")

    async def create(db: Database) -> bool:
        tenant = await TenantDirectory(db, ttl_seconds=0).find(slug.strip().lower())
        if tenant is None:
            raise Refused(f"--tenant: no active tenant {slug!r}")
        async with db.transaction(TenantContext.system(tenant.id)) as session:
            party_id = None
            if party_number:
                repository: PartyRepository[Any] = (
                    SupplierRepository(session)
                    if membership_kind == MembershipKind.SUPPLIER
                    else CustomerRepository(session)
                )
                party = await repository.by_number(party_number.strip().upper())
                party_id = party.id if party else None
                if party_id is None:
                    raise Refused(f"--party-number: {tenant.slug} has no {kind} {party_number!r}")
            identity = await identities.find(session, form.email)
            known = identity is not None and identity.has_password
            if not known and "email" not in form.errors(staff=False):
                # the operator vouches for a new login's address and gives it its first password
                identity = await identities.find_or_create(session, form.email, form.full_name)
                await identities.prove_address(session, identity)
                await identities.set_password(session, identity, password)
            await add_person(
                session,
                form,
                kind=membership_kind,
                supplier_id=party_id if membership_kind == MembershipKind.SUPPLIER else None,
                customer_id=party_id if membership_kind == MembershipKind.CUSTOMER else None,
                welcome=known,  # an existing login hears of its new access; a new one was given its password
            )
        return known

    try:
        known = in_database(settings, owner_url(settings), create)
    except InvalidForm as invalid:
        raise Refused(
            " ".join(f"{OPTION_OF_FIELD.get(field, field)}: {message}" for field, message in invalid.errors.items())
        ) from None
    note = " (an existing login: its password is unchanged)" if known else ""
    click.echo(f"Added {normalize_email(email)} to {slug.strip().lower()} as {kind}{note}.")


# --- demo ---------------------------------------------------------------------------------------


@main.command()
@click.pass_obj
def demo(settings: Settings) -> None:
    """Migrate, seed the demo tenants (idempotent) and print their logins."""
    if settings.production:
        raise Refused("demo data is never seeded when MERKATO_ENV=production")
    # a development tool, loaded only by this command: `serve` and `worker` never import it
    from backend.dev.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo

    in_database(settings, owner_url(settings, migrate_first=True), seed_demo)
    click.echo(f"Demo logins (password {DEMO_PASSWORD}):")
    for login in DEMO_LOGINS:
        url = f"http://{login.slug}.{settings.base_domain}:{DEVELOPMENT_PORT}{login.path}"
        click.echo(f"  {url:<40}  {login.email:<24}  {login.who}")
    if not settings.smtp_url:
        # one-time links (invitations, resets, registrations, signups) reach the operator only
        click.echo(f"No SMTP_URL: e-mails (with their links) go to {settings.data_dir / 'mail'} and the console.")
