"""The home page both party portals share: the user's own company, its portal users and, where
the portal offers them, its documents."""

from __future__ import annotations

from typing import Any

from litestar.exceptions import NotFoundException
from litestar.response import Template

from backend.accounts.service import list_people
from backend.authz.principal import Principal
from backend.kit.pagination import PageRequest
from backend.models import MembershipKind
from backend.parties.repository import PartyRepository
from portals.shared.documents import documents_panel


async def party_home(
    user: Principal,
    repository: PartyRepository[Any],
    *,
    kind: MembershipKind,
    heading: str,
    welcome: str,
    document_request_url: str | None = None,
) -> Template:
    session = repository.session
    party = await repository.get(user.party_id) if user.party_id else None
    if party is None:
        raise NotFoundException()
    people = await list_people(session, PageRequest(size=100), kind=kind, party_id=party.id)
    documents = None
    if document_request_url is not None:
        documents = await documents_panel(session, kind=kind, party_id=party.id, request_url=document_request_url)
    return Template(
        template_name="portal/party_home.html",
        context={
            "party": party,
            "people": people,
            "heading": heading,
            "welcome": welcome,
            "documents": documents,
        },
    )
