"""The customer's pages behind a signed link: a thin shell over the read model and commands.

``GET /portal/{token}``: the account with one company (open invoices per currency with
their status, payments and credit notes received recently) and three forms.
``POST /portal/{token}/promise``: announce a payment date for chosen invoices, sent as a
``promise.record`` command (channel ``portal``). ``POST /portal/{token}/dispute``: open a
dispute on chosen invoices with a category and a message, sent as ``dispute.open`` (raised
by ``portal``). ``POST /portal/{token}/pay`` (when Stripe is configured): pay chosen
invoices by card through Stripe Checkout, a redirect to the session's page;
``POST /portal/webhooks/stripe``: Stripe's signed notification that a session was paid,
sent as a ``promise.record`` of kind ``payment_announced`` (channel ``portal``) so that
dunning waits for the ERP's payment (docs/portal.md, "Paying online").
``POST /portal/{token}/debit`` (when GoCardless is configured): pay chosen invoices by SEPA
direct debit, a redirect to GoCardless's Billing Request Flow; ``POST
/portal/webhooks/gocardless``: GoCardless's signed batches of events, a submitted payment
announced, a failed one withdrawn (docs/portal.md, "Paying by direct debit").
``GET /portal/brand/{code}/logo`` and ``.../brand.css``: the invoicing company's logo and
colours (docs/portal.md, "Branding").
Commands go to ``disputes.commands.v1`` through the outbox; the disputes
service decides, and its events come back into the read model. Command ids derive from the
link and the form, so a form sent twice is one command.

A form with errors is shown again (422) with each error next to its field, in the page's
language, and everything typed kept; a form accepted redirects (303) to the account page
with a thank-you notice, so that reloading does not post again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from contracts import disputes
from contracts.topics import DISPUTE_COMMANDS, Topic
from services.portal import debits, i18n, metrics, owner_pages, queries
from services.portal.branding import Brand, load_brands
from services.portal.documents import DocumentStore
from services.portal.domain.account import Account, OpenInvoice, Pause, account_of
from services.portal.domain.attachments import CheckedAttachment, check_attachments
from services.portal.domain.direct_debit import (
    PAID_STATES,
    check_debit,
    choice_key,
    debit_events,
    not_paid_twice,
    verify_webhook,
)
from services.portal.domain.documents import check_copy, file_name
from services.portal.domain.forms import (
    CALLBACK_MAX_DAYS,
    CATEGORIES,
    SLOTS,
    CallbackDecision,
    DisputeDecision,
    Errors,
    FieldError,
    FormFields,
    PaymentDecision,
    PromiseDecision,
    check_callback,
    check_dispute,
    check_payment,
    check_promise,
)
from services.portal.domain.payment import announced_payment, idempotency_key, verify_signature
from services.portal.domain.plans import PlanDecision, check_plan, rules_for
from services.portal.errors import (
    BodyTooLarge,
    DocumentAltered,
    DocumentMissing,
    DocumentStoreFailed,
    PageRefused,
    PaymentRefused,
    ProviderFailed,
    SignatureRefused,
)
from services.portal.gocardless import DebitToStart, GoCardlessDirectDebit
from services.portal.guard import RateLimit, form_fields, form_with_files, secured
from services.portal.owner_links import DisputeLinks
from services.portal.settings import PortalSettings
from services.portal.statement_pdf import Issuer, Receipt, statement_file_name, statement_pdf
from services.portal.stripe import InvoiceToPay, StripeCheckout
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.signed_links import CustomerLink, CustomerLinks, LinkExpired, LinkTampered

COMMAND_NAMESPACE = uuid.UUID("6f1c2a9e-8b47-4d0e-9a35-2c7e51b4d8f0")
TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = (Path(__file__).parent / "static" / "portal.css").read_bytes()
SOURCE = "portal"
logger = logging.getLogger(__name__)


def templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment


class Words:
    """The words of one page language, with Babel's money and dates."""

    def __init__(self, language: str) -> None:
        self.language = i18n.language_of(language)
        self._words = i18n.WORDS[self.language]

    def __call__(self, key: str, **values: object) -> str:
        return self._words[key].format(**values)

    def money(self, amount: Any, currency: str) -> str:
        return i18n.money(amount, currency, self.language)

    def day(self, value: Any) -> str:
        return i18n.day(value, self.language)


