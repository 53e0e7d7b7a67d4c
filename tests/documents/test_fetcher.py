"""The render's URL fetcher: only the project's static files, nothing else, and never the network.

A local HTTP server on 127.0.0.1 counts every request it gets; one of its URLs redirects to
another. The fetcher (and a whole render in the child process) must leave the count at zero,
while a plain urllib request proves the server does count.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from backend.documents.pdf import STATIC_ROOT, StaticOnlyFetcher, URLRefused
from backend.documents.render import html_to_pdf
from tests.documents.pdfs import pdf_text

METADATA = "http://169.254.169.254/latest/meta-data/"
PASSWD = "file:///etc/passwd"
ESCAPE = STATIC_ROOT.as_uri() + "/../../../../../../../etc/passwd"
ESCAPE_ENCODED = STATIC_ROOT.as_uri() + "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"


class CountingServer:
    """GET /redirect answers 302 to /target; /target answers a stylesheet. Every request counts."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                counter.requests.append(self.path)
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/target")
                    self.end_headers()
                    return
                body = b"body { background: red; }"
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with CountingServer() as running:
        yield running


def refused_by(fetcher: StaticOnlyFetcher, url: str) -> bool:
    with pytest.raises(URLRefused):
        fetcher.fetch(url)
    return url in fetcher.refused


@pytest.mark.parametrize(
    "url",
    [
        METADATA,
        "https://169.254.169.254/latest/meta-data/",
        PASSWD,
        "file://localhost/etc/passwd",
        "file://evil.example/etc/passwd",
        ESCAPE,
        ESCAPE_ENCODED,
        STATIC_ROOT.as_uri() + "/no-such-file.css",
        STATIC_ROOT.as_uri() + "/vendor",  # a directory
        STATIC_ROOT.as_uri() + "/app.css%00.png",
        "data:text/css,body%7Bcolor:red%7D",
        "ftp://127.0.0.1/x",
        "/static/app.css",  # not absolute: WeasyPrint never asks like this, but refuse it anyway
    ],
)
def test_refuses_everything_but_static_files(url: str) -> None:
    fetcher = StaticOnlyFetcher()
    assert refused_by(fetcher, url)
    assert fetcher.fetched == []


def test_refuses_http_without_a_single_request_even_a_redirecting_one(server: CountingServer) -> None:
    fetcher = StaticOnlyFetcher()
    for url in (f"{server.url}/redirect", f"{server.url}/target"):
        assert refused_by(fetcher, url)
    assert server.requests == []
    # the control: the server does count, and /redirect does lead to /target
    with urllib.request.urlopen(f"{server.url}/redirect", timeout=5) as response:
        assert response.read() == b"body { background: red; }"
    assert server.requests == ["/redirect", "/target"]


def test_serves_the_static_files(tmp_path: Path) -> None:
    fetcher = StaticOnlyFetcher()
    response = fetcher.fetch(STATIC_ROOT.as_uri() + "/app.css")
    assert response.content_type == "text/css"
    assert response.read() == (STATIC_ROOT / "app.css").read_bytes()
    response.close()
    assert fetcher.fetched == [STATIC_ROOT.as_uri() + "/app.css"]
    assert fetcher.refused == []


def test_refuses_a_symlink_that_leads_out_of_its_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "static", tmp_path / "secret.txt"
    root.mkdir()
    outside.write_text("the database password")
    (root / "inside.css").write_text("p { color: black; }")
    (root / "leak.css").symlink_to(outside)
    (root / "alias.css").symlink_to(root / "inside.css")
    fetcher = StaticOnlyFetcher(root)

    assert refused_by(fetcher, (root / "leak.css").as_uri())
    assert fetcher.fetch((root / "alias.css").as_uri()).read() == b"p { color: black; }"
    assert fetcher.fetch((root / "inside.css").as_uri()).read() == b"p { color: black; }"


def test_a_document_asking_for_forbidden_urls_renders_without_them(server: CountingServer) -> None:
    hostile = [METADATA, PASSWD, ESCAPE, f"{server.url}/redirect", f"{server.url}/target"]
    html = f"""<!doctype html><html><head>
      <link rel="stylesheet" href="app.css">
      <link rel="stylesheet" href="{STATIC_ROOT.as_uri()}/vendor/pico.min.css">
      <link rel="stylesheet" href="{server.url}/redirect">
      <style>@import url("{server.url}/target"); p {{ background: url("{METADATA}"); }}</style>
      </head><body>
      <p>Still rendered</p>
      <img src="{METADATA}"><img src="{PASSWD}"><img src="../../../../../../../../etc/passwd">
      <img src="{ESCAPE}"><img src="{server.url}/redirect">
      <object data="{PASSWD}"></object>
      </body></html>"""

    rendered = html_to_pdf(html, timeout=60)

    assert server.requests == [], "the render contacted the network"
    assert "Still rendered" in pdf_text(rendered.pdf)
    # relative URLs resolve inside static/, and the static files a document names do load
    assert set(rendered.fetched) == {STATIC_ROOT.as_uri() + "/app.css", STATIC_ROOT.as_uri() + "/vendor/pico.min.css"}
    # the relative escape arrives resolved against static/, i.e. as file:///etc/passwd
    assert set(hostile) <= set(rendered.refused)
