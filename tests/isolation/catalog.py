"""The RLS catalog lint: reads the live PostgreSQL catalog and lists what breaks tenant isolation.

Every rule of DESIGN.md §2 that can be read off the catalog is a function here returning a list of
problems (empty = fine), taking the schema to inspect so that the lint itself can be tested on a
throwaway schema full of deliberate mistakes. A tenant table is any table with a `tenant_id`
column: the rules follow the tables as they are added, nobody has to remember to list them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.kit.db import APP_ROLE, RELAY_ROLE

# Tables without tenant_id. Each one is reachable by every tenant's requests, so adding one is a
# decision to be made in review, here, and not by accident in a migration.
GLOBAL_TABLES = frozenset(
    {"tenants", "identities", "credentials", "apex_sessions", "account_links", "login_failures", "alembic_version"}
)
# Global tables the app role cannot reach at all; every other one has forced RLS (migration 0009).
UNREACHABLE_GLOBAL_TABLES = frozenset({"alembic_version"})

_TABLE_KINDS = "('r', 'p')"  # ordinary and partitioned tables


async def tenant_tables(connection: AsyncConnection, schema: str = "public") -> list[str]:
    """Tables of the schema that carry a tenant_id column, by name."""
    rows = await connection.execute(
        text(
            f"""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = :schema AND c.relkind IN {_TABLE_KINDS}
              AND EXISTS (SELECT FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
            ORDER BY c.relname
            """
        ),
        {"schema": schema},
    )
    return list(rows.scalars())


async def _lines(connection: AsyncConnection, sql: str, **params: object) -> list[str]:
    return list((await connection.execute(text(sql), params)).scalars())


# A CTE every rule starts from: the tenant tables with the attnum of their tenant_id column.
_TENANT_CTE = f"""
WITH tt AS (
    SELECT c.oid, c.relname, a.attnum AS tenant_attnum
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE n.nspname = :schema AND c.relkind IN {_TABLE_KINDS}
)
"""


# --- policies, parsed ------------------------------------------------------------------------
#
# A policy is read back with pg_get_expr and parsed by PostgreSQL's own parser (pglast), so rules
# compare expression trees, not text: a setting's name inside a string literal, a quoted column
# name, or a predicate with `OR true` beside it cannot pass for the predicate itself.

TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
PARTY_KIND = "(SELECT current_setting('app.party_kind', true))"
PARTY_ID = "(SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)"
IDENTITY = "(SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid)"
# DESIGN.md §2: the one tenant predicate, for USING and WITH CHECK, of every tenant table
TENANT_PREDICATE = f"tenant_id = {TENANT}"

# Noise of the parser's output that does not change what an expression means.
_POSITIONS = frozenset({"location", "list_start", "list_end", "rexpr_list_start", "rexpr_list_end"})


def expression(sql: str) -> Any:
    """An SQL boolean expression as a comparable tree: positions dropped, the `'x'::text` casts and
    `= ANY (ARRAY[...])` that pg_get_expr writes for `'x'` and `IN (...)` undone, nested ANDs and
    ORs flattened. Raises ValueError for anything but one expression."""
    try:
        statements = parse_sql(f"SELECT 1 WHERE {sql}")
    except ParseError as error:
        raise ValueError(f"not an expression: {sql!r}") from error
    if len(statements) != 1 or not isinstance(statements[0].stmt, ast.SelectStmt):
        raise ValueError(f"not one expression: {sql!r}")
    return _normal(statements[0].stmt.whereClause(skip_none=True))


def _normal(node: Any) -> Any:
    if isinstance(node, tuple | list):
        return tuple(_normal(item) for item in node)
    if not isinstance(node, dict):
        return node
    if "#" in node:  # an enum member
        return node["name"]
    kind = node.get("@")
    if kind == "TypeCast" and node["arg"].get("@") == "A_Const" and _names(node["typeName"]) in _TEXT:
        return _normal(node["arg"])
    normal = {key: _normal(value) for key, value in node.items() if key not in _POSITIONS}
    if kind == "ResTarget":  # the column alias pg_get_expr gives a scalar subquery
        normal.pop("name", None)
    if kind == "A_Expr" and normal["kind"] == "AEXPR_OP_ANY" and normal["rexpr"].get("@") == "A_ArrayExpr":
        normal["kind"], normal["rexpr"] = "AEXPR_IN", normal["rexpr"].get("elements", ())
    if kind == "BoolExpr":
        normal["args"] = tuple(
            part
            for arg in normal["args"]
            for part in (arg["args"] if arg.get("@") == "BoolExpr" and arg["boolop"] == normal["boolop"] else (arg,))
        )
    return normal


_TEXT = {("text",), ("pg_catalog", "text")}


def _names(type_name: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name["sval"] for name in type_name["names"])


def _terms(tree: Any, boolop: str) -> tuple[Any, ...]:
    """The top-level operands of an AND_EXPR or OR_EXPR (the tree itself if it is not one)."""
    if isinstance(tree, dict) and tree.get("@") == "BoolExpr" and tree["boolop"] == boolop:
        return tuple(tree["args"])
    return (tree,)


@dataclass(frozen=True)
class Policy:
    table: str
    name: str
    permissive: bool
    command: str  # r, a, w, d or * (all)
    roles: tuple[str, ...]  # () = PUBLIC
    using: str | None
    check: str | None

    def trees(self) -> list[tuple[str, Any]]:
        """(clause, parsed tree) of USING and WITH CHECK, where given."""
        return [(clause, expression(sql)) for clause, sql in (("USING", self.using), ("WITH CHECK", self.check)) if sql]


async def policies(connection: AsyncConnection, schema: str = "public") -> list[Policy]:
    """Every policy on the schema's tenant tables, as PostgreSQL deparses it."""
    rows = await connection.execute(
        text(
            _TENANT_CTE
            + """
            SELECT tt.relname, p.polname, p.polpermissive, CAST(p.polcmd AS text),
                   ARRAY(SELECT rolname FROM pg_roles WHERE oid = ANY(p.polroles) ORDER BY 1),
                   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
            FROM tt JOIN pg_policy p ON p.polrelid = tt.oid
            ORDER BY 1, 2
            """
        ),
        {"schema": schema},
    )
    return [
        Policy(table, name, permissive, command, tuple(roles), using, check)
        for table, name, permissive, command, roles, using, check in rows
    ]


def _tenant_bound(tree: Any) -> bool:
    """AND-ed with the tenant predicate, or (the apex chooser) with "no tenant set" and the
    identity's own rows."""
    terms = _terms(tree, "AND_EXPR")
    if expression(TENANT_PREDICATE) in terms:
        return True
    no_tenant = expression(f"{TENANT} IS NULL")
    return no_tenant in terms and any(_is_identity_match(term) for term in terms)


def _is_identity_match(term: Any) -> bool:
    """`<column> = app.identity_id`, for any one column of the row."""
    if not (isinstance(term, dict) and term.get("@") == "A_Expr" and term["kind"] == "AEXPR_OP"):
        return False
    column = term["lexpr"]
    return (
        column.get("@") == "ColumnRef"
        and len(column["fields"]) == 1
        and term == expression(f"{_identifier(column)} = {IDENTITY}")
    )


def _identifier(column_ref: dict[str, Any]) -> str:
    name: str = column_ref["fields"][0]["sval"]
    return '"' + name.replace('"', '""') + '"'


async def rls_problems(connection: AsyncConnection, schema: str = "public", relay_role: str = RELAY_ROLE) -> list[str]:
    """RLS enabled and forced, a permissive tenant policy for all commands, and no permissive policy
    that is not bound to the tenant, except one that applies to the relay role alone (whose reach
    relay_role_problems bounds)."""
    problems = await _lines(
        connection,
        _TENANT_CTE
        + """
        SELECT tt.relname || ': ' || problem
        FROM tt JOIN pg_class c ON c.oid = tt.oid,
        LATERAL (VALUES
            (NOT c.relrowsecurity, 'row level security is not enabled'),
            -- without FORCE the table owner (and so any owner-run code path) bypasses the policies
            (NOT c.relforcerowsecurity, 'row level security is not forced'),
            (NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = tt.oid), 'has no policy')
        ) AS checks(failed, problem)
        WHERE failed
        ORDER BY 1
        """,
        schema=schema,
    )
    found = await policies(connection, schema)
    tenant = expression(TENANT_PREDICATE)
    for table in await tenant_tables(connection, schema):
        if not any(
            policy.permissive
            and policy.command == "*"
            and policy.roles == ()
            and policy.using is not None
            and policy.check is not None
            and expression(policy.using) == tenant
            and expression(policy.check) == tenant
            for policy in found
            if policy.table == table
        ):
            problems.append(
                f"{table}: has no permissive tenant policy ({TENANT_PREDICATE} in USING and WITH CHECK, all commands)"
            )
    # Permissive policies are OR-ed: one that is not bound to the tenant opens the whole table to
    # every role it names. The relay's sweep needs exactly that, so a policy whose only role is the
    # relay is let through; naming any other role beside it, or PUBLIC, is not.
    for policy in found:
        if not policy.permissive or policy.roles == (relay_role,):
            continue
        for clause, tree in policy.trees():
            if not _tenant_bound(tree):
                problems.append(
                    f"{policy.table}: permissive policy {policy.name} is not bound to app.tenant_id ({clause})"
                )
    return sorted(problems)


# Columns that make a row belong to one supplier or customer of the tenant.
PARTY_COLUMNS = {"supplier": "supplier_id", "customer": "customer_id"}
PARTY_TABLES = {"suppliers": "supplier", "customers": "customer"}  # the parties themselves, keyed by id


def _party_arms(table: str, columns: set[str]) -> list[Any]:
    """The only terms a party policy of this table may OR together: staff and platform code, and
    each party kind matched on the table's own column for that kind."""
    arms = [expression(f"{PARTY_KIND} IN ('staff', 'system')"), expression(f"{PARTY_KIND} = 'system'")]
    for kind, column in PARTY_COLUMNS.items():
        key = "id" if PARTY_TABLES.get(table) == kind else column if column in columns else None
        if key:
            arms.append(expression(f"({PARTY_KIND} = '{kind}' AND {key} = {PARTY_ID})"))
    return arms


def _only(arms: list[Any], policy: Policy) -> bool:
    """USING and WITH CHECK are both given, and OR together nothing but these terms."""
    return all(
        sql is not None and all(term in arms for term in _terms(expression(sql), "OR_EXPR"))
        for sql in (policy.using, policy.check)
    )


async def party_problems(connection: AsyncConnection, schema: str = "public") -> list[str]:
    """Party-owned tables (the parties, and rows with a supplier_id or customer_id) carry a
    RESTRICTIVE party policy for all commands, whose USING and WITH CHECK are each an OR of the
    allowed terms only: the second wall behind the repositories' party scope (DESIGN.md §2)."""
    rows = await connection.execute(
        text(
            _TENANT_CTE + "SELECT tt.relname, a.attname FROM tt JOIN pg_attribute a ON a.attrelid = tt.oid"
            " WHERE a.attnum > 0 AND NOT a.attisdropped"
        ),
        {"schema": schema},
    )
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    found = await policies(connection, schema)
    problems = []
    for table, names in sorted(columns.items()):
        if table not in PARTY_TABLES and not names & set(PARTY_COLUMNS.values()):
            continue
        arms = _party_arms(table, names)
        restrictive = [p for p in found if p.table == table and not p.permissive and p.command == "*" and p.roles == ()]
        if not restrictive:
            problems.append(f"{table}: party-owned but has no RESTRICTIVE policy on app.party_kind")
        elif not any(_only(arms, policy) for policy in restrictive):
            named = ", ".join(policy.name for policy in restrictive)
            problems.append(
                f"{table}: RESTRICTIVE policy {named} is not the party predicate (staff, system, own party)"
            )
    return problems


async def key_problems(connection: AsyncConnection, schema: str = "public") -> list[str]:
    """A primary key exists, and it and every unique index/constraint lead with tenant_id."""
    return await _lines(
        connection,
        _TENANT_CTE
        + """
        SELECT tt.relname || ': has no primary key'
        FROM tt WHERE NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = tt.oid AND i.indisprimary)
        UNION ALL
        -- a global unique index answers "taken" across tenants: it leaks existence and blocks
        -- distribution by tenant_id
        SELECT tt.relname || ': unique index ' || ic.relname || ' does not start with tenant_id'
        FROM tt
        JOIN pg_index i ON i.indrelid = tt.oid AND (i.indisunique OR i.indisprimary)
        JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indkey[0] <> tt.tenant_attnum
        UNION ALL
        -- exclusion constraints are enforced across the whole table just like unique ones
        SELECT tt.relname || ': constraint ' || con.conname || ' does not start with tenant_id'
        FROM tt JOIN pg_constraint con ON con.conrelid = tt.oid AND con.contype IN ('p', 'u', 'x')
        WHERE con.conkey[1] <> tt.tenant_attnum
        ORDER BY 1
        """,
        schema=schema,
    )


async def foreign_key_problems(connection: AsyncConnection, schema: str = "public") -> list[str]:
    """A foreign key between two tenant tables leads with tenant_id on both sides.

    Otherwise a row could point at another tenant's row (the FK check runs without RLS).
    """
    return await _lines(
        connection,
        _TENANT_CTE
        + """
        SELECT src.relname || ': foreign key ' || con.conname || ' to ' || dst.relname
               || ' does not lead with tenant_id on both sides'
        FROM pg_constraint con
        JOIN tt src ON src.oid = con.conrelid
        JOIN tt dst ON dst.oid = con.confrelid
        WHERE con.contype = 'f'
          AND (con.conkey[1] <> src.tenant_attnum OR con.confkey[1] <> dst.tenant_attnum)
        ORDER BY 1
        """,
        schema=schema,
    )


async def global_table_problems(
    connection: AsyncConnection, schema: str = "public", allowed: frozenset[str] = GLOBAL_TABLES
) -> list[str]:
    """Tables without tenant_id are exactly the allow-listed global ones; no materialized views."""
    return await _lines(
        connection,
        f"""
        SELECT c.relname || ': has no tenant_id and is not an allow-listed global table'
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND c.relkind IN {_TABLE_KINDS}
          AND NOT EXISTS (SELECT FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
          AND NOT (c.relname = ANY(:allowed))
        UNION ALL
        -- materialized views cannot have RLS: whatever they hold, every reader sees
        SELECT c.relname || ': materialized view (RLS does not apply to it)'
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND c.relkind = 'm'
        ORDER BY 1
        """,
        schema=schema,
        allowed=sorted(allowed),
    )


async def global_rls_problems(
    connection: AsyncConnection, schema: str = "public", allowed: frozenset[str] = GLOBAL_TABLES
) -> list[str]:
    """Global tables carry no tenant_id for a tenant policy to guard, so each has RLS enabled and
    forced with policies of its own (readable only where the code path needs), or the app role
    has no privilege on it at all."""
    return await _lines(
        connection,
        f"""
        SELECT c.relname || ': ' || problem
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
        LATERAL (VALUES
            (NOT c.relrowsecurity, 'global table without row level security'),
            (NOT c.relforcerowsecurity, 'global table whose row level security is not forced'),
            (NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid), 'global table without a policy')
        ) AS checks(failed, problem)
        WHERE n.nspname = :schema AND c.relkind IN {_TABLE_KINDS} AND c.relname = ANY(:checked) AND failed
        UNION ALL
        SELECT c.relname || ': the app role has privileges on it'
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND c.relname = ANY(:unreachable)
          AND has_table_privilege(:app_role, c.oid, 'SELECT, INSERT, UPDATE, DELETE')
        ORDER BY 1
        """,
        schema=schema,
        checked=sorted(allowed - UNREACHABLE_GLOBAL_TABLES),
        unreachable=sorted(UNREACHABLE_GLOBAL_TABLES),
        app_role=APP_ROLE,
    )


async def view_problems(connection: AsyncConnection, schema: str = "public") -> list[str]:
    """Views run with their owner's rights unless security_invoker is on; the owner bypasses RLS."""
    rows = await connection.execute(
        text(
            """
            SELECT c.relname, coalesce(c.reloptions, '{}') FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = :schema AND c.relkind = 'v' ORDER BY 1
            """
        ),
        {"schema": schema},
    )
    invoker = re.compile(r"^security_invoker=(true|on|yes|1)$", re.IGNORECASE)
    return [
        f"{name}: view without security_invoker=true"
        for name, options in rows
        if not any(invoker.match(option) for option in options)
    ]


async def function_problems(connection: AsyncConnection, schema: str = "public") -> list[str]:
    """No SECURITY DEFINER function: it runs as its owner, who bypasses RLS."""
    return await _lines(
        connection,
        """
        SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || '): SECURITY DEFINER'
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = :schema AND p.prosecdef
        ORDER BY 1
        """,
        schema=schema,
    )


async def sequence_problems(connection: AsyncConnection, schema: str = "public") -> list[str]:
    """No sequence behind a tenant table: ids are app-made UUIDv7, human numbers come from counters.

    A sequence is shared by all tenants, so its values leak how much the others do.
    """
    return await _lines(
        connection,
        _TENANT_CTE
        + """
        SELECT tt.relname || ': owns sequence ' || s.relname
        FROM tt
        JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = tt.oid
                        AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        UNION ALL
        SELECT tt.relname || '.' || a.attname || ': identity column'
        FROM tt JOIN pg_attribute a ON a.attrelid = tt.oid AND a.attidentity <> '' AND NOT a.attisdropped
        UNION ALL
        SELECT tt.relname || '.' || a.attname || ': default uses nextval()'
        FROM tt
        JOIN pg_attrdef ad ON ad.adrelid = tt.oid
        JOIN pg_attribute a ON a.attrelid = tt.oid AND a.attnum = ad.adnum
        WHERE pg_get_expr(ad.adbin, ad.adrelid) LIKE '%nextval(%'
        ORDER BY 1
        """,
        schema=schema,
    )


async def role_problems(connection: AsyncConnection, role: str = APP_ROLE, schema: str = "public") -> list[str]:
    """The run-time role: no superuser, no BYPASSRLS, owns nothing, cannot create or TRUNCATE.

    An owner is exempt from its own table's policies unless FORCE is set, can ALTER them away,
    and TRUNCATE ignores RLS altogether.
    """
    exists = await connection.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :role"), {"role": role})
    if not exists:
        return [f"role {role} does not exist"]
    problems = await _lines(
        connection,
        _TENANT_CTE
        + """
        , r AS (SELECT oid, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = CAST(:role AS name))
        SELECT 'is superuser' FROM r WHERE rolsuper
        UNION ALL SELECT 'has BYPASSRLS' FROM r WHERE rolbypassrls
        UNION ALL
        SELECT 'owns relation ' || n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, r WHERE c.relowner = r.oid
        UNION ALL
        SELECT 'owns function ' || n.nspname || '.' || p.proname
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, r WHERE p.proowner = r.oid
        UNION ALL
        SELECT 'owns schema ' || n.nspname FROM pg_namespace n, r WHERE n.nspowner = r.oid
        UNION ALL
        SELECT 'owns type ' || t.typname FROM pg_type t, r WHERE t.typowner = r.oid
        UNION ALL
        SELECT 'owns database ' || d.datname FROM pg_database d, r WHERE d.datdba = r.oid
        UNION ALL
        -- whatever it could create it would own
        SELECT 'may CREATE in schema ' || n.nspname
        FROM pg_namespace n, r WHERE n.nspname = CAST(:schema AS name) AND has_schema_privilege(r.oid, n.oid, 'CREATE')
        UNION ALL
        SELECT 'has ' || priv || ' on ' || tt.relname
        FROM tt, r, unnest(ARRAY['TRUNCATE', 'TRIGGER', 'REFERENCES']) AS priv
        WHERE has_table_privilege(r.oid, tt.oid, priv)
        ORDER BY 1
        """,
        role=role,
        schema=schema,
    )
    return [f"{role}: {problem}" for problem in problems]


# Privileges the app role is denied on purpose, like GLOBAL_TABLES a decision made in review: the
# audit trail is append-only; jobs, the mail log, Stripe's events and a supplier's bank accounts
# and change requests are history, never deleted.
WITHHELD_FROM_APP: dict[str, frozenset[str]] = {
    "audit_events": frozenset({"UPDATE", "DELETE"}),
    "outbox": frozenset({"DELETE"}),
    "outgoing_mail": frozenset({"DELETE"}),
    "stripe_events": frozenset({"DELETE"}),
    # history of who asked for and who approved a supplier's sensitive changes
    "supplier_bank_accounts": frozenset({"DELETE"}),
    "supplier_change_requests": frozenset({"DELETE"}),
    "supplier_registrations": frozenset({"DELETE"}),
    # each version of the supplier terms stays as published
    "supplier_terms": frozenset({"UPDATE", "DELETE"}),
}


async def grant_problems(
    connection: AsyncConnection,
    role: str = APP_ROLE,
    schema: str = "public",
    withheld: dict[str, frozenset[str]] = WITHHELD_FROM_APP,
) -> list[str]:
    """The app role can use every tenant table (a forgotten GRANT is a broken page, not a leak),
    except for the privileges withheld on purpose, which it must not have."""
    return await _lines(
        connection,
        _TENANT_CTE
        + """
        SELECT tt.relname || CASE WHEN has_table_privilege(r.oid, tt.oid, priv)
                                  THEN ': the app role has ' || priv || ', which is withheld from it on purpose'
                                  ELSE ': the app role lacks ' || priv END
        FROM tt, pg_roles r, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS priv
        WHERE r.rolname = CAST(:role AS name)
          AND has_table_privilege(r.oid, tt.oid, priv) = ((tt.relname || ':' || priv) = ANY(:withheld))
        ORDER BY 1
        """,
        role=role,
        schema=schema,
        withheld=sorted(f"{table}:{privilege}" for table, privileges in withheld.items() for privilege in privileges),
    )


# All the relay may touch: the outbox of every tenant, to publish it, and the tenant list, to
# schedule periodic jobs per tenant.
RELAY_PRIVILEGES: dict[str, frozenset[str]] = {
    "public.outbox": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "public.tenants": frozenset({"SELECT"}),
}

# Schemas of the server itself; every other schema (public, and any a migration or test adds) is looked at.
_SYSTEM_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"


async def relay_role_problems(
    connection: AsyncConnection, role: str = RELAY_ROLE, allowed: dict[str, frozenset[str]] = RELAY_PRIVILEGES
) -> list[str]:
    """The relay role sees past the tenant policy on the outbox (relay_sweep), so everything else
    about it must be nailed down: powerless like the app role, a member of no role, and privileges
    on exactly `allowed` — nothing more on any relation, column, sequence or schema of the database."""
    problems = await role_problems(connection, role)
    if problems == [f"role {role} does not exist"]:
        return problems
    privileges = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
    if int(await connection.scalar(text("SHOW server_version_num")) or 0) >= 170000:
        privileges.append("MAINTAIN")
    held = set(
        await _lines(
            connection,
            f"""
            WITH r AS (SELECT oid FROM pg_roles WHERE rolname = CAST(:role AS name))
            SELECT n.nspname || '.' || c.relname || ' ' || priv
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, r, unnest(CAST(:privileges AS text[])) priv
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_SYSTEM_SCHEMAS}
              AND (has_table_privilege(r.oid, c.oid, priv)
                   -- a grant on some columns reaches them as surely as one on the table
                   OR (priv IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                       AND has_any_column_privilege(r.oid, c.oid, priv)))
            """,
            role=role,
            privileges=privileges,
        )
    )
    expected = {f"{relation} {privilege}" for relation, granted in allowed.items() for privilege in granted}
    for item in sorted(held - expected):
        relation, _, privilege = item.partition(" ")
        problems.append(f"{role}: has {privilege} on {relation}")
    for item in sorted(expected - held):
        relation, _, privilege = item.partition(" ")
        problems.append(f"{role}: lacks {privilege} on {relation}")
    problems += await _lines(
        connection,
        f"""
        WITH r AS (SELECT oid FROM pg_roles WHERE rolname = CAST(:role AS name))
        SELECT CAST(:role AS text) || ': has ' || priv || ' on sequence ' || n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, r,
             unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) priv
        WHERE c.relkind = 'S' AND {_SYSTEM_SCHEMAS} AND has_sequence_privilege(r.oid, c.oid, priv)
        UNION ALL
        SELECT CAST(:role AS text) || ': may CREATE in schema ' || n.nspname
        FROM pg_namespace n, r WHERE {_SYSTEM_SCHEMAS} AND has_schema_privilege(r.oid, n.oid, 'CREATE')
        UNION ALL
        -- membership would hand it another role's rights, at once or after SET ROLE
        SELECT CAST(:role AS text) || ': is a member of ' || g.rolname
        FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid, r WHERE m.member = r.oid
        ORDER BY 1
        """,
        role=role,
    )
    return problems