class Pages:
    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        settings: PortalSettings,
        links: CustomerLinks,
        topic: Topic = DISPUTE_COMMANDS,
        checkout: StripeCheckout | None = None,
        documents: DocumentStore | None = None,
        direct_debit: GoCardlessDirectDebit | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.settings = settings
        self.links = links
        self.topic = topic
        self.environment = templates()
        self.rate_limit = RateLimit(clock, settings.requests_per_minute)
        self.checkout = checkout
        self.documents = documents
        self.form_targets: tuple[str, ...] = (settings.stripe.checkout_origin,) if checkout else ()
        self.direct_debit = direct_debit
        self.brands: dict[str, Brand] = (
            load_brands(settings.companies_file) if settings.companies_file else {}
        )
        if direct_debit is not None:
            self.form_targets += (settings.gocardless.flow_origin,)
        self.owner_links = DisputeLinks(settings.links, clock)

    def routes(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/portal/static/portal.css", self.stylesheet, methods=["GET"])
        router.add_api_route("/portal/brand/{code}/brand.css", self.brand_sheet, methods=["GET"])
        router.add_api_route("/portal/brand/{code}/logo", self.brand_logo, methods=["GET"])
        router.add_api_route(
            "/portal/dispute/{token}", self._answering(self.owner_page), methods=["GET"]
        )
        router.add_api_route(
            "/portal/dispute/{token}/answer", self._answering(self.owner_answer), methods=["POST"]
        )
        router.add_api_route(
            "/portal/dispute/{token}/resolve",
            self._answering(self.owner_resolve),
            methods=["POST"],
        )
        router.add_api_route(
            "/portal/dispute/{token}/attachments/{number}",
            self._answering(self.owner_attachment),
            methods=["GET"],
        )
        router.add_api_route("/portal/{token}", self._answering(self.page), methods=["GET"])
        router.add_api_route(
            "/portal/{token}/promise", self._answering(self.promise), methods=["POST"]
        )
        router.add_api_route(
            "/portal/{token}/dispute", self._answering(self.dispute), methods=["POST"]
        )
        router.add_api_route(
            "/portal/{token}/callback", self._answering(self.callback), methods=["POST"]
        )
        router.add_api_route("/portal/{token}/plan", self._answering(self.plan), methods=["POST"])
        router.add_api_route(
            "/portal/{token}/statement.pdf", self._answering(self.statement), methods=["GET"]
        )
        if self.documents is not None:
            router.add_api_route(
                "/portal/{token}/copy/{invoice_id:path}",
                self._answering(self.copy),
                methods=["GET"],
            )
        if self.checkout is not None:
            router.add_api_route("/portal/webhooks/stripe", self.stripe_webhook, methods=["POST"])
            router.add_api_route("/portal/{token}/pay", self._answering(self.pay), methods=["POST"])
        if self.direct_debit is not None:
            router.add_api_route(
                "/portal/webhooks/gocardless", self.gocardless_webhook, methods=["POST"]
            )
            router.add_api_route(
                "/portal/{token}/debit", self._answering(self.debit), methods=["POST"]
            )
            if self.settings.gocardless.bank_transfer:
                router.add_api_route(
                    "/portal/{token}/transfer", self._answering(self.transfer), methods=["POST"]
                )
        # anything else under /portal: a page with the same headers, not the framework's JSON
        router.add_api_route(
            "/portal/{anything:path}", self._answering(self.unknown), methods=["GET", "POST"]
        )
        return router

    async def owner_page(self, request: Request) -> Response:
        return await owner_pages.owner_page(self, request)

    async def owner_answer(self, request: Request) -> Response:
        return await owner_pages.answer(self, request)

    async def owner_resolve(self, request: Request) -> Response:
        return await owner_pages.resolve(self, request)

    async def owner_attachment(self, request: Request) -> Response:
        return await owner_pages.attachment(self, request)

    async def unknown(self, request: Request) -> Response:
        language = i18n.from_accept_language(request.headers.get("accept-language"))
        raise PageRefused(404, "not_found_title", "not_found_text", language)

    async def stylesheet(self) -> Response:
        response = Response(STYLESHEET, media_type="text/css")
        secured(response)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    async def brand_sheet(self, code: str) -> Response:
        brand = self.brands.get(code)
        if brand is None or not brand.stylesheet:
            return _plain(404, "no such company")
        response = Response(brand.stylesheet, media_type="text/css")
        secured(response)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    async def brand_logo(self, code: str) -> Response:
        brand = self.brands.get(code)
        if brand is None or brand.logo is None:
            return _plain(404, "no such company")
        body, media_type = brand.logo
        response = Response(body, media_type=media_type)
        secured(response)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    # access -----------------------------------------------------------------------------

    async def _access(self, request: Request) -> tuple[CustomerLink, Mapping[str, Any]]:
        """Who the link is for, and their customer row; refuses bad, expired, revoked or
        too frequent requests."""
        address = request.client.host if request.client else "unknown"
        browser_language = i18n.from_accept_language(request.headers.get("accept-language"))
        try:
            link = self.links.check(request.path_params["token"])
        except LinkExpired as exc:
            language = browser_language
            if exc.customer_id and exc.company_code:
                row = await self.pool.fetchrow(queries.CUSTOMER, exc.customer_id, exc.company_code)
                language = i18n.language_of(row["language"]) if row else browser_language
            if not self.rate_limit.allow("expired", address):
                raise PageRefused(429, "too_many", "too_many", language) from exc
            raise PageRefused(410, "expired_title", "expired_text", language) from exc
        except LinkTampered as exc:
            if not self.rate_limit.allow("tampered", address):  # slows down guessing
                raise PageRefused(429, "too_many", "too_many", browser_language) from exc
            raise PageRefused(403, "tampered_title", "tampered_text", browser_language) from exc
        row = await self.pool.fetchrow(queries.CUSTOMER, link.customer_id, link.company_code)
        language = i18n.language_of(row["language"]) if row else browser_language
        if not self.rate_limit.allow(link.customer_id, link.company_code, address):
            raise PageRefused(429, "too_many", "too_many", language)
        revoked = await self.pool.fetchval(
            queries.REVOKED_SINCE, link.customer_id, link.company_code
        )
        if revoked is not None and link.signed_at <= revoked:
            raise PageRefused(403, "tampered_title", "tampered_text", language)
        if row is None:
            raise PageRefused(404, "not_found_title", "not_found_text", language)
        return link, dict(row)

    async def _account(self, link: CustomerLink) -> Account:
        today = self.clock.now().date()
        invoices = [
            OpenInvoice(**dict(r))
            for r in await self.pool.fetch(
                queries.OPEN_INVOICES, link.customer_id, link.company_code
            )
        ]
        pauses = [
            Pause(r["kind"], frozenset(r["invoice_ids"]), r["whole_account"], r["until"])
            for r in await self.pool.fetch(queries.PAUSES, link.customer_id)
        ]
        return account_of(invoices, pauses, today)

    # pages ------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        link, customer = await self._access(request)
        done = request.query_params.get("done")
        thanks = (
            f"thanks_{done}"
            if done
            in (
                "promise",
                "dispute",
                "payment",
                "callback",
                "plan",
                "debit",
                "debit_paid",
                "transfer",
                "transfer_paid",
            )
            else None
        )
        return await self._render(request, link, customer, thanks=thanks)

    async def _render(
        self,
        request: Request,
        link: CustomerLink,
        customer: Mapping[str, Any],
        *,
        thanks: str | None = None,
        form: str | None = None,
        typed: FormFields | None = None,
        errors: Errors | None = None,
        status: int = 200,
    ) -> Response:
        words = Words(customer["language"])
        account = await self._account(link)
        since = self.clock.now().date() - timedelta(days=self.settings.recent_days)
        receipts = await self.pool.fetch(
            queries.RECEIPTS_SINCE, link.customer_id, link.company_code, since
        )
        token = request.path_params["token"]
        payable = {
            line.invoice.invoice_id
            for line in account.payable(line.invoice.invoice_id for line in account.lines)
        }
        plan_rules = rules_for(
            link.company_code, self.settings.plan_rules, self.settings.company_plan_rules
        )
        proposals = [
            {
                **dict(row),
                "instalments": [disputes.Instalment.model_validate(i) for i in row["instalments"]],
            }
            for row in await self.pool.fetch(
                queries.PROPOSALS_SINCE, link.customer_id, link.company_code, since
            )
        ]
        html = self.environment.get_template("account.html").render(
            plan_url=f"/portal/{token}/plan",
            plan_rules=plan_rules,
            plan_rows=range(1, plan_rules.max_instalments + 1),
            proposals=proposals,
            t=words,
            lang=words.language,
            customer=customer,
            company=(
                self.brands[link.company_code].company.legal_name
                if link.company_code in self.brands
                else self.settings.company_names.get(link.company_code, link.company_code)
            ),
            brand=self.brands.get(link.company_code),
            account=account,
            payable=payable,
            receipts=receipts,
            recent_days=self.settings.recent_days,
            thanks=thanks,
            form=form,
            typed=typed or {},
            errors=errors or {},
            field_ids={
                "invoice": f"{form}-invoice-1",
                "promised_date": "promised-date",
                "category": "category",
                "message": "message",
                "phone": "phone",
                "callback_date": "callback-date",
                "slot": "slot-morning",
                "attachment": "attachment",
                "plan_instalments": "instalment-date-1",
                "plan_total": "instalment-amount-1",
                **{
                    f"instalment_{what}_{n}": f"instalment-{what}-{n}"
                    for what in ("date", "amount")
                    for n in range(1, plan_rules.max_instalments + 1)
                },
            },
            attachments=(
                {
                    "count": self.settings.max_attachments,
                    "max": self.settings.max_attachment_bytes // 2**20,
                }
                if self.documents and self.settings.max_attachments
                else None
            ),
            slots=tuple(SLOTS),
            callback_latest=(
                self.clock.now().date() + timedelta(days=CALLBACK_MAX_DAYS)
            ).isoformat(),
            callback_url=f"/portal/{token}/callback",
            categories=CATEGORIES,
            today=self.clock.now().date().isoformat(),
            latest=(
                self.clock.now().date() + timedelta(days=self.settings.max_promise_days)
            ).isoformat(),
            promise_url=f"/portal/{token}/promise",
            dispute_url=f"/portal/{token}/dispute",
            pay_url=f"/portal/{token}/pay" if self.checkout else None,
            debit_url=f"/portal/{token}/debit" if self.direct_debit else None,
            transfer_url=(
                f"/portal/{token}/transfer"
                if self.direct_debit and self.settings.gocardless.bank_transfer
                else None
            ),
            copy_url=f"/portal/{token}/copy/" if self.documents else None,
            statement_url=f"/portal/{token}/statement.pdf",
            documented=await self._documented(link),
        )
        return HTMLResponse(html, status_code=status)

    # the statement as PDF ----------------------------------------------------------------

    async def statement(self, request: Request) -> Response:
        """The account's statement as PDF, from the read model, scoped to the link's
        customer and company like the page."""
        link, customer = await self._access(request)
        language = i18n.language_of(customer["language"])
        account = await self._account(link)
        today = self.clock.now().date()
        since = today - timedelta(days=self.settings.recent_days)
        receipts = [
            Receipt(**dict(row))
            for row in await self.pool.fetch(
                queries.RECEIPTS_SINCE, link.customer_id, link.company_code, since
            )
        ]
        brand = self.brands.get(link.company_code)
        issuer = Issuer(
            name=(
                brand.company.legal_name
                if brand
                else self.settings.company_names.get(link.company_code, link.company_code)
            ),
            company=brand.company if brand else None,
            logo=brand.logo[0] if brand and brand.logo else None,
        )
        body = await asyncio.to_thread(  # fpdf2 is CPU work: the other requests go on
            statement_pdf,
            issuer=issuer,
            customer_name=customer["name"],
            account=account,
            receipts=receipts,
            language=language,
            today=today,
            recent_days=self.settings.recent_days,
        )
        metrics.STATEMENTS.labels(SOURCE).inc()
        name = statement_file_name(i18n.WORDS[language]["statement_file"], today)
        return Response(
            body,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    # invoice copies ---------------------------------------------------------------------

    async def _documented(self, link: CustomerLink) -> frozenset[str]:
        if self.documents is None:
            return frozenset()
        rows = await self.pool.fetch(
            queries.DOCUMENTED_INVOICES, link.customer_id, link.company_code
        )
        return frozenset(r["invoice_id"] for r in rows)

    async def copy(self, request: Request) -> Response:
        """The copy of one of this link's invoices, checked against the ERP's digest. Any
        other invoice id (another customer's, a forged one) is 404, counted."""
        link, customer = await self._access(request)
        language = i18n.language_of(customer["language"])
        invoice_id = request.path_params["invoice_id"]
        row = await self.pool.fetchrow(
            queries.DOCUMENT_OF, invoice_id, link.customer_id, link.company_code
        )
        if row is None:
            metrics.COPIES.labels(SOURCE, "refused").inc()
            logger.warning(
                "copy of %r refused to the link of %s/%s: not its invoice, or no copy",
                invoice_id[:120],
                link.customer_id,
                link.company_code,
            )
            raise PageRefused(404, "copy_missing_title", "copy_missing_text", language)
        assert self.documents is not None
        try:
            body = await self.documents.fetch(row["reference"])
            check_copy(body, row["sha256"])
        except DocumentMissing as exc:
            metrics.COPIES.labels(SOURCE, "missing").inc()
            logger.warning("copy of %s missing in the document store: %s", invoice_id, exc)
            raise PageRefused(404, "copy_missing_title", "copy_missing_text", language) from exc
        except (DocumentStoreFailed, DocumentAltered) as exc:
            outcome = "altered" if isinstance(exc, DocumentAltered) else "store_failed"
            metrics.COPIES.labels(SOURCE, outcome).inc()
            logger.error("copy of %s not served (%s): %s", invoice_id, outcome, exc)
            raise PageRefused(502, "copy_failed_title", "copy_failed_text", language) from exc
        metrics.COPIES.labels(SOURCE, "served").inc()
        name = file_name(row["invoice_number"], row["media_type"])
        return Response(
            body,
            media_type=row["media_type"],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # forms ------------------------------------------------------------------------------

    async def _form(self, request: Request, customer: Mapping[str, Any]) -> FormFields:
        try:
            return await form_fields(request, self.settings.max_form_bytes)
        except BodyTooLarge:
            raise PageRefused(
                413, "too_large", "too_large", i18n.language_of(customer["language"])
            ) from None

    async def promise(self, request: Request) -> Response:
        link, customer = await self._access(request)
        typed = await self._form(request, customer)
        account = await self._account(link)
        checked = check_promise(
            typed, account, self.clock.now().date(), self.settings.max_promise_days
        )
        if not isinstance(checked, PromiseDecision):
            return await self._render(
                request, link, customer, form="promise", typed=typed, errors=checked, status=422
            )
        ids = tuple(sorted(line.invoice.invoice_id for line in checked.lines))
        key = f"{link.customer_id}/{link.company_code}/promise/{checked.promised_date}/{ids}"
        command = disputes.RecordPromise(
            event_id=uuid.uuid5(COMMAND_NAMESPACE, key + "/event"),
            occurred_at=self.clock.now(),
            source=SOURCE,
            payload=disputes.Promise(
                promise_id=uuid.uuid5(COMMAND_NAMESPACE, key),
                customer_id=link.customer_id,
                invoice_ids=ids,
                promised_date=checked.promised_date,
                amount={"amount": checked.amount, "currency": checked.currency},
                channel="portal",
                recorded_by=f"portal:{link.customer_id}",
            ),
        )
        await self._send(command)
        return self._done(request, "promise")

    async def dispute(self, request: Request) -> Response:
        """A dispute with its documents: each checked by its content, stored in the
        document store under the dispute, and named in ``dispute.open``."""
        link, customer = await self._access(request)
        accepts_files = self.documents is not None and self.settings.max_attachments > 0
        files_limit = self.settings.max_form_bytes + (
            self.settings.max_attachments * self.settings.max_attachment_bytes
        )
        try:
            typed, files = await form_with_files(
                request,
                self.settings.max_form_bytes,
                files_limit,
                # a few more than allowed, so that too many is said beside the field
                2 * self.settings.max_attachments + 1 if accepts_files else 0,
            )
        except BodyTooLarge:
            raise PageRefused(
                413, "too_large", "too_large", i18n.language_of(customer["language"])
            ) from None
        account = await self._account(link)
        checked = check_dispute(typed, account)
        attached = check_attachments(
            [(f.file_name, f.body) for f in files],
            self.settings.max_attachment_bytes,
            self.settings.max_attachments if accepts_files else 0,
        )
        errors = {} if isinstance(checked, DisputeDecision) else dict(checked)
        if isinstance(attached, FieldError):
            errors["attachment"] = attached
        if errors or not isinstance(checked, DisputeDecision) or isinstance(attached, FieldError):
            return await self._render(
                request, link, customer, form="dispute", typed=typed, errors=errors, status=422
            )
        ids = tuple(sorted(line.invoice.invoice_id for line in checked.lines))
        digests = tuple(a.sha256 for a in attached)
        key = f"{link.customer_id}/{link.company_code}/dispute/{ids}/{checked.category}" + (
            f"/{digests}" if digests else ""
        )
        dispute_id = uuid.uuid5(COMMAND_NAMESPACE, key)
        stored = await self._store_attachments(link, customer, dispute_id, attached)
        command = disputes.OpenDispute(
            event_id=uuid.uuid5(COMMAND_NAMESPACE, key + "/event"),
            occurred_at=self.clock.now(),
            source=SOURCE,
            payload=disputes.DisputeRequest(
                dispute_id=dispute_id,
                customer_id=link.customer_id,
                invoice_ids=ids,
                category=checked.category,
                text=checked.message,
                raised_by="portal",
                attachments=stored,
            ),
        )
        await self._send(command)
        return self._done(request, "dispute")

    async def _store_attachments(
        self,
        link: CustomerLink,
        customer: Mapping[str, Any],
        dispute_id: uuid.UUID,
        attached: list[CheckedAttachment],
    ) -> tuple[disputes.Attachment, ...]:
        """Each document in the store before the command is sent: a dispute never names a
        document the store does not have. A failure is a page (502); nothing is sent."""
        stored = []
        for number, attachment in enumerate(attached, start=1):
            reference = attachment.reference(link.customer_id, str(dispute_id), number)
            assert self.documents is not None
            try:
                await self.documents.store(reference, attachment.body, attachment.media_type)
            except DocumentStoreFailed as exc:
                logger.error("attachment of dispute %s not stored: %s", dispute_id, exc)
                raise PageRefused(
                    502,
                    "attachment_failed_title",
                    "attachment_failed_text",
                    i18n.language_of(customer["language"]),
                ) from exc
            stored.append(
                disputes.Attachment(
                    reference=reference,
                    media_type=attachment.media_type,
                    size=len(attachment.body),
                    sha256=attachment.sha256,
                    file_name=attachment.file_name,
                )
            )
        return tuple(stored)

    async def callback(self, request: Request) -> Response:
        """The customer asks to be called back: a ``callback.request`` for the account's
        owner, kept by the disputes service."""
        link, customer = await self._access(request)
        typed = await self._form(request, customer)
        checked = check_callback(typed, self.clock.now().date())
        if not isinstance(checked, CallbackDecision):
            return await self._render(
                request, link, customer, form="callback", typed=typed, errors=checked, status=422
            )
        key = (
            f"{link.customer_id}/{link.company_code}/callback/{checked.phone}/"
            f"{checked.on}/{checked.slot}"
        )
        command = disputes.RequestCallback(
            event_id=uuid.uuid5(COMMAND_NAMESPACE, key + "/event"),
            occurred_at=self.clock.now(),
            source=SOURCE,
            payload=disputes.CallbackRequest(
                request_id=uuid.uuid5(COMMAND_NAMESPACE, key),
                customer_id=link.customer_id,
                company_code=link.company_code,
                phone=checked.phone,
                on=checked.on,
                slot=checked.slot,
                requested_by=f"portal:{link.customer_id}",
            ),
        )
        await self._send(command)
        return self._done(request, "callback")

    async def plan(self, request: Request) -> Response:
        """The customer proposes a payment plan within the company's rules: a
        ``payment_plan.propose`` for a credit manager to accept or refuse."""
        link, customer = await self._access(request)
        typed = await self._form(request, customer)
        account = await self._account(link)
        today = self.clock.now().date()
        rules = rules_for(
            link.company_code, self.settings.plan_rules, self.settings.company_plan_rules
        )
        checked = check_plan(typed, account, today, rules)
        if not isinstance(checked, PlanDecision):
            return await self._render(
                request, link, customer, form="plan", typed=typed, errors=checked, status=422
            )
        ids = tuple(sorted(line.invoice.invoice_id for line in checked.lines))
        key = f"{link.customer_id}/{link.company_code}/plan/{ids}/{checked.instalments}"
        command = disputes.ProposePaymentPlan(
            event_id=uuid.uuid5(COMMAND_NAMESPACE, key + "/event"),
            occurred_at=self.clock.now(),
            source=SOURCE,
            payload=disputes.PlanProposal(
                proposal_id=uuid.uuid5(COMMAND_NAMESPACE, key),
                customer_id=link.customer_id,
                company_code=link.company_code,
                invoice_ids=ids,
                proposed_on=today,
                instalments=tuple(
                    disputes.Instalment(
                        due_date=day, amount={"amount": amount, "currency": checked.currency}
                    )
                    for day, amount in checked.instalments
                ),
                proposed_by=f"portal:{link.customer_id}",
            ),
        )
        await self._send(command)
        return self._done(request, "plan")

    async def pay(self, request: Request) -> Response:
        link, customer = await self._access(request)
        typed = await self._form(request, customer)
        account = await self._account(link)
        checked = check_payment(typed, account)
        if not isinstance(checked, PaymentDecision):
            return await self._render(
                request, link, customer, form="pay", typed=typed, errors=checked, status=422
            )
        twice = not_paid_twice(
            [line.invoice.invoice_id for line in checked.lines], await self._being_paid(link)
        )
        if twice:
            return await self._render(
                request, link, customer, form="pay", typed=typed, errors=twice, status=422
            )
        assert self.checkout is not None
        token = request.path_params["token"]
        public = self.settings.links.base_url or str(request.base_url)
        here = f"{public.rstrip('/')}/portal/{token}"
        invoices = [
            InvoiceToPay(
                line.invoice.invoice_id,
                line.invoice.invoice_number,
                line.invoice.open_amount,
                line.invoice.currency,
            )
            for line in sorted(checked.lines, key=lambda line: line.invoice.invoice_id)
        ]
        key = idempotency_key(
            link.customer_id,
            link.company_code,
            [(i.invoice_id, i.amount) for i in invoices],
            token,
        )
        try:
            session = await self.checkout.create_session(
                customer_id=link.customer_id,
                company_code=link.company_code,
                invoices=invoices,
                language=i18n.language_of(customer["language"]),
                success_url=f"{here}?done=payment",
                cancel_url=here,
                idempotency_key=key,
            )
        except ProviderFailed as exc:
            logger.warning(
                "checkout for %s/%s failed: %s", link.customer_id, link.company_code, exc
            )
            raise PageRefused(
                502,
                "provider_failed_title",
                "provider_failed_text",
                i18n.language_of(customer["language"]),
            ) from exc
        return RedirectResponse(session.url, 303)

    async def stripe_webhook(self, request: Request) -> Response:
        """Stripe's notification: 400 and nothing sent unless its signature verifies; a paid
        session becomes an announced payment (its id derives from the session, so Stripe's
        retries are one command); other events are acknowledged and ignored."""
        stripe = self.settings.stripe
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > stripe.max_webhook_bytes:
                return _plain(413, "payload too large")
        try:
            verify_signature(
                bytes(body),
                request.headers.get("stripe-signature"),
                [secret.get_secret_value() for secret in stripe.webhook_secrets],
                self.clock.now(),
                stripe.tolerance_s,
            )
            event = json.loads(body)
            if not isinstance(event, dict):
                raise PaymentRefused("the event is not a JSON object")
            payment = announced_payment(event, self.clock.now().date())
        except (PaymentRefused, ValueError) as exc:
            metrics.WEBHOOKS.labels(SOURCE, "stripe", "refused").inc()
            logger.warning("Stripe webhook refused: %s", exc)
            return _plain(400, str(exc))
        if payment is None:
            return _plain(200, "ignored")
        key = f"stripe/{payment.session_id}"
        command = disputes.RecordPromise(
            event_id=uuid.uuid5(COMMAND_NAMESPACE, key + "/event"),
            occurred_at=self.clock.now(),
            source=SOURCE,
            payload=disputes.Promise(
                promise_id=uuid.uuid5(COMMAND_NAMESPACE, key),
                customer_id=payment.customer_id,
                invoice_ids=payment.invoice_ids,
                promised_date=payment.paid_on,
                amount={"amount": payment.amount, "currency": payment.currency},
                channel="portal",
                recorded_by=f"stripe:{payment.session_id}"[:200],
                kind="payment_announced",
            ),
        )
        await self._send(command)
        return _plain(200, "announced")

    async def debit(self, request: Request) -> Response:
        """Pay chosen invoices by SEPA direct debit: the debit of this choice (one per
        choice until it fails), its billing request created once, and a redirect to a new
        Billing Request Flow. A choice already paid goes back to the account, paid."""
        return await self._gocardless(request, "debit")

    async def transfer(self, request: Request) -> Response:
        """Pay chosen invoices by bank transfer (GoCardless Instant Bank Pay): as a direct
        debit, with a billing request holding a payment request only (no mandate), in the
        scheme of its currency; its own choice key, so its own idempotency key."""
        return await self._gocardless(request, "transfer")

    async def _gocardless(self, request: Request, kind: str) -> Response:
        link, customer = await self._access(request)
        typed = await self._form(request, customer)
        account = await self._account(link)
        assert self.direct_debit is not None
        transfer = kind == "transfer"
        currencies = (
            tuple(self.settings.gocardless.transfer_schemes)
            if transfer
            else self.settings.gocardless.currencies
        )
        checked = check_debit(typed, account, currencies, f"{kind}_currency")
        if not isinstance(checked, PaymentDecision):
            return await self._render(
                request, link, customer, form=kind, typed=typed, errors=checked, status=422
            )
        lines = sorted(checked.lines, key=lambda line: line.invoice.invoice_id)
        chosen = [(line.invoice.invoice_id, line.invoice.open_amount) for line in lines]
        now = self.clock.now()
        choice = choice_key(link.customer_id, link.company_code, chosen)
        if transfer:  # never the same key as a direct debit of the same invoices
            choice = f"transfer:{choice}"
        twice = not_paid_twice(
            [invoice_id for invoice_id, _ in chosen], await self._being_paid(link)
        )
        if twice:
            latest = await self.pool.fetchrow(queries.LATEST_DEBIT, choice)
            if latest is not None and latest["status"] in PAID_STATES:
                return self._done(request, f"{kind}_paid")  # this very choice, authorised
            return await self._render(
                request, link, customer, form=kind, typed=typed, errors=twice, status=422
            )
        debit = await debits.debit_for(
            self.pool,
            now,
            choice,
            link.customer_id,
            link.company_code,
            chosen,
            checked.currency,
            kind,
        )
        if debit.status in PAID_STATES:
            return self._done(request, f"{kind}_paid")
        token = request.path_params["token"]
        public = self.settings.links.base_url or str(request.base_url)
        here = f"{public.rstrip('/')}/portal/{token}"
        language = i18n.language_of(customer["language"])
        try:
            started = await self.direct_debit.start(
                DebitToStart(
                    debit_id=str(debit.debit_id),
                    customer_id=link.customer_id,
                    company_code=link.company_code,
                    invoice_numbers=[line.invoice.invoice_number for line in lines],
                    amount=sum((amount for _, amount in chosen), Decimal(0)),
                    currency=checked.currency,
                    language=language,
                    transfer=transfer,
                ),
                redirect_uri=f"{here}?done={kind}",
                exit_uri=here,
            )
        except ProviderFailed as exc:
            logger.warning(
                "%s for %s/%s failed: %s", kind, link.customer_id, link.company_code, exc
            )
            raise PageRefused(
                502, "provider_failed_title", "provider_failed_text", language
            ) from exc
        await debits.requested(self.pool, now, debit.debit_id, started.billing_request_id)
        return RedirectResponse(started.authorisation_url, 303)

    async def _being_paid(self, link: CustomerLink) -> frozenset[str]:
        rows = await self.pool.fetch(queries.BEING_PAID, link.customer_id, link.company_code)
        return frozenset(r["invoice_id"] for r in rows)

    async def gocardless_webhook(self, request: Request) -> Response:
        """GoCardless's batch of events: 498 and nothing changed unless its
        ``Webhook-Signature`` verifies (counted); otherwise every event applied in one
        transaction, 204."""
        settings = self.settings.gocardless
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > settings.max_webhook_bytes:
                return _plain(413, "payload too large")
        try:
            verify_webhook(
                bytes(body),
                request.headers.get("webhook-signature"),
                [secret.get_secret_value() for secret in settings.webhook_secrets],
            )
        except SignatureRefused as exc:
            metrics.WEBHOOKS.labels(SOURCE, "gocardless", "refused").inc()
            logger.warning("GoCardless webhook refused: %s", exc)
            return _plain(498, "invalid signature")
        try:
            events = debit_events(json.loads(body))
        except (PaymentRefused, ValueError) as exc:
            metrics.WEBHOOKS.labels(SOURCE, "gocardless", "malformed").inc()
            logger.warning("GoCardless webhook malformed: %s", exc)
            return _plain(400, str(exc))
        counts = await debits.apply_events(self.pool, self.clock.now(), events, self.topic)
        for outcome, count in counts.items():
            metrics.WEBHOOKS.labels(SOURCE, "gocardless", outcome).inc(count)
        return Response(status_code=204)

    def _done(self, request: Request, what: str) -> Response:
        return RedirectResponse(f"/portal/{request.path_params['token']}?done={what}", 303)

    async def _send(
        self,
        command: disputes.RecordPromise
        | disputes.OpenDispute
        | disputes.RequestCallback
        | disputes.ProposePaymentPlan,
    ) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await outbox.enqueue(connection, [outbox.OutgoingRecord.of(self.topic, command)])

    # errors -----------------------------------------------------------------------------

    def _answering(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """A route whose every answer carries the security headers, and whose refusals are
        pages in the customer's language."""

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except PageRefused as refused:
                response = self._refused(refused, self._company_of(request))
            return secured(response, self.form_targets)

        return route

    def _company_of(self, request: Request) -> str | None:
        """The company of the link in the path, when its signature verifies (expired or
        not), so that a refusal page still shows the invoicing company; none when tampered."""
        token = request.path_params.get("token")
        if not token:
            return None
        try:
            return self.links.check(token).company_code
        except LinkExpired as exc:
            return exc.company_code
        except LinkTampered:
            return None

    def _refused(self, refused: PageRefused, company_code: str | None = None) -> Response:
        words = Words(refused.language)
        html = self.environment.get_template("refused.html").render(
            brand=self.brands.get(company_code) if company_code else None,
            t=words,
            lang=words.language,
            title=words(refused.title_key),
            text=words(refused.text_key),
        )
        response = HTMLResponse(html, status_code=refused.status)
        if refused.status == 429:
            response.headers["Retry-After"] = "60"
        return response


def _plain(status: int, text: str) -> Response:
    return secured(Response(text, status_code=status, media_type="text/plain"))
