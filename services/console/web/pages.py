"""The console's routes: sign-in, My day, a customer, search.

A thin shell: each route finds who is asking (the session cookie, or a bearer token from
the gateway), checks role and portfolio on the server, reads the read model, renders a
template. Failures become pages: no session sends to the sign-in page, a refusal is a 403
page, a form without its anti-forgery token a 403 page, too many failed sign-ins a 429.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote
from uuid import UUID, uuid4

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from contracts.dunning import DunningLevel
from contracts.topics import DUNNING_COMMANDS, Topic
from services.console import audit, read_model
from services.console.domain.audit import AuditEntry, audit_entry
from services.console.domain.commands import FIELDS
from services.console.domain.header import account_team_of, holds_in_force
from services.console.domain.interest import OpenInvoice, accrued_interest, reductions_of
from services.console.errors import CsrfRefused, SignInFailed, SignInNeeded
from services.console.notifier import NotifierPreviews
from services.console.scheduler import SchedulerOperations
from services.console.settings import ConsoleSettings
from services.console.web import (
    callbacks,
    deliveries,
    operations,
    own_calls,
    plans,
    proposals,
    workplace,
)
from services.console.web.actions import act
from services.console.web.actions import message as act_message
from services.console.web.i18n import LANGUAGES, Pages
from services.console.web.oidc import OidcClient, Pending
from services.console.web.security import CSRF_FIELD, Cookies, new_csrf_token, protect
from services.runtime.auth import SIGN_INS, Authenticator
from services.runtime.clock import Clock
from services.runtime.database import Pool
from services.runtime.identity import (
    Identity,
    Refused,
    SignInThrottled,
    Unauthenticated,
    authorize,
    check_password,
    require_role,
)
from services.runtime.late_payment import law_of
from services.runtime.logs import get_logger

log = get_logger(__name__)

STATIC = Path(__file__).parent.parent / "static"
STATIC_FILES = {"console.css": "text/css"}
SERVICE = "console"
DUNNING_LEVELS: tuple[str, ...] = get_args(DunningLevel)
REFUSALS_SHOWN_DAYS = 7  # My day shows the reader's refused decisions of the last week


class Console:
    """The pages of one console process: its read model, clock, sign-in and templates."""

    def __init__(
        self,
        pool: Pool,
        clock: Clock,
        settings: ConsoleSettings,
        authenticator: Authenticator,
        commands_topic: Topic = DUNNING_COMMANDS,
        new_command_id: Callable[[], UUID] = uuid4,
        notifier: NotifierPreviews | None = None,
        scheduler: SchedulerOperations | None = None,
    ) -> None:
        self.pool = pool
        self.notifier = notifier or NotifierPreviews(settings)
        self.scheduler = scheduler or SchedulerOperations(settings)
        self.commands_topic = commands_topic
        self.new_command_id = new_command_id
        self.clock = clock
        self.settings = settings
        self.auth = authenticator
        lifetime = authenticator.tokens.lifetime_s if authenticator.tokens else 900
        self.cookies = Cookies(settings.secure_cookies, lifetime)
        self.pages = Pages(settings.default_language)
        self.oidc = (
            OidcClient(settings.oidc, authenticator.oidc)
            if settings.oidc.client_id and authenticator.oidc is not None
            else None
        )
        for environment in self.pages.environments.values():
            environment.globals["customer_url"] = customer_url

    # --- who is asking ------------------------------------------------------------------

    async def identity(self, request: Request) -> Identity:
        """The signed-in identity (session cookie, or a bearer token from the gateway)."""
        request.state.auth_service = SERVICE
        token = request.cookies.get(self.cookies.session)
        try:
            if token and self.auth.tokens is not None:
                identity = self.auth.tokens.verify(token, self.clock.now().timestamp())
                request.state.renew_session = True
            else:
                header = request.headers.get("authorization", "")
                scheme, _, credential = header.partition(" ")
                if scheme.lower() != "bearer" or not credential.strip():
                    raise SignInNeeded
                identity = await self.auth.identify(credential.strip())
        except Unauthenticated as exc:
            raise SignInNeeded from exc
        request.state.identity = identity
        require_role(identity, "viewer")
        return identity

    def language(self, request: Request) -> str:
        return self.pages.language_of(
            request.cookies.get(self.cookies.language), request.headers.get("accept-language")
        )

    def render(
        self,
        request: Request,
        template: str,
        status_code: int = 200,
        identity: Identity | None = None,
        **values: Any,
    ) -> HTMLResponse:
        csrf, fresh = self.cookies.csrf_token(request)
        language = self.language(request)
        body = self.pages.render(
            language,
            template,
            csrf_field=CSRF_FIELD,
            csrf_token=csrf,
            identity=identity,
            path=request.url.path,
            **values,
        )
        response = HTMLResponse(body, status_code=status_code)
        if fresh:
            self.cookies.set_csrf(response, csrf)
        protect(response)
        return response

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form, once its anti-forgery token is checked."""
        data = await request.form()
        self.cookies.check_csrf(request, data.get(CSRF_FIELD))
        return {k: v for k, v in data.items() if isinstance(v, str)}

    # --- the pages ----------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        await self.identity(request)
        return protect(RedirectResponse("/my-day", status_code=303))

    def sign_in_values(self) -> dict[str, Any]:
        return {
            "local_accounts": bool(self.auth.tokens and self.auth.accounts),
            "provider": self.oidc is not None,
        }

    async def sign_in_page(self, request: Request) -> Response:
        return self.render(request, "sign_in.html", failed=False, **self.sign_in_values())

    async def sign_in_with_provider(self, request: Request) -> Response:
        if self.oidc is None:
            return self.render(request, "not_found.html", status_code=404)
        try:
            url, pending = await self.oidc.start(self.redirect_uri(request))
        except SignInFailed as exc:
            log.warning("identity_provider_unavailable", detail=str(exc))
            return self.render(
                request, "sign_in.html", status_code=503, unavailable=True, **self.sign_in_values()
            )
        response = RedirectResponse(url, status_code=303)
        self.cookies.set_pending(response, pending.cookie())
        return protect(response)

    async def provider_callback(
        self, request: Request, state: str = "", code: str = "", error: str = ""
    ) -> Response:
        if self.oidc is None or self.auth.tokens is None:
            return self.render(request, "not_found.html", status_code=404)
        pending = Pending.of(request.cookies.get(self.cookies.pending))
        try:
            if error or not code:
                raise Unauthenticated(f"the identity provider refused: {error[:100]}")
            identity = await self.oidc.finish(pending, state, code, self.redirect_uri(request))
        except (Unauthenticated, SignInFailed) as exc:
            SIGN_INS.labels(SERVICE, "refused").inc()
            log.info("sign_in_refused", provider=True, detail=str(exc))
            await self.audit(
                audit_entry(
                    "sign_in_with_provider",
                    "refused",
                    address=address_of(request),
                    reason=str(exc)[:200],
                )
            )
            refused = self.render(
                request, "sign_in.html", status_code=401, failed=True, **self.sign_in_values()
            )
            self.cookies.clear_pending(refused)
            return refused
        SIGN_INS.labels(SERVICE, "signed_in").inc()
        log.info("signed_in", subject=identity.subject, provider=True)
        await self.audit(
            audit_entry(
                "sign_in_with_provider",
                "done",
                subject=identity.subject,
                address=address_of(request),
            )
        )
        return self.open_session(identity)

    def redirect_uri(self, request: Request) -> str:
        configured = self.settings.oidc.redirect_uri
        return configured or str(request.base_url).rstrip("/") + "/sign-in/oidc/callback"

    def open_session(self, identity: Identity) -> Response:
        assert self.auth.tokens is not None
        now = self.clock.now().timestamp()
        signed_in = RedirectResponse("/my-day", status_code=303)
        self.cookies.set_session(signed_in, self.auth.tokens.issue(identity, now))
        self.cookies.set_csrf(signed_in, new_csrf_token())  # a new token once signed in
        self.cookies.clear_pending(signed_in)
        return protect(signed_in)

    async def sign_in(self, request: Request) -> Response:
        form = await self.form(request)
        login = form.get("login", "").strip()[:200]
        password = form.get("password", "")[:1000]
        address = address_of(request)
        now = self.clock.now().timestamp()
        if self.auth.tokens is None or not self.auth.accounts:
            return self.render(
                request, "sign_in.html", status_code=404, failed=False, **self.sign_in_values()
            )
        try:
            self.auth.limiter.check(login, address, now)
            identity = check_password(self.auth.accounts, login, password)
        except SignInThrottled as exc:
            SIGN_INS.labels(SERVICE, "throttled").inc()
            await self.audit(
                audit_entry(
                    "sign_in",
                    "throttled",
                    login=login,
                    address=address,
                    retry_after_s=exc.retry_after_s,
                )
            )
            response = self.render(
                request,
                "sign_in.html",
                status_code=429,
                failed=False,
                retry=exc.retry_after_s,
                **self.sign_in_values(),
            )
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        except Unauthenticated:
            self.auth.limiter.failed(login, address, now)
            SIGN_INS.labels(SERVICE, "refused").inc()
            log.info("sign_in_refused", login=login, address=address)
            await self.audit(audit_entry("sign_in", "refused", login=login, address=address))
            return self.render(
                request,
                "sign_in.html",
                status_code=401,
                failed=True,
                login=login,
                **self.sign_in_values(),
            )
        self.auth.limiter.succeeded(login)
        SIGN_INS.labels(SERVICE, "signed_in").inc()
        log.info("signed_in", subject=identity.subject)
        await self.audit(
            audit_entry("sign_in", "done", subject=identity.subject, login=login, address=address)
        )
        return self.open_session(identity)

    async def sign_out(self, request: Request) -> Response:
        await self.form(request)
        await self.audit(
            audit_entry(
                "sign_out", "done", subject=self.subject_of(request), address=address_of(request)
            )
        )
        response = RedirectResponse("/sign-in", status_code=303)
        self.cookies.clear_session(response)
        return protect(response)

    async def choose_language(self, request: Request) -> Response:
        form = await self.form(request)
        language = form.get("language", "")
        back = form.get("back", "/")
        if not back.startswith("/") or back.startswith("//") or "\\" in back:
            back = "/"  # only a path of this site: never an open redirect
        response = RedirectResponse(back, status_code=303)
        if language in LANGUAGES:
            self.cookies.set_language(response, language)
            await self.audit(
                audit_entry(
                    "language",
                    "done",
                    subject=self.subject_of(request),
                    address=address_of(request),
                    language=language,
                )
            )
        return protect(response)

    async def my_day(
        self,
        request: Request,
        company: str | None = None,
        portfolio: str | None = None,
        level: str | None = None,
        sent: str = "",
    ) -> Response:
        identity = await self.identity(request)
        company = company or None
        portfolio = portfolio or None
        companies = await read_model.companies(self.pool, identity)
        if company is not None and company not in companies:
            # A collector's portfolio may name collector codes only: the companies it covers
            # are those of its customers.
            raise Refused("portfolio", f"company {company} is outside the portfolio")
        collectors = await read_model.collectors(self.pool, identity)
        if portfolio is not None and portfolio not in collectors:
            raise Refused("portfolio", f"portfolio {portfolio} is outside the portfolio")
        filters = read_model.WorkFilter(
            company, portfolio, level if level in DUNNING_LEVELS else None
        )
        now = self.clock.now()
        items = await read_model.worklist(
            self.pool,
            identity,
            now.date(),
            now,
            filters,
            self.settings.worklist_limit,
            read_model.Reporting(
                self.settings.reporting_currency, self.settings.reporting_currencies
            ),
        )
        waiting = [UUID(i.reference) for i in items if i.kind == "proposal" and i.reference]
        shown = await read_model.proposals_by_id(
            self.pool, waiting[: self.settings.previews_on_my_day]
        )
        refused = await read_model.refused_decisions(
            self.pool,
            identity.actor,
            (*proposals.PROPOSAL_COMMANDS, proposals.BULK),
            now - timedelta(days=REFUSALS_SHOWN_DAYS),
            self.settings.worklist_limit,
        )
        return self.render(
            request,
            "my_day.html",
            identity=identity,
            items=items,
            ranking_currency=self.settings.reporting_currency,
            proposals={str(p.proposal_id): p for p in shown},
            previews=await proposals.previews(self, shown),
            refused=refused,
            sent=sent == proposals.BULK,
            bulk_command_id=self.new_command_id(),
            can_decide=identity.has("collector"),
            companies=companies,
            collectors=collectors,
            levels=DUNNING_LEVELS,
            filters=filters,
            company=company,
            back="/my-day",
            callbacks=await read_model.open_callbacks(
                self.pool, identity, self.settings.worklist_limit
            ),
            **await plans.proposal_values(self, identity, request),
        )

    async def customer(self, request: Request, customer_id: str, sent: str = "") -> Response:
        identity = await self.identity(request)
        found = await read_model.customer(self.pool, customer_id)
        if found is None:
            return self.render(request, "not_found.html", status_code=404, identity=identity)
        authorize(
            identity,
            company_code=found.company_code,
            collector_code=found.collector_code,
            segment=found.market,
        )
        today = self.clock.now().date()
        items, totals = await read_model.open_items(self.pool, customer_id, today)
        entries = await read_model.timeline(self.pool, customer_id, self.settings.timeline_limit)
        waiting = await read_model.waiting_commands(
            self.pool, customer_id, self.settings.timeline_limit
        )
        refused = await read_model.refused_commands(
            self.pool, customer_id, self.settings.timeline_limit
        )
        its_proposals = await read_model.proposals_of(
            self.pool, customer_id, self.settings.timeline_limit
        )
        interest = accrued_interest(
            [
                OpenInvoice(
                    i.invoice_number,
                    i.due_date,
                    i.currency,
                    i.amount,
                    i.open_amount,
                    i.late_interest_rate,
                )
                for i in items
            ],
            reductions_of(await read_model.open_amount_history(self.pool, customer_id)),
            law_of(country) if (country := self.creditor_country(found.company_code)) else None,
            found.customer_type,  # type: ignore[arg-type]
            await read_model.reference_rates(self.pool),
            today,
        )
        holds = holds_in_force(
            ((i.invoice_number, i.pause_reason, i.paused_until) for i in items),
            await read_model.last_hold_command(self.pool, customer_id),
            today,
        )
        # One command id per form, drawn now and carried by the form and its confirmation:
        # the same form posted twice is one command.
        command_ids = {action: self.new_command_id() for action in FIELDS}
        skip_ids = {item.invoice_id: self.new_command_id() for item in items}
        return self.render(
            request,
            "customer.html",
            identity=identity,
            customer=found,
            items=items,
            totals=totals,
            timeline=entries,
            waiting=waiting,
            refused=refused,
            proposals=its_proposals,
            holds=holds,
            interest=interest,
            account_team=account_team_of(found.tags),
            sent=sent if sent in FIELDS or sent == own_calls.COMMAND else None,
            command_ids=command_ids,
            skip_ids=skip_ids,
            can_act=identity.has("collector"),
            can_manage=identity.has("credit_manager"),
            catalogue=await self.scheduler.catalogue(),  # None: the forms offer text fields
        )

    def creditor_country(self, company_code: str) -> str | None:
        """The invoicing company's country (its late-payment law), if configured."""
        return self.settings.creditor_countries.get(company_code)

    async def action(self, request: Request, customer_id: str, action: str) -> Response:
        return await act(self, request, customer_id, action, self.commands_topic)

    async def own_call(self, request: Request, customer_id: str) -> Response:
        return await own_calls.call_page(self, request, customer_id)

    async def log_own_call(self, request: Request, customer_id: str) -> Response:
        return await own_calls.log_own_call(self, request, customer_id)

    async def action_message(self, request: Request, customer_id: str, action: str) -> Response:
        return await act_message(self, request, customer_id, action)

    async def call(self, request: Request, reminder_id: str, sent: str = "") -> Response:
        return await workplace.call_page(self, request, reminder_id, sent)

    async def call_outcome(self, request: Request, reminder_id: str) -> Response:
        return await workplace.call_outcome(self, request, reminder_id)

    async def proposal(self, request: Request, proposal_id: str, sent: str = "") -> Response:
        return await proposals.proposal_page(self, request, proposal_id, sent)

    async def decide(self, request: Request, proposal_id: str, decision: str) -> Response:
        return await proposals.decide(self, request, proposal_id, decision)

    async def approve_proposals(self, request: Request) -> Response:
        return await proposals.approve_selected(self, request)

    async def proposal_pdf(self, request: Request, proposal_id: str, version: int) -> Response:
        return await proposals.pdf(self, request, proposal_id, version)

    async def proposal_message(self, request: Request, proposal_id: str, version: int) -> Response:
        return await proposals.message(self, request, proposal_id, version)

    async def delivery(self, request: Request, delivery_id: str) -> Response:
        return await deliveries.delivery_page(self, request, delivery_id)

    async def delivery_message(self, request: Request, delivery_id: str) -> Response:
        return await deliveries.message(self, request, delivery_id)

    async def delivery_pdf(self, request: Request, delivery_id: str) -> Response:
        return await deliveries.pdf(self, request, delivery_id)

    async def delivery_document(self, request: Request, delivery_id: str, kind: str) -> Response:
        return await deliveries.document(self, request, delivery_id, kind)

    async def disputes(
        self, request: Request, owner: str = "", category: str = "", age: str = ""
    ) -> Response:
        return await workplace.disputes_page(self, request, owner, category, age)

    async def promises(self, request: Request) -> Response:
        return await workplace.promises_page(self, request)

    async def callback(self, request: Request, request_id: str, sent: str = "") -> Response:
        return await callbacks.callback_page(self, request, request_id, sent)

    async def callback_outcome(self, request: Request, request_id: str) -> Response:
        return await callbacks.callback_outcome(self, request, request_id)

    async def decide_plan(self, request: Request, proposal_id: str, decision: str) -> Response:
        return await plans.decide_plan(self, request, proposal_id, decision)

    async def team(self, request: Request) -> Response:
        return await workplace.team_page(self, request)

    async def operations(self, request: Request, sent: str = "") -> Response:
        return await workplace.operations_page(self, request, sent)

    async def operator_action(self, request: Request, action: str) -> Response:
        return await operations.scope_action(self, request, action)

    async def campaign_dry_run(self, request: Request) -> Response:
        return await operations.campaign_dry_run(self, request)

    async def campaign_launch(self, request: Request) -> Response:
        return await operations.campaign_launch(self, request)

    async def library_diff(
        self, request: Request, scenario: str = "", before: int = 1, after: int = 1
    ) -> Response:
        return await operations.library_diff_page(self, request, scenario, before, after)

    async def search(self, request: Request, q: str = "") -> Response:
        identity = await self.identity(request)
        text = q.strip()[:100]
        results = (
            await read_model.search(self.pool, identity, text, self.settings.search_limit)
            if len(text) >= 2
            else []
        )
        return self.render(request, "search.html", identity=identity, q=text, results=results)

    async def static(self, name: str) -> Response:
        kind = STATIC_FILES.get(name)
        if kind is None:
            return protect(Response(status_code=404))
        response = FileResponse(STATIC / name, media_type=kind)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return protect(response, cache=True)

    def renew_session(self, request: Request, response: Response) -> None:
        """A page seen with a valid session cookie gets a fresh one: the session ends after
        ``RELANCE_AUTH_TOKEN_LIFETIME_S`` without a page, not that long after signing in."""
        identity = getattr(request.state, "identity", None)
        if getattr(request.state, "renew_session", False) and self.auth.tokens and identity:
            now = self.clock.now().timestamp()
            self.cookies.set_session(response, self.auth.tokens.issue(identity, now))

    # --- the audit log --------------------------------------------------------------------

    async def audit(self, entry: AuditEntry) -> None:
        await audit.record(self.pool, self.clock, entry)

    def subject_of(self, request: Request) -> str | None:
        """Who the session cookie names, if it is still valid (signing out or choosing a
        language needs no session)."""
        token = request.cookies.get(self.cookies.session)
        if not token or self.auth.tokens is None:
            return None
        try:
            return self.auth.tokens.verify(token, self.clock.now().timestamp()).subject
        except Unauthenticated:
            return None

    # --- failures as pages --------------------------------------------------------------

    async def failure(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, SignInNeeded):
            return protect(RedirectResponse("/sign-in", status_code=303))
        identity = getattr(request.state, "identity", None)
        subject = identity.subject if identity else None
        if isinstance(exc, Refused):
            log.info(
                "authorization_refused",
                route=request.url.path,
                reason=exc.reason,
                subject=subject,
            )
            await self.audit(
                audit_entry(
                    "request_refused",
                    "refused",
                    subject=subject,
                    address=address_of(request),
                    method=request.method,
                    route=request.url.path[:300],
                    reason=exc.reason,
                )
            )
            return self.render(
                request, "refused.html", status_code=403, identity=identity, reason=exc.reason
            )
        assert isinstance(exc, CsrfRefused)
        log.info("form_refused", route=request.url.path, detail=str(exc))
        await self.audit(
            audit_entry(
                "request_refused",
                "refused",
                subject=subject,
                address=address_of(request),
                method=request.method,
                route=request.url.path[:300],
                reason="anti_forgery",
            )
        )
        return self.render(
            request, "refused.html", status_code=403, identity=identity, reason="csrf"
        )

    def router(self) -> APIRouter:
        console = self

        class ConsoleRoute(APIRoute):
            def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
                handler = super().get_route_handler()

                async def guarded(request: Request) -> Response:
                    try:
                        response = await handler(request)
                    except (SignInNeeded, Refused, CsrfRefused) as exc:
                        return await console.failure(request, exc)
                    console.renew_session(request, response)
                    return response

                return guarded

        router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
        router.add_api_route("/", self.home, methods=["GET"])
        router.add_api_route("/sign-in", self.sign_in_page, methods=["GET"])
        router.add_api_route("/sign-in", self.sign_in, methods=["POST"])
        router.add_api_route("/sign-in/oidc", self.sign_in_with_provider, methods=["GET"])
        router.add_api_route("/sign-in/oidc/callback", self.provider_callback, methods=["GET"])
        router.add_api_route("/sign-out", self.sign_out, methods=["POST"])
        router.add_api_route("/language", self.choose_language, methods=["POST"])
        router.add_api_route("/my-day", self.my_day, methods=["GET"])
        router.add_api_route(
            "/customers/{customer_id:path}/actions/{action}", self.action, methods=["POST"]
        )
        router.add_api_route("/customers/{customer_id:path}/call", self.own_call, methods=["GET"])
        router.add_api_route(
            "/customers/{customer_id:path}/call", self.log_own_call, methods=["POST"]
        )
        router.add_api_route(
            "/customers/{customer_id:path}/actions/{action}/message",
            self.action_message,
            methods=["GET"],
        )
        router.add_api_route("/customers/{customer_id:path}", self.customer, methods=["GET"])
        router.add_api_route("/calls/{reminder_id}", self.call, methods=["GET"])
        router.add_api_route("/calls/{reminder_id}/outcome", self.call_outcome, methods=["POST"])
        router.add_api_route("/callbacks/{request_id}", self.callback, methods=["GET"])
        router.add_api_route(
            "/callbacks/{request_id}/outcome", self.callback_outcome, methods=["POST"]
        )
        router.add_api_route("/proposals/approve", self.approve_proposals, methods=["POST"])
        router.add_api_route("/proposals/{proposal_id}", self.proposal, methods=["GET"])
        router.add_api_route(
            "/proposals/{proposal_id}/decide/{decision}", self.decide, methods=["POST"]
        )
        router.add_api_route(
            "/proposals/{proposal_id}/{version}/pdf", self.proposal_pdf, methods=["GET"]
        )
        router.add_api_route(
            "/proposals/{proposal_id}/{version}/message", self.proposal_message, methods=["GET"]
        )
        router.add_api_route("/deliveries/{delivery_id}", self.delivery, methods=["GET"])
        router.add_api_route(
            "/deliveries/{delivery_id}/message", self.delivery_message, methods=["GET"]
        )
        router.add_api_route("/deliveries/{delivery_id}/pdf", self.delivery_pdf, methods=["GET"])
        router.add_api_route(
            "/deliveries/{delivery_id}/documents/{kind}", self.delivery_document, methods=["GET"]
        )
        router.add_api_route("/disputes", self.disputes, methods=["GET"])
        router.add_api_route("/promises", self.promises, methods=["GET"])
        router.add_api_route(
            "/plan-proposals/{proposal_id}/{decision}", self.decide_plan, methods=["POST"]
        )
        router.add_api_route("/team", self.team, methods=["GET"])
        router.add_api_route("/operations", self.operations, methods=["GET"])
        router.add_api_route(
            "/operations/campaign/dry-run", self.campaign_dry_run, methods=["POST"]
        )
        router.add_api_route("/operations/campaign/launch", self.campaign_launch, methods=["POST"])
        router.add_api_route("/operations/library/diff", self.library_diff, methods=["GET"])
        router.add_api_route("/operations/{action}", self.operator_action, methods=["POST"])
        router.add_api_route("/search", self.search, methods=["GET"])
        router.add_api_route("/static/{name}", self.static, methods=["GET"])
        return router


def address_of(request: Request) -> str:
    """The client's address as the server sees it (the Gateway's, behind one)."""
    return request.client.host if request.client else "unknown"


def customer_url(customer_id: str) -> str:
    return "/customers/" + quote(customer_id, safe="")
