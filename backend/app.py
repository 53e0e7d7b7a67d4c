"""create_app(): the one composition root. Nothing is built at import time.

Two Litestar apps behind a host dispatcher: the apex (public site, login, workspace chooser)
and the tenant app (staff app at /, supplier portal at /supplier, customer portal at /customer,
JSON API at /api/v1). Both share one database engine and one set of templates.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Litestar, Request, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.logging import LoggingConfig
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from backend.auth.controllers import AuthController
from backend.auth.middleware import AuthMiddleware
from backend.auth.tokens import ApiTokens
from backend.authz.workspace import workspace_allows
from backend.billing.controllers import WEBHOOK_ROUTES
from backend.dependencies import DEPENDENCIES
from backend.jobs.broker import BatchingPublisher, load_jobs
from backend.jobs.runtime import EmbeddedWorker, install
from backend.kit.request_id import RequestIdMiddleware
from backend.kit.urls import API_DOCS
from backend.ops.controllers import OPS_ROUTES
from backend.parties.controllers import CustomerController, SupplierController
from backend.settings import Settings, SettingsError, get_settings
from portals.customer.routes import customer_router
from portals.public.routes import APEX_ROUTES, TENANT_PUBLIC_ROUTES
from portals.public.signup import SIGNUP_ROUTES
from portals.shared.documents import DOCUMENT_ROUTES
from portals.shared.errors import EXCEPTION_HANDLERS, unknown_workspace
from portals.shared.notifications import NOTIFICATION_ROUTES
from portals.shared.security_headers import SecurityHeaders, security_headers
from portals.shared.templating import STATIC_DIR, environment
from portals.shared.upload_limit import UploadLimit
from portals.staff.audit import AUDIT_ROUTES
from portals.staff.billing import BILLING_ROUTES
from portals.staff.jobs import JOB_ROUTES
from portals.staff.mail import MAIL_ROUTES
from portals.staff.routes import STAFF_ROUTES
from portals.staff.supplier_setup import SETUP_ROUTES
from portals.staff.suppliers import SUPPLIER_ROUTES
from portals.supplier.registration import registration_router
from portals.supplier.routes import supplier_router
from tenants.directory import TenantDirectory
from tenants.isolation import Database
from tenants.resolution import HostDispatcher

# The public forms anyone may send (logins, one-time links, registration, signup): per client
# address a coarse ceiling in front of them, so none becomes a way to flood inboxes or the
# password hasher; the finer throttling of password guesses is backend/auth/throttle.py.
PUBLIC_FORMS = ("/login", "/api/v1/token", "/account/", "/supplier/register", "/signup")
PUBLIC_FORMS_PER_MINUTE = 60
_NOT_A_PUBLIC_FORM = "^/(?!" + "|".join(path.strip("/") for path in PUBLIC_FORMS) + ")"


def _public_form(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST" and request.url.path.startswith(PUBLIC_FORMS)


def _app_kwargs(settings: Settings, state: State) -> dict[str, Any]:
    """What both apps share: state, templates, CSRF, errors, auth, the per-request transaction."""
    return {
        "state": state,
        "template_config": TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment())),
        "csrf_config": CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.production,
            cookie_httponly=True,
            # the API authenticates with bearer tokens only, never cookies, so CSRF cannot apply
            exclude=["/api/", "/webhooks/"],  # webhooks prove themselves by their signature
        ),
        "exception_handlers": EXCEPTION_HANDLERS,
        # the request id first, so everything after it (logins included) can name the request;
        # an oversized upload loses its file before anything reads the headers it rewrites
        # (Litestar keeps them once parsed) and before the CSRF check reads the form
        "middleware": [
            RequestIdMiddleware,
            partial(UploadLimit, max_body=settings.request_max_body_bytes),
            RateLimitConfig(
                rate_limit=("minute", PUBLIC_FORMS_PER_MINUTE),
                # every other path passes by on a regex alone (the API's reads are the hot path)
                exclude=[_NOT_A_PUBLIC_FORM],
                check_throttle_handler=_public_form,
            ).middleware,
            AuthMiddleware,
        ],
        "request_max_body_size": settings.request_max_body_bytes,
        "dependencies": DEPENDENCIES,
        "logging_config": LoggingConfig(
            root={"level": "INFO", "handlers": ["queue_listener"]},
            # HTTP clients (the Stripe SDK and its httpx) would log every call at INFO
            loggers={name: {"level": "WARNING"} for name in ("stripe", "httpx", "httpcore")},
            log_exceptions="never",  # our handlers log what matters, once
        ),
        "debug": False,
    }


def _pages(path: str, handlers: list[Any]) -> Router:
    return Router(path=path, route_handlers=handlers, include_in_schema=False)


def create_app(settings: Settings, database: Database | None = None) -> HostDispatcher:
    # every job declared, so any service may enqueue any of them, whoever imported what
    load_jobs()
    if settings.database_url is None and database is None:
        raise SettingsError("DATABASE_URL is not set (`merkato serve` starts an embedded server when it is missing)")
    on_startup: list[Any] = []
    on_shutdown: list[Any] = []
    if database is None:
        # BROKER_URL: publish to it, workers run elsewhere; none: run the worker in this process
        embedded = None if settings.broker_url else EmbeddedWorker(settings)
        broker = embedded.broker if embedded else install(settings.broker_url)
        database = Database.connect(
            settings.database_url or "", settings.database_app_url, publish=BatchingPublisher(broker)
        )
        if embedded:
            on_startup.append(embedded.start)
            on_shutdown.append(embedded.stop)
        on_shutdown.append(database.dispose)
    db = database
    directory = TenantDirectory(db)
    state = State(
        {
            "settings": settings,
            "db": db,
            "directory": directory,
            "tokens": ApiTokens(secret_key=settings.secret_key, minutes=settings.api_token_minutes),
        }
    )
    static = create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False)

    apex = Litestar(
        route_handlers=[_pages("/", [*APEX_ROUTES, *SIGNUP_ROUTES, *OPS_ROUTES]), *WEBHOOK_ROUTES, static],
        openapi_config=None,
        **_app_kwargs(settings, state),
    )
    tenant = Litestar(
        route_handlers=[
            _pages(
                "/",
                [
                    *TENANT_PUBLIC_ROUTES,
                    *STAFF_ROUTES,
                    *SUPPLIER_ROUTES,
                    SETUP_ROUTES,
                    *JOB_ROUTES,
                    *MAIL_ROUTES,
                    *NOTIFICATION_ROUTES,
                    *AUDIT_ROUTES,
                    *BILLING_ROUTES,
                    *DOCUMENT_ROUTES,
                    *OPS_ROUTES,
                    supplier_router,
                    registration_router,
                    customer_router,
                ],
            ),
            AuthController,
            SupplierController,
            CustomerController,
            static,
        ],
        openapi_config=OpenAPIConfig(
            title="Merkato API",
            version="1.0.0",
            path=API_DOCS,
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"BearerToken": []}],
        ),
        # what the plan and the subscription allow, checked before any route's own guards
        guards=[workspace_allows],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        **_app_kwargs(settings, state),
    )
    return HostDispatcher(
        apex=apex,
        tenant=tenant,
        unknown_tenant=unknown_workspace,
        directory=directory,
        base_domain=settings.base_domain,
        apps_with_lifespan=(apex, tenant),
        # every answer of every host, the unknown-workspace page included
        middleware=[partial(SecurityHeaders, headers=security_headers(settings))],
    )


def app_from_environment() -> HostDispatcher:
    """The uvicorn factory: `uvicorn --factory backend.app:app_from_environment`."""
    return create_app(get_settings())
