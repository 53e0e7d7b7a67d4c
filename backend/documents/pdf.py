"""The child process's half of rendering: WeasyPrint, and the only URL fetcher it is given.

Imported only by the render children (the forkserver preloads it), so web servers and workers
never load WeasyPrint themselves.

StaticOnlyFetcher is deny-by-default: it reads file: URLs whose real path (symlinks resolved)
is a file under portals/shared/static, and refuses everything else without opening it — http(s)
to any address, data:, other files, `..` escapes, symlinks pointing out — so whatever ends up in
a document's HTML can neither reach the network nor read a file outside the static assets.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from backend.documents.render import Rendered

# The project's own static files (a path, not an import: backend never imports portals).
STATIC_ROOT = Path(__file__).resolve().parents[2] / "portals" / "shared" / "static"


class URLRefused(ValueError):
    """A URL the document may not fetch."""


class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint ships no type hints
    """Serves files under `root`, refuses the rest and remembers both.

    fetch() is overridden whole, so none of urllib's openers that the base class sets up (http,
    ftp, data, redirects) is ever reached; the base class is there only because WeasyPrint
    expects one.
    """

    def __init__(self, root: Path = STATIC_ROOT) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=False)
        self.root = root.resolve()
        self.fetched: list[str] = []
        self.refused: list[str] = []

    def allowed_path(self, url: str) -> Path | None:
        try:
            parts = urlsplit(url)
            if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
                return None
            path = Path(unquote(parts.path))
            if not path.is_absolute():
                return None
            real = path.resolve(strict=True)
        except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, a NUL byte
            return None
        return real if real.is_relative_to(self.root) and real.is_file() else None

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        path = self.allowed_path(url)
        if path is None:
            self.refused.append(url)
            raise URLRefused(f"refused to fetch {url[:200]!r}")
        self.fetched.append(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})


def write_pdf(html: str) -> Rendered:
    """HTML to PDF in this process; relative URLs resolve inside the static directory."""
    fetcher = StaticOnlyFetcher()
    pdf = HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=fetcher).write_pdf()
    return Rendered(pdf=pdf, fetched=fetcher.fetched, refused=fetcher.refused)
