"""The security headers every response carries, on the apex and every workspace host alike: pages,
the API, static files, errors, redirects and the unknown-workspace page.

One ASGI middleware around the host dispatcher adds them, so no route, error handler or future
app can forget them. The Content-Security-Policy allows no inline script or style at all: every
script is a file under /static (portals/shared/static), and htmx is told not to inject its own
style or evaluate anything (the htmx-config meta in layouts/base.html).

`form-action` also governs the redirects that follow a form POST, so it names where our forms
really lead: this host, the workspaces and the apex (the chooser hands over to a workspace, a
workspace's logout goes back to the apex), and Stripe's Checkout and billing portal when billing
is on. Referrer-Policy keeps one-time tokens in URLs (/auth/ticket?token=,
/account/set-password?token=, invitation links) from leaving with a Referer header.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from backend.kit.asgi import ASGIApp, Message, Receive, Scope, Send
from backend.settings import Settings

# Stripe's hosted pages: Checkout (signup, plan changes) and the billing portal (payment methods).
STRIPE_PAGES = ("https://checkout.stripe.com", "https://billing.stripe.com")
# Two years, as browsers' preload lists expect; every workspace is a subdomain served over TLS too.
HSTS = "max-age=63072000; includeSubDomains"

CSP = "content-security-policy"
# A stored file shown in a tab (a picture): a document of its own in an opaque origin, with no
# script, form or plugin, that can load nothing. The browser builds that document itself and styles
# it inline (Chromium centres a picture so), which the site's policy would refuse.
SANDBOXED_FILE_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def form_targets(settings: Settings) -> list[str]:
    """Where a form (or the redirect after it) may lead, besides the page's own origin."""
    domain = settings.base_domain
    # production: TLS on the standard port, as the reverse proxy serves every host; elsewhere the
    # demo and the tests run on a port of their own (http://acme.localhost:8000)
    hosts = [f"https://{domain}", f"https://*.{domain}"] if settings.production else [f"{domain}:*", f"*.{domain}:*"]
    if not settings.billing_enabled:
        return hosts
    # another API base (the fake Stripe of the tests and the demo) serves its pages there too
    return [*hosts, *STRIPE_PAGES, *([_origin(settings.stripe_api_base)] if settings.stripe_api_base else [])]


def content_security_policy(settings: Settings) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Pico CSS draws its checkboxes, selects and icons with data: SVGs
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *form_targets(settings)],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    headers = [
        (CSP.encode(), content_security_policy(settings).encode()),
        (b"referrer-policy", b"same-origin"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if settings.production:
        # only where TLS is certain: a development browser would otherwise insist on https for
        # localhost and every *.localhost for two years
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def _sandboxes_itself(policy: bytes) -> bool:
    return any(directive.split()[:1] == [b"sandbox"] for directive in policy.split(b";"))


class SecurityHeaders:
    """Adds the headers to every HTTP response of the wrapped app.

    A response that sandboxes itself (SANDBOXED_FILE_POLICY) keeps its own policy alone; beside any
    other policy a response sets, ours is added too (a browser enforces every policy it gets, so a
    second one can only narrow what is allowed). The other headers are added only where the
    response has not set them.
    """

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {bytes(name).lower() for name, _ in headers}
                own = [value for name, value in headers if bytes(name).lower() == CSP.encode()]
                sandboxed = any(_sandboxes_itself(bytes(value)) for value in own)
                for name, value in self.headers:
                    if name not in present or (name == CSP.encode() and not sandboxed):
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
