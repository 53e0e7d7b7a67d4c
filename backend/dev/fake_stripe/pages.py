"""The fake Stripe's pages for people (and browser tests): hosted Checkout, the billing portal, the
hosted invoice and its PDF. Plain HTML with inline styles and no external assets, so they work
offline; the element ids (`pay`, `card_fails`, `fix_card`) are what tests click."""

from __future__ import annotations

from html import escape

from backend.dev.fake_stripe.model import CheckoutSession, Invoice, PortalSession, format_amount, format_date
from backend.dev.fake_stripe.state import FakeStripe

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f6f9fc; color: #1a1f36; margin: 0; }
main { max-width: 34rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 8px;
       box-shadow: 0 2px 8px rgba(0,0,0,.08); }
h1 { font-size: 1.3rem; margin-top: 0; }
.badge { display: inline-block; background: #ffde92; color: #5a3e00; font-size: .75rem; padding: .1rem .5rem;
         border-radius: 4px; }
.amount { font-size: 2rem; font-weight: 600; margin: .5rem 0; }
button { background: #635bff; color: #fff; border: 0; padding: .7rem 1.4rem; border-radius: 6px; font-size: 1rem;
         cursor: pointer; }
table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
td, th { text-align: left; padding: .35rem 0; border-bottom: 1px solid #e3e8ee; }
.muted { color: #697386; }
.bad { color: #b3093c; } .good { color: #1d7a42; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><main><p><span class="badge">TEST MODE · fake Stripe</span></p>{body}</main></body></html>'
    )


def message_page(title: str, text: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")


def checkout_page(state: FakeStripe, session: CheckoutSession) -> str:
    rows = []
    currency = "usd"
    for line in session.lines:
        price = state.prices[line.price]
        currency = price.currency
        plan = price.nickname or state.product_name(price)
        amount = format_amount(price.unit_amount * line.quantity, price.currency)
        rows.append(
            f"<tr><td>{escape(plan)} × {line.quantity}</td>"
            f"<td>{escape(amount)} / {escape(price.interval or '')}</td></tr>"
        )
    total = sum(state.prices[line.price].unit_amount * line.quantity for line in session.lines)
    first_plan = state.prices[session.lines[0].price]
    interval = first_plan.interval or ""
    if session.trial_period_days:
        headline = f"{session.trial_period_days} days free"
        then = f"then {format_amount(total, currency)} / {interval}"
    else:
        headline = f"{format_amount(total, currency)}"
        then = f"per {interval}"
    customer = state.customers.get(session.customer) if session.customer else None
    email = customer.email if customer else session.customer_email
    if session.status != "open":
        return message_page("Checkout", f"This Checkout Session is {session.status}.")
    cancel = f'<p><a href="{escape(session.cancel_url)}">← Back</a></p>' if session.cancel_url else ""
    return _page(
        "Checkout",
        f"""{cancel}
<h1>Subscribe to {escape(first_plan.nickname or state.product_name(first_plan))}</h1>
<div class="amount" id="headline">{escape(headline)}</div>
<p class="muted" id="then">{escape(then)}</p>
<table id="plan">{"".join(rows)}</table>
<p class="muted">{escape(email or "")}</p>
<form method="post" action="/checkout/{escape(session.id)}/pay">
  <p>Card: 4242 4242 4242 4242 (test)</p>
  <p><label><input type="checkbox" name="card_fails" id="card_fails" value="on">
     Simulate a card that is declined on renewal</label></p>
  <button type="submit" id="pay">Subscribe</button>
</form>""",
    )


def _plan_name(state: FakeStripe, price_id: str) -> str:
    price = state.prices[price_id]
    return price.nickname or state.product_name(price)


def portal_page(state: FakeStripe, session: PortalSession) -> str:
    customer = state.customers[session.customer]
    card = (
        '<p id="card_status" class="bad">Your card is being declined.</p>'
        if customer.card_fails
        else '<p id="card_status" class="good">Your card works.</p>'
    )
    subscriptions = [sub for sub in state.subscriptions.values() if sub.customer == customer.id]
    sub_rows = "".join(
        f"<tr><td>{escape(', '.join(_plan_name(state, item.price) for item in sub.items))}</td>"
        f'<td class="status">{escape(sub.status)}</td><td>until {escape(format_date(sub.current_period_end))}'
        f"{' (cancels)' if sub.cancel_at_period_end else ''}</td></tr>"
        for sub in subscriptions
    )
    open_invoices = [i for i in state.invoices.values() if i.customer == customer.id and i.status == "open"]
    invoice_rows = "".join(
        f"<tr><td>{escape(i.number or i.id)}</td><td>{escape(format_amount(i.amount_due, i.currency))}</td>"
        f"<td>attempts: {i.attempt_count}</td></tr>"
        for i in open_invoices
    )
    back = f'<p><a id="return" href="{escape(session.return_url)}">← Return</a></p>' if session.return_url else ""
    return _page(
        "Billing portal",
        f"""{back}
<h1>Billing for {escape(customer.name or customer.email or customer.id)}</h1>
{card}
<h2>Subscriptions</h2><table id="subscriptions">{sub_rows or '<tr><td class="muted">None</td></tr>'}</table>
<h2>Unpaid invoices</h2><table id="open_invoices">{invoice_rows or '<tr><td class="muted">None</td></tr>'}</table>
<form method="post" action="/portal/{escape(session.id)}/card">
  <button type="submit" id="fix_card">Use a working card</button>
</form>""",
    )


def invoice_page(state: FakeStripe, invoice: Invoice) -> str:
    rows = "".join(
        f"<tr><td>{escape(line.description)}</td><td>{escape(format_amount(line.amount, line.currency))}</td></tr>"
        for line in invoice.lines
    )
    return _page(
        f"Invoice {invoice.number or invoice.id}",
        f"""<h1>Invoice {escape(invoice.number or invoice.id)}</h1>
<p class="muted">{escape(invoice.customer_email or "")} · {escape(format_date(invoice.created))}</p>
<div class="amount">{escape(format_amount(invoice.amount_due, invoice.currency))}</div>
<p id="status">Status: {escape(invoice.status)}</p>
<table>{rows}</table>
<p><a href="/invoices/{escape(invoice.id)}/pdf">Download PDF</a></p>""",
    )


def _pdf_text(text: str) -> str:
    # a PDF literal string in the standard Helvetica encoding: ASCII only, with its delimiters escaped
    ascii_text = text.replace("×", "x").encode("ascii", "replace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def invoice_pdf(invoice: Invoice) -> bytes:
    """A small, valid one-page PDF of the invoice (built by hand: correct offsets and xref table)."""
    lines = [
        f"Invoice {invoice.number or invoice.id}",
        f"Date: {format_date(invoice.created)}",
        f"Billed to: {invoice.customer_email or invoice.customer}",
        *(
            f"{line.description}: {format_amount(line.amount, line.currency, ascii_only=True)}"
            for line in invoice.lines
        ),
        f"Amount due: {format_amount(invoice.amount_due, invoice.currency, ascii_only=True)}",
        f"Status: {invoice.status}",
    ]
    content_ops = ["BT", "/F1 12 Tf", "16 TL", "56 780 Td"]
    for index, text in enumerate(lines):
        content_ops.append(f"({_pdf_text(text)}) Tj" if index == 0 else f"T* ({_pdf_text(text)}) Tj")
    content_ops.append("ET")
    stream = "\n".join(content_ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)
