"""Demo data: two tenants, each with staff, supplier and customer logins, parties and items.

`make run` seeds it so a developer can log in to every portal straight away, and the test suite
seeds the very same data so every isolation test has two tenants, and two parties of each kind,
to keep apart. Seeding goes through the real services (create_tenant, create_supplier,
create_customer, add_person) inside tenant transactions as the app role, so it passes through the
same RLS walls as the running app and cannot create data the app could not. (One shortcut: the
identities are inserted with one shared password hash before add_person finds them, because
hashing each demo password with argon2 cost seconds on every test run.)

Idempotent: every piece is looked up by its natural key (slug, e-mail, party name, SKU) before it
is created, so a second run creates nothing, and a run interrupted half-way is completed by the
next one instead of failing on duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import PersonForm, add_person
from backend.auth import identities
from backend.auth.passwords import hash_password
from backend.kit.ids import new_id
from backend.models import Customer, Identity, Item, Membership, MembershipKind, Supplier, SupplierCategory, Tenant
from backend.parties.service import PartyForm, create_customer, create_supplier
from backend.suppliers.qualification import create_category, require_document
from backend.suppliers.setup import current_terms, publish_terms
from tenants.context import NO_CONTEXT, TenantContext
from tenants.directory import create_tenant
from tenants.isolation import Database, allow_lookup

DEMO_PASSWORD = "merkato-demo"

# --- what gets seeded ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Party:
    name: str
    country: str
    currency: str
    email: str
    phone: str
    tax_id: str = ""


@dataclass(frozen=True, slots=True)
class _Item:
    sku: str
    name: str
    unit: str
    price: str  # text, so the Decimal is exact
    currency: str


@dataclass(frozen=True, slots=True)
class _Category:
    code: str
    name: str
    documents: tuple[tuple[str, str, bool], ...]  # (document type, name, has an expiry date)


@dataclass(frozen=True, slots=True)
class _Person:
    local: str  # the part before @<slug>.test
    full_name: str
    kind: MembershipKind
    roles: tuple[str, ...] = ()
    party: int = 0  # index into the tenant's suppliers or customers (ignored for staff)


@dataclass(frozen=True, slots=True)
class _Tenant:
    slug: str
    name: str
    locale: str
    currency: str
    timezone: str
    suppliers: tuple[_Party, ...]
    customers: tuple[_Party, ...]
    items: tuple[_Item, ...]
    people: tuple[_Person, ...]
    categories: tuple[_Category, ...]  # what registering suppliers choose from
    supplier_terms: str


def _people(names: tuple[str, str, str, str, str, str, str]) -> tuple[_Person, ...]:
    """The same seven logins in every tenant, so tests can address them by role and position."""
    admin, buyer, viewer, supplier, supplier2, customer, customer2 = names
    return (
        _Person("admin", admin, MembershipKind.STAFF, ("owner", "admin")),
        _Person("buyer", buyer, MembershipKind.STAFF, ("buyer",)),
        _Person("viewer", viewer, MembershipKind.STAFF, ("viewer",)),
        _Person("supplier", supplier, MembershipKind.SUPPLIER, party=0),
        _Person("supplier2", supplier2, MembershipKind.SUPPLIER, party=1),
        _Person("customer", customer, MembershipKind.CUSTOMER, party=0),
        _Person("customer2", customer2, MembershipKind.CUSTOMER, party=1),
    )


_TENANTS: tuple[_Tenant, ...] = (
    _Tenant(
        slug="acme",
        name="Acme Manufacturing",
        locale="en",
        currency="USD",
        timezone="America/Chicago",
        suppliers=(
            _Party(
                "深圳华强电子有限公司", "CN", "CNY", "sales@huaqiang-dz.test", "+86 755 8321 0000", "91440300MA5G2Q7X1K"
            ),
            _Party("Müller Präzisionstechnik GmbH", "DE", "EUR", "vertrieb@mueller-praezision.test", "+49 711 2345670"),
            _Party(
                "Great Lakes Fastener Supply Co.", "US", "USD", "orders@greatlakes-fastener.test", "+1 216 555 0142"
            ),
            _Party("宁波海天塑料制品有限公司", "CN", "CNY", "export@haitian-plastics.test", "+86 574 8765 4321"),
            _Party("Rheinland Kabelwerk AG", "DE", "EUR", "info@rheinland-kabel.test", "+49 221 998877"),
        ),
        customers=(
            _Party("Northwind Retail Inc.", "US", "USD", "purchasing@northwind.test", "+1 206 555 0199"),
            _Party("Bergmann Maschinenbau GmbH", "DE", "EUR", "einkauf@bergmann-mb.test", "+49 89 1234567"),
            _Party("上海明远机电设备有限公司", "CN", "CNY", "caigou@mingyuan-jd.test", "+86 21 6234 5678"),
            _Party("Cascade Outdoor Equipment LLC", "US", "USD", "buying@cascade-outdoor.test", "+1 503 555 0117"),
        ),
        items=(
            _Item("AC-1001", "Brushless DC motor 24 V 200 W", "pcs", "86.50", "USD"),
            _Item("AC-1002", "Stainless hex bolt M8x30, box of 100", "box", "12.40", "USD"),
            _Item("AC-1003", "Aluminium extrusion 40x40 mm, 2 m", "pcs", "23.75", "USD"),
            _Item("AC-1004", "Motor controller PCB assembly, rev. C", "pcs", "41.20", "USD"),
            _Item("AC-1005", "Deep-groove ball bearing 6204-2RS", "pcs", "3.15", "USD"),
            _Item("AC-1006", "Injection-moulded housing, ABS, black", "pcs", "5.80", "USD"),
            _Item("AC-1007", "Industrial cable 4x1.5 mm², 100 m reel", "reel", "129.00", "USD"),
            _Item("AC-1008", "Shipping carton 400x300x200 mm", "pcs", "0.95", "USD"),
        ),
        categories=(
            _Category(
                "ELEC",
                "Electronic components",
                (("business_licence", "Business licence", True), ("iso_9001", "ISO 9001 certificate", True)),
            ),
            _Category(
                "MECH",
                "Mechanical parts and fasteners",
                (("business_licence", "Business licence", True), ("iso_9001", "ISO 9001 certificate", True)),
            ),
            _Category("PACK", "Packaging", (("business_licence", "Business licence", True),)),
            _Category(
                "LOGI",
                "Freight and logistics",
                (("business_licence", "Business licence", True), ("insurance", "Liability insurance", True)),
            ),
        ),
        supplier_terms=(
            "Acme Manufacturing — Supplier terms\n\n"
            "1. Orders. Only written purchase orders from Acme bind Acme.\n"
            "2. Delivery. Goods arrive on the confirmed date, with a delivery note quoting the PO number.\n"
            "3. Quality. Goods meet the agreed specification; certificates are kept current in the portal.\n"
            "4. Invoices. One invoice per delivery, in the PO currency, payable 60 days after receipt.\n"
            "5. Changes to bank details take effect only after Acme has confirmed them."
        ),
        people=_people(
            (
                "Alice Carter",
                "Ben Okafor",
                "Vera Lindqvist",
                "Zhang Wei",
                "Jonas Müller",
                "Nora Whitfield",
                "Klaus Bergmann",
            )
        ),
    ),
    _Tenant(
        slug="globex",
        name="Globex Trading",
        locale="zh_Hans",
        currency="CNY",
        timezone="Asia/Shanghai",
        suppliers=(
            _Party(
                "东莞恒通精密五金有限公司",
                "CN",
                "CNY",
                "sales@hengtong-hw.test",
                "+86 769 2288 1100",
                "91441900MA4W8K2P3N",
            ),
            _Party("苏州新辰光电科技有限公司", "CN", "CNY", "market@xinchen-opto.test", "+86 512 6655 7788"),
            _Party("Hamburg Maritime Logistik GmbH", "DE", "EUR", "dispo@hh-maritime.test", "+49 40 3344556"),
            _Party("Pacific Rim Components Inc.", "US", "USD", "sales@pacrim-components.test", "+1 408 555 0183"),
            _Party("杭州绿源包装材料有限公司", "CN", "CNY", "info@lvyuan-pack.test", "+86 571 8899 0011"),
        ),
        customers=(
            _Party("北京华联商贸有限公司", "CN", "CNY", "cg@hualian-trade.test", "+86 10 6543 2100"),
            _Party("广州顺达进出口有限公司", "CN", "CNY", "order@shunda-ie.test", "+86 20 8765 1234"),
            _Party("Keller Handelshaus GmbH", "DE", "EUR", "einkauf@keller-handel.test", "+49 30 7766554"),
            _Party("Summit Home Goods Corp.", "US", "USD", "vendors@summit-home.test", "+1 646 555 0175"),
        ),
        items=(
            _Item("GX-2001", "LED 面板灯 600x600 mm 40 W", "pcs", "168.00", "CNY"),
            _Item("GX-2002", "USB-C 快充充电器 65 W", "pcs", "89.50", "CNY"),
            _Item("GX-2003", "锂电池组 18650 4S2P", "pcs", "215.00", "CNY"),
            _Item("GX-2004", "不锈钢保温杯 500 ml", "pcs", "36.80", "CNY"),
            _Item("GX-2005", "Bluetooth speaker, waterproof IPX7", "pcs", "129.00", "CNY"),
            _Item("GX-2006", "瓦楞纸箱 五层 600x400x400 mm", "pcs", "7.20", "CNY"),
            _Item("GX-2007", "Smart plug, Wi-Fi, 16 A", "pcs", "45.90", "CNY"),
            _Item("GX-2008", "硅胶密封圈 Ø50 mm", "bag", "12.60", "CNY"),
        ),
        categories=(
            _Category(
                "DZ",
                "电子元器件",
                (("business_licence", "营业执照", True), ("iso_9001", "ISO 9001 认证证书", True)),
            ),
            _Category("WJ", "五金件", (("business_licence", "营业执照", True),)),
            _Category("BZ", "包装材料", (("business_licence", "营业执照", True),)),
        ),
        supplier_terms=(
            "环球贸易 供应商条款\n\n"
            "一、订单：仅以环球贸易发出的书面采购订单为准。\n"
            "二、交货：按确认的日期交货，送货单须注明采购订单号。\n"
            "三、质量：货物须符合约定规格；资质证书须在门户中保持有效。\n"
            "四、发票：每次交货开具一张发票，币种与采购订单一致，收货后 60 天付款。\n"
            "五、银行账户变更须经环球贸易确认后方可生效。"
        ),
        people=_people(("王芳", "李强", "陈静", "刘洋", "周敏", "赵磊", "黄丽")),
    ),
)

# --- what the caller gets back ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """One demo login, for `merkato demo` to print and for browser tests to log in with."""

    slug: str
    email: str
    portal: MembershipKind
    who: str  # a short description: the role, or the party the user belongs to

    @property
    def path(self) -> str:
        """Where the portal lives on the tenant host."""
        return "/" if self.portal == MembershipKind.STAFF else f"/{self.portal.value}"


def _who(spec: _Tenant, person: _Person) -> str:
    if person.kind == MembershipKind.SUPPLIER:
        return spec.suppliers[person.party].name
    if person.kind == MembershipKind.CUSTOMER:
        return spec.customers[person.party].name
    return ", ".join(person.roles)


DEMO_LOGINS: tuple[DemoLogin, ...] = tuple(
    DemoLogin(spec.slug, f"{person.local}@{spec.slug}.test", person.kind, _who(spec, person))
    for spec in _TENANTS
    for person in spec.people
)


@dataclass(frozen=True, slots=True)
class DemoTenant:
    id: UUID
    slug: str
    name: str
    supplier_ids: tuple[UUID, ...]  # in seeding order: [0] is supplier@, [1] is supplier2@
    customer_ids: tuple[UUID, ...]  # in seeding order: [0] is customer@, [1] is customer2@
    item_ids: tuple[UUID, ...]
    memberships: Mapping[str, UUID]  # e-mail -> membership id in this tenant
    identities: Mapping[str, UUID]  # e-mail -> global identity id

    def email(self, local: str) -> str:
        """`email("buyer")` -> "buyer@acme.test"."""
        return f"{local}@{self.slug}.test"

    def membership(self, local: str) -> UUID:
        return self.memberships[self.email(local)]

    def identity(self, local: str) -> UUID:
        return self.identities[self.email(local)]


@dataclass(frozen=True, slots=True)
class DemoData:
    tenants: Mapping[str, DemoTenant]  # by slug
    created: tuple[str, ...]  # what this run created ("tenant acme", "user buyer@acme.test", ...)

    @property
    def acme(self) -> DemoTenant:
        return self.tenants["acme"]

    @property
    def globex(self) -> DemoTenant:
        return self.tenants["globex"]


# --- seeding ------------------------------------------------------------------------------------


async def seed_demo(db: Database) -> DemoData:
    """Create whatever part of the demo data is missing and describe all of it."""
    created: list[str] = []
    tenants = {spec.slug: await _seed_tenant(db, spec, created) for spec in _TENANTS}
    return DemoData(tenants=MappingProxyType(tenants), created=tuple(created))


async def _seed_tenant(db: Database, spec: _Tenant, created: list[str]) -> DemoTenant:
    # The tenant row is global, so it is made outside any tenant; everything else then runs in
    # the tenant's own system context, where RLS lets it see and write that tenant only.
    async with db.transaction(NO_CONTEXT) as session:
        await allow_lookup(session, slug=spec.slug)
        found = await session.scalar(select(Tenant.id).where(Tenant.slug == spec.slug))
    tenant_id = found or new_id()
    if found is None:
        # a tenant is founded in its own system context (the only one RLS lets insert it)
        async with db.transaction(TenantContext.system(tenant_id)) as session:
            await create_tenant(
                session,
                slug=spec.slug,
                name=spec.name,
                locale=spec.locale,
                currency=spec.currency,
                timezone=spec.timezone,
                tenant_id=tenant_id,
            )
        created.append(f"tenant {spec.slug}")

    async with db.transaction(TenantContext.system(tenant_id)) as session:
        supplier_ids = tuple([await _supplier(session, tenant_id, party, created) for party in spec.suppliers])
        customer_ids = tuple([await _customer(session, tenant_id, party, created) for party in spec.customers])
        item_ids = tuple([await _item(session, tenant_id, item, created) for item in spec.items])
        await _onboarding(session, spec, created)
        memberships: dict[str, UUID] = {}
        identities: dict[str, UUID] = {}
        for person in spec.people:
            email = f"{person.local}@{spec.slug}.test"
            party_ids = supplier_ids if person.kind == MembershipKind.SUPPLIER else customer_ids
            party_id = None if person.kind == MembershipKind.STAFF else party_ids[person.party]
            memberships[email], identities[email] = await _member(session, tenant_id, email, person, party_id, created)

    return DemoTenant(
        id=tenant_id,
        slug=spec.slug,
        name=spec.name,
        supplier_ids=supplier_ids,
        customer_ids=customer_ids,
        item_ids=item_ids,
        memberships=MappingProxyType(memberships),
        identities=MappingProxyType(identities),
    )


def _form(party: _Party) -> PartyForm:
    return PartyForm(
        name=party.name,
        country=party.country,
        email=party.email,
        phone=party.phone,
        currency=party.currency,
        tax_id=party.tax_id,
    )


async def _supplier(session: AsyncSession, tenant_id: UUID, party: _Party, created: list[str]) -> UUID:
    existing = await session.scalar(
        select(Supplier.id).where(Supplier.tenant_id == tenant_id, Supplier.name == party.name)
    )
    if existing is not None:
        return existing
    created.append(f"supplier {party.name}")
    return (await create_supplier(session, _form(party))).id


async def _customer(session: AsyncSession, tenant_id: UUID, party: _Party, created: list[str]) -> UUID:
    existing = await session.scalar(
        select(Customer.id).where(Customer.tenant_id == tenant_id, Customer.name == party.name)
    )
    if existing is not None:
        return existing
    created.append(f"customer {party.name}")
    return (await create_customer(session, _form(party))).id


async def _item(session: AsyncSession, tenant_id: UUID, spec: _Item, created: list[str]) -> UUID:
    existing = await session.scalar(select(Item.id).where(Item.tenant_id == tenant_id, Item.sku == spec.sku))
    if existing is not None:
        return existing
    # No catalog service yet; items are plain rows of the tenant.
    item = Item(
        tenant_id=tenant_id,
        sku=spec.sku,
        name=spec.name,
        unit=spec.unit,
        list_price=Decimal(spec.price),
        currency=spec.currency,
    )
    session.add(item)
    await session.flush()
    created.append(f"item {spec.sku}")
    return item.id


async def _onboarding(session: AsyncSession, spec: _Tenant, created: list[str]) -> None:
    """The categories registering suppliers choose from, their checklists, and the terms."""
    for category_spec in spec.categories:
        if await session.scalar(select(SupplierCategory.id).where(SupplierCategory.code == category_spec.code)):
            continue
        category = await create_category(session, category_spec.code, category_spec.name)
        for document_type, name, expires in category_spec.documents:
            await require_document(session, category, document_type, name, expires=expires)
        created.append(f"category {category_spec.code}")
    if await current_terms(session) is None:
        await publish_terms(session, spec.supplier_terms, publisher=None)
        created.append("terms of supply")


@cache
def _demo_password_hash() -> str:
    return hash_password(DEMO_PASSWORD)


async def _member(
    session: AsyncSession, tenant_id: UUID, email: str, person: _Person, party_id: UUID | None, created: list[str]
) -> tuple[UUID, UUID]:
    """(membership id, identity id); add_person makes the membership and finds the identity by e-mail."""
    existing = (
        await session.execute(
            select(Membership.id, Identity.id)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(Membership.tenant_id == tenant_id, Identity.email == email)
        )
    ).first()
    if existing is not None:
        return existing[0], existing[1]
    identity = await identities.find_or_create(session, email, person.full_name)
    if not identity.has_password:
        # The operator vouches for the demo's addresses (they receive no mail to prove them with).
        # One hash serves every demo user: argon2 costs ~0.5 s a user, on every test run.
        await identities.prove_address(session, identity)
        await identities.set_password_hash(session, identity, _demo_password_hash())
    membership = await add_person(
        session,
        PersonForm(email=email, full_name=person.full_name, roles=list(person.roles)),
        kind=person.kind,
        supplier_id=party_id if person.kind == MembershipKind.SUPPLIER else None,
        customer_id=party_id if person.kind == MembershipKind.CUSTOMER else None,
        welcome=False,  # the demo's own people: nobody to tell
    )
    created.append(f"user {email}")
    return membership.id, membership.identity_id
