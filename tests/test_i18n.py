"""Translations: every string the code marks is translated into Simplified Chinese, the catalogs
compile, and backend.kit.i18n picks the reader's language and formats money in it.

No database: these tests only read the source tree and the catalogs under backend/locale.
The catalogs are compiled into a temporary directory (the committed .po files, not whatever
stale .mo a previous set-up left behind), and backend.kit.i18n is pointed there for the tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from backend.kit import i18n

REPO = Path(__file__).resolve().parent.parent
LOCALE_DIR = REPO / "backend" / "locale"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po"

# %(name)s, %(num)d, %s, %5.2f, %%: the conversions Python's % operator understands.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")


def _pybabel() -> str:
    """The pybabel next to this interpreter (the project venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("pybabel")
    found = str(beside) if beside.exists() else shutil.which("pybabel")
    if found is None:
        pytest.fail("pybabel not found next to the interpreter or on PATH")
    return found


def _run_pybabel(*args: str) -> subprocess.CompletedProcess[str]:
    # The console script, not `python -m babel.messages.frontend`: only the script exits non-zero on errors.
    return subprocess.run([_pybabel(), *args], cwd=REPO, capture_output=True, text=True, check=False, timeout=120)


def _read_po(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _placeholders(text: str) -> Counter[str]:
    return Counter(m for m in PLACEHOLDER.findall(text) if m != "%%")


def _strings(message: Message) -> list[str]:
    if isinstance(message.string, (tuple, list)):
        return [str(s) for s in message.string]
    return [str(message.string or "")]


def _ids(message: Message) -> list[str]:
    return [str(i) for i in message.id] if isinstance(message.id, (tuple, list)) else [str(message.id)]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The strings the code marks today, extracted afresh exactly as the project extracts them."""
    out = tmp_path_factory.mktemp("i18n-template") / "messages.pot"
    done = _run_pybabel(
        "-q", "extract", "-F", "babel.cfg", "-k", "_", "-k", "gettext", "-k", "ngettext:1,2",
        "--no-location", "--sort-output", "-o", str(out), ".",
    )  # fmt: skip
    assert done.returncode == 0, f"pybabel extract failed:\n{done.stdout}\n{done.stderr}"
    catalog = _read_po(out)
    assert len([m for m in catalog if m.id]) > 50, "the extraction found suspiciously few strings"
    return catalog


@pytest.fixture(scope="module")
def compiled_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of backend/locale with every catalog compiled (zh_Hans at 100%, no errors)."""
    target = tmp_path_factory.mktemp("i18n-compiled") / "locale"
    shutil.copytree(LOCALE_DIR, target, ignore=shutil.ignore_patterns("*.mo"))
    done = _run_pybabel("compile", "-d", str(target), "-D", "messages", "--statistics")
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"pybabel compile failed:\n{output}"
    assert "error" not in output.lower(), output
    assert re.search(r"\(100%\) translated in \S*zh_Hans", output), f"zh_Hans is not fully translated:\n{output}"
    for locale in i18n.LOCALES:
        assert (target / locale / "LC_MESSAGES" / "messages.mo").is_file(), f"no compiled catalog for {locale}"
    return target


@pytest.fixture
def catalogs(compiled_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """backend.kit.i18n reading the freshly compiled catalogs; locale and cache restored afterwards."""
    monkeypatch.setattr(i18n, "LOCALE_DIR", compiled_dir)
    i18n.translations.cache_clear()
    try:
        yield
    finally:
        # the locale is a context variable: a sync test sets it for everything that runs after it
        i18n.set_locale(i18n.DEFAULT_LOCALE)
        monkeypatch.undo()
        i18n.translations.cache_clear()


# --- (a) every marked string is translated --------------------------------------------------


def test_every_marked_string_has_a_chinese_translation(template: Catalog) -> None:
    zh = _read_po(ZH_PO, locale="zh_Hans")
    assert zh.num_plurals == 1, f"zh_Hans must have nplurals=1, has {zh.num_plurals}"
    problems: list[str] = []
    for source in template:
        if not source.id:
            continue
        shown = " / ".join(_ids(source))
        translated = zh.get(source.id)
        if translated is None:
            problems.append(f"missing:   {shown!r}")
            continue
        strings = _strings(translated)
        if translated.fuzzy:
            problems.append(f"fuzzy:     {shown!r}")
        if not all(s.strip() for s in strings):
            problems.append(f"empty:     {shown!r}")
            continue
        if source.pluralizable and len(strings) != 1:
            problems.append(f"plurals:   {shown!r} has {len(strings)} forms, zh_Hans has 1")
        expected = set().union(*(_placeholders(i) for i in _ids(source)))
        for s in strings:
            if set(_placeholders(s)) != expected:
                problems.append(f"placeholders: {shown!r} has {sorted(expected)}, translation {s!r}")
    assert not problems, (
        f"{len(problems)} problem(s) in {ZH_PO}; run pybabel extract and "
        "`pybabel update -i backend/locale/messages.pot -d backend/locale -D messages`, then translate:\n  "
        + "\n  ".join(problems)
    )


def test_no_fuzzy_or_stale_entries_in_the_chinese_catalog() -> None:
    zh = _read_po(ZH_PO, locale="zh_Hans")
    fuzzy = [m.id for m in zh if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries (not shown to readers): {fuzzy}"
    assert not zh.fuzzy, "the catalog header is marked fuzzy"


def test_chinese_translations_format_like_their_source(template: Catalog) -> None:
    """Jinja's newstyle gettext %-formats every string, so a stray % in a translation would crash a page."""
    zh = _read_po(ZH_PO, locale="zh_Hans")
    broken: list[str] = []
    for source in template:
        translated = zh.get(source.id) if source.id else None
        if translated is None:
            continue
        names = {m.group(1): m.group(2) for i in _ids(source) for m in re.finditer(r"%\((\w+)\)[#0\- +\d.]*(\w)", i)}
        values = {name: (3 if kind in "di" else "X") for name, kind in names.items()}
        for s in _strings(translated):
            try:
                s % values
            except (KeyError, TypeError, ValueError) as exc:
                broken.append(f"{_ids(source)[0]!r} -> {s!r}: {exc!r}")
    assert not broken, "translations that cannot be formatted:\n  " + "\n  ".join(broken)


# --- (b) the catalogs compile ---------------------------------------------------------------


def test_the_catalogs_compile(compiled_dir: Path) -> None:
    from babel.support import Translations

    zh = Translations.load(str(compiled_dir), ["zh_Hans"], domain="messages")
    assert zh.gettext("Suppliers") == "供应商"
    en = Translations.load(str(compiled_dir), ["en"], domain="messages")
    assert en.gettext("Suppliers") == "Suppliers"
    assert en.ngettext("%(num)d item", "%(num)d items", 2) == "%(num)d items"


# --- (c) backend.kit.i18n ------------------------------------------------------------------


@pytest.mark.usefixtures("catalogs")
def test_gettext_speaks_the_current_locale() -> None:
    i18n.set_locale("zh_Hans")
    assert i18n.current_locale() == "zh_Hans"
    assert i18n.gettext("Suppliers") == "供应商"
    assert i18n.gettext("Log out") == "退出登录"
    assert i18n.ngettext("%(num)d item", "%(num)d items", 3) % {"num": 3} == "3 个物料"
    i18n.set_locale("en")
    assert i18n.gettext("Suppliers") == "Suppliers"
    assert i18n.ngettext("%(num)d item", "%(num)d items", 1) % {"num": 1} == "1 item"
    assert i18n.ngettext("%(num)d item", "%(num)d items", 3) % {"num": 3} == "3 items"


@pytest.mark.usefixtures("catalogs")
def test_templates_render_in_chinese() -> None:
    from portals.shared.templating import environment

    page = environment().from_string(
        '{{ _("Suppliers") }}|{{ ngettext("%(num)d item", "%(num)d items", 7) }}|'
        '{{ _("Page %(page)d of %(pages)d", page=2, pages=5) }}|{{ _("Log in to %(name)s", name="<b>") }}'
    )
    i18n.set_locale("zh_Hans")
    assert page.render() == "供应商|7 个物料|第 2 页，共 5 页|登录到 &lt;b&gt;"
    i18n.set_locale("en")
    assert page.render() == "Suppliers|7 items|Page 2 of 5|Log in to &lt;b&gt;"


@pytest.mark.usefixtures("catalogs")
def test_unknown_locale_is_not_set() -> None:
    i18n.set_locale("fr")
    assert i18n.current_locale() == "en"
    assert i18n.gettext("Suppliers") == "Suppliers"


@pytest.mark.parametrize(
    ("candidates", "accept_language", "expected"),
    [
        ((), "zh-CN,zh;q=0.9", "zh_Hans"),
        ((), "zh-Hans-CN", "zh_Hans"),
        ((), "en-US", "en"),
        ((), "en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ((), "fr-FR,zh-CN;q=0.8", "zh_Hans"),  # the first supported language in the header
        (("en",), "zh-CN,zh;q=0.9", "en"),  # the cookie beats the browser
        (("zh_Hans",), "en-US", "zh_Hans"),
        ((None, "zh_Hans"), "en-US", "zh_Hans"),  # no cookie: the person's own choice
        (("fr", None, "de"), "de-DE,fr;q=0.8", "en"),  # nothing supported: English
        ((), None, "en"),
        ((), "", "en"),
        (("zh-CN",), None, "en"),  # a cookie must hold a locale code, not a language tag
    ],
)
def test_negotiate(candidates: tuple[str | None, ...], accept_language: str | None, expected: str) -> None:
    assert i18n.negotiate(*candidates, accept_language=accept_language) == expected


@pytest.mark.usefixtures("catalogs")
@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_money_shows_the_amount_and_its_currency(locale: str) -> None:
    i18n.set_locale(locale)
    shown = i18n.money(Decimal("1234.5"), "CNY")
    assert "1,234.50" in shown, shown
    assert any(marker in shown for marker in ("¥", "￥", "CNY")), shown
    usd = i18n.money(Decimal("1234.5"), "USD")
    assert "1,234.50" in usd, usd
    assert "$" in usd, usd
