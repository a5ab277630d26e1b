"""The scheduler's commands: validate a scenario library, suspend or resume all sending.

Mounted under ``relance scheduler``::

    relance scheduler validate [FOLDER]   check a library; every problem located, exit 1 if any
    relance scheduler suspend --reason TEXT [--company CODE] [--by NAME]
                                          stop sending to the customers of one company (or
                                          of all) until resumed; recorded and announced
    relance scheduler resume [--company CODE] [--by NAME]
                                          lift that suspension
    relance scheduler campaign FILE [--by NAME]
                                          send one step now to the customers FILE selects
                                          (--dry-run: only show who would be reached);
                                          recorded and announced for the audit

The scenario library, versioned in the scheduler's database::

    relance scheduler library reload [FOLDER] --by NAME [--dry-run]
                                          accept the folder's library as a new version (the
                                          running scheduler adopts it without a restart);
                                          --dry-run lists the invoices it would move and how
    relance scheduler library versions    the versions stored, scenario by scenario

Collectors' commands, produced on ``dunning.commands.v1`` with the operator as an
administrator machine identity (``operator:<--by>``, every customer in its portfolio); the
scheduler executes them, or dead-letters them with a reason::

    relance scheduler hold CUSTOMER --until DATE --reason TEXT [--invoice ID]
    relance scheduler release CUSTOMER [--invoice ID]
    relance scheduler send-now CUSTOMER [--invoice ID] [--template NAME]
    relance scheduler change-scenario CUSTOMER SCENARIO
    relance scheduler skip-step CUSTOMER INVOICE [--step NAME]
    relance scheduler note CUSTOMER TEXT [--invoice ID]
    relance scheduler approve-proposal CUSTOMER PROPOSAL --version N
    relance scheduler edit-proposal CUSTOMER PROPOSAL --version N [--paragraph NAME=TEXT]...
                                    [--channel CHANNEL] [--recipient ROLE]
    relance scheduler postpone-proposal CUSTOMER PROPOSAL --version N --until DATE
    relance scheduler skip-proposal CUSTOMER PROPOSAL --version N --reason TEXT
    relance scheduler log-call CUSTOMER --outcome OUTCOME [--invoice ID ...] [--reminder ID]
                               [--promised-date DATE --amount AMOUNT [--currency EUR]]
                               [--reason TEXT] [--note TEXT]
"""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from contracts import commands
from contracts.envelope import Event
from contracts.topics import DUNNING_COMMANDS, Topic
from services.runtime.clock import Clock, SystemClock, clock_from_setting
from services.runtime.database import create_pool
from services.runtime.settings import DatabaseSettings, load
from services.scheduler import suspensions
from services.scheduler.app import policy_of
from services.scheduler.campaigns import CampaignReport, load_campaign, run_campaign
from services.scheduler.domain.library import load_library
from services.scheduler.errors import CampaignRefused, InvalidScenarios, SuspensionRefused
from services.scheduler.library_store import Reload, reload_library
from services.scheduler.settings import SchedulerSettings

app = typer.Typer(no_args_is_help=True, help="Dunning scenarios and sending.")


@app.command("validate")
def validate(
    folder: Annotated[
        Path | None,
        typer.Argument(help="The library folder (default: RELANCE_SCHEDULER_SCENARIOS_PATH)."),
    ] = None,
) -> None:
    """Check every scenario, template and assignment rule of a library."""
    if folder is None:
        folder = load(SchedulerSettings).scenarios_path
    try:
        library = load_library(folder)
    except InvalidScenarios as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s); the library is not valid.", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{len(library.scenarios)} scenarios valid: {', '.join(sorted(library.scenarios))}")


async def set_suspended(
    database_url: str,
    suspended: bool,
    *,
    company_code: str | None = None,
    by: str,
    reason: str | None = None,
    clock: Clock | None = None,
) -> None:
    """Suspend (with ``reason``) or resume sending for one company or all, recorded and
    announced in one transaction."""
    now = (clock or SystemClock()).now()
    connection = await asyncpg.connect(database_url, server_settings={"search_path": "scheduler"})
    try:
        async with connection.transaction():
            if suspended:
                assert reason is not None
                await suspensions.suspend(
                    connection, company_code=company_code, by=by, reason=reason, now=now
                )
            else:
                await suspensions.resume(connection, company_code=company_code, by=by, now=now)
    finally:
        await connection.close()


CompanyOption = Annotated[
    str | None,
    typer.Option("--company", help="The company's code; without it, every company."),
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who does it (default: the operator's login name)."),
]


def _scope(company: str | None) -> str:
    return "every company" if company is None else f"company {company}"


@app.command("suspend")
def suspend(
    reason: Annotated[str, typer.Option("--reason", help="Why sending stops (recorded).")],
    company: CompanyOption = None,
    by: ByOption = None,
) -> None:
    """Stop sending to one company's customers (or everyone's); reminders wait for resume."""
    try:
        asyncio.run(
            set_suspended(
                DatabaseSettings().url.get_secret_value(),
                True,
                company_code=company,
                by=by or getpass.getuser(),
                reason=reason,
            )
        )
    except SuspensionRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"sending suspended for {_scope(company)}: nothing goes out until `resume`.")


@app.command("resume")
def resume(company: CompanyOption = None, by: ByOption = None) -> None:
    """Lift the suspension of one company (or of every company)."""
    try:
        asyncio.run(
            set_suspended(
                DatabaseSettings().url.get_secret_value(),
                False,
                company_code=company,
                by=by or getpass.getuser(),
            )
        )
    except SuspensionRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"sending resumed for {_scope(company)}.")


async def _run_campaign(path: Path, dry_run: bool, by: str) -> CampaignReport:
    settings = load(SchedulerSettings)
    policy = policy_of(settings)
    campaign = load_campaign(path, policy.library.templates)
    pool = await create_pool(settings.database, "scheduler", max_size=2)
    try:
        return await run_campaign(
            pool, clock_from_setting(settings.clock), policy, campaign, dry_run=dry_run, by=by
        )
    finally:
        await pool.close()


@app.command("campaign")
def campaign(
    file: Annotated[Path, typer.Argument(help="The campaign's YAML file.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show who would be reached; send nothing.")
    ] = False,
    by: ByOption = None,
) -> None:
    """Send one step now to the customers a campaign selects, beside their scenarios."""
    try:
        report = asyncio.run(_run_campaign(file, dry_run, by or getpass.getuser()))
    except InvalidScenarios as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from exc
    except CampaignRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    invoices = sum(n for _, n in report.reached)
    verb = "would reach" if dry_run else "reached"
    typer.echo(
        f"campaign {report.campaign_id}: {verb} {len(report.reached)} customer(s), "
        f"{invoices} invoice(s)"
    )
    for reason, count in report.skipped_by_reason().items():
        typer.echo(f"  skipped {count}: {reason}")


# -- the scenario library ---------------------------------------------------------------

library_app = typer.Typer(no_args_is_help=True, help="The versioned scenario library.")
app.add_typer(library_app, name="library")


async def _reload(folder: Path, by: str, dry_run: bool) -> Reload:
    settings = load(SchedulerSettings)
    policy = policy_of(settings)
    pool = await create_pool(settings.database, "scheduler", max_size=2)
    try:
        return await reload_library(
            pool,
            policy,
            folder,
            by=by,
            now=clock_from_setting(settings.clock).now(),
            dry_run=dry_run,
        )
    finally:
        await pool.close()


def report_lines(reload: Reload, *, dry_run: bool) -> list[str]:
    """What a reload did (or, ``dry_run``, would do), as the CLI prints it."""
    if not reload.changed:
        return [f"library unchanged (revision {reload.library.revision})."]
    verb = "would become" if dry_run else "is now"
    lines = [f"library {verb} revision {reload.library.revision}"]
    for change in reload.changes:
        if change.kind == "unchanged":
            continue
        before = "-" if change.version_before is None else f"v{change.version_before}"
        after = "-" if change.version_after is None else f"v{change.version_after}"
        lines.append(f"  {change.scenario_id}: {change.kind} ({before} -> {after})")
    if reload.assignment_changed:
        lines.append("  assignment rules changed")
    if reload.templates_changed:
        lines.append("  templates changed")
    counts = reload.counts()
    for scenario_id in sorted(counts):
        counted = counts[scenario_id]
        lines.append(
            f"  invoices of {scenario_id}: {counted['unchanged']} unchanged, "
            f"{counted['moved']} moved, {counted['reassigned']} reassigned"
        )
    for move in reload.moves:
        if move.kind != "unchanged":
            lines.append(f"    {move}")
    return lines


@library_app.command("reload")
def library_reload(
    folder: Annotated[
        Path | None,
        typer.Argument(help="The library folder (default: RELANCE_SCHEDULER_SCENARIOS_PATH)."),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who changes the library (recorded).")] = "",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List the invoices it would move and how; change nothing."),
    ] = False,
) -> None:
    """Accept a library folder as a new version, without restarting the scheduler."""
    if folder is None:
        folder = load(SchedulerSettings).scenarios_path
    try:
        reload = asyncio.run(_reload(folder, by or getpass.getuser(), dry_run))
    except InvalidScenarios as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(
            f"{len(exc.problems)} problem(s): the library is refused, the running version stays.",
            err=True,
        )
        raise typer.Exit(1) from exc
    for line in report_lines(reload, dry_run=dry_run):
        typer.echo(line)


async def _versions() -> list[tuple[str, int, bool, datetime, str]]:
    settings = load(SchedulerSettings)
    pool = await create_pool(settings.database, "scheduler", max_size=1)
    try:
        rows = await pool.fetch(
            "SELECT scenario_id, version, removed, loaded_at, loaded_by FROM library_version "
            "ORDER BY scenario_id, version"
        )
    finally:
        await pool.close()
    return [
        (r["scenario_id"], r["version"], r["removed"], r["loaded_at"], r["loaded_by"]) for r in rows
    ]


@library_app.command("versions")
def library_versions() -> None:
    """List every stored version of every scenario: when, by whom."""
    for scenario_id, version, removed, at, by in asyncio.run(_versions()):
        what = "removed" if removed else f"v{version}"
        typer.echo(f"{scenario_id} {what} {at.isoformat()} {by}")


# -- collectors' commands, as an operator ---------------------------------------------------

CustomerArgument = Annotated[str, typer.Argument(help="The customer's id.")]
InvoiceOption = Annotated[
    str | None, typer.Option("--invoice", help="One invoice of the customer (COMPANY/NUMBER).")
]
OperatorOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help=(
            "The administrator identity the command is recorded under, as operator:<name> "
            "(default: the operator's login name)."
        ),
    ),
]


def operator(by: str | None) -> commands.CommandActor:
    """The operator as the command's actor: an administrator machine identity."""
    return commands.CommandActor(
        subject=f"operator:{by or getpass.getuser()}",
        roles=("administrator",),
        kind="machine",
        everything=True,
    )


def command_event(
    kind: Callable[..., Event], payload_kind: type[commands.CommandBase], **fields: Any
) -> Event:
    """A command of the operator's, with a fresh command id, requested now."""
    now = SystemClock().now()
    payload = payload_kind(command_id=uuid.uuid4(), requested_at=now, **fields)
    return kind(event_id=uuid.uuid4(), occurred_at=now, source="operator", payload=payload)


async def publish_command(
    kafka_options: dict[str, object], event: Event, topic: Topic = DUNNING_COMMANDS
) -> None:
    """Produce one command on its topic, keyed by its customer; acknowledged by every replica."""
    producer = AIOKafkaProducer(**kafka_options, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic.name, topic.value(event), key=topic.key(event))
    finally:
        await producer.stop()


def _send(
    kind: Callable[..., Event], payload_kind: type[commands.CommandBase], **fields: Any
) -> None:
    event = command_event(kind, payload_kind, **fields)
    settings = load(SchedulerSettings)
    try:
        asyncio.run(publish_command(settings.kafka.client_options(), event))
    except KafkaError as exc:
        typer.echo(f"the command could not be produced: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"{event.event_type} {event.payload.command_id} sent for {event.payload.customer_id}; "
        f"the scheduler executes it (or dead-letters it to {DUNNING_COMMANDS.dead_letter})."
    )


@app.command("hold")
def hold(
    customer: CustomerArgument,
    until: Annotated[str, typer.Option("--until", help="The day dunning may resume (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is held (recorded).")],
    invoice: InvoiceOption = None,
    by: OperatorOption = None,
) -> None:
    """Hold a customer (or one invoice) until a day: nothing is sent before it."""
    try:
        day = date.fromisoformat(until)
    except ValueError as exc:
        typer.echo(f"--until is a day, YYYY-MM-DD, not {until!r}", err=True)
        raise typer.Exit(2) from exc
    _send(
        commands.HoldCommand,
        commands.Hold,
        customer_id=customer,
        actor=operator(by),
        invoice_id=invoice,
        until=day,
        reason=reason,
    )


@app.command("release")
def release(
    customer: CustomerArgument, invoice: InvoiceOption = None, by: OperatorOption = None
) -> None:
    """Lift a hold before its day: dunning resumes at the next applicable step."""
    _send(
        commands.ReleaseCommand,
        commands.Release,
        customer_id=customer,
        actor=operator(by),
        invoice_id=invoice,
    )


@app.command("send-now")
def send_now(
    customer: CustomerArgument,
    invoice: InvoiceOption = None,
    template: Annotated[
        str | None,
        typer.Option("--template", help="A template to send instead of the next step."),
    ] = None,
    by: OperatorOption = None,
) -> None:
    """Send the next step (or a template, a statement say) at the next sending instant."""
    _send(
        commands.SendNowCommand,
        commands.SendNow,
        customer_id=customer,
        actor=operator(by),
        invoice_id=invoice,
        template=template,
    )


@app.command("change-scenario")
def change_scenario(
    customer: CustomerArgument,
    scenario: Annotated[str, typer.Argument(help="The scenario's id in the library.")],
    by: OperatorOption = None,
) -> None:
    """Move a customer to another scenario now; each invoice keeps its place by step name."""
    _send(
        commands.ChangeScenarioCommand,
        commands.ChangeScenario,
        customer_id=customer,
        actor=operator(by),
        scenario_id=scenario,
    )


@app.command("skip-step")
def skip_step(
    customer: CustomerArgument,
    invoice: Annotated[str, typer.Argument(help="The invoice (COMPANY/NUMBER).")],
    step: Annotated[
        str | None, typer.Option("--step", help="The step expected next, as a guard.")
    ] = None,
    by: OperatorOption = None,
) -> None:
    """Move one invoice past its next step without sending it."""
    _send(
        commands.SkipStepCommand,
        commands.SkipStep,
        customer_id=customer,
        actor=operator(by),
        invoice_id=invoice,
        step_name=step,
    )


@app.command("note")
def note(
    customer: CustomerArgument,
    text: Annotated[str, typer.Argument(help="The note.")],
    invoice: InvoiceOption = None,
    by: OperatorOption = None,
) -> None:
    """Keep a note on a customer (or one of its invoices)."""
    _send(
        commands.AddNoteCommand,
        commands.AddNote,
        customer_id=customer,
        actor=operator(by),
        invoice_id=invoice,
        text=text,
    )


ProposalArgument = Annotated[str, typer.Argument(help="The proposal's id (a UUID).")]
VersionOption = Annotated[
    int, typer.Option("--version", help="The version seen (refused if edited or decided since).")
]


def _proposal(proposal: str) -> uuid.UUID:
    try:
        return uuid.UUID(proposal)
    except ValueError as exc:
        typer.echo(f"a proposal id is a UUID, not {proposal!r}", err=True)
        raise typer.Exit(2) from exc


@app.command("approve-proposal")
def approve_proposal(
    customer: CustomerArgument,
    proposal: ProposalArgument,
    version: VersionOption,
    by: OperatorOption = None,
) -> None:
    """Send a proposal as previewed (the version cited)."""
    _send(
        commands.ApproveProposalCommand,
        commands.ApproveProposal,
        customer_id=customer,
        actor=operator(by),
        proposal_id=_proposal(proposal),
        version=version,
    )


@app.command("edit-proposal")
def edit_proposal(
    customer: CustomerArgument,
    proposal: ProposalArgument,
    version: VersionOption,
    paragraph: Annotated[
        list[str] | None,
        typer.Option("--paragraph", help="NAME=TEXT: an editable paragraph rewritten (repeat)."),
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Another channel.")] = None,
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="Another contact role (billing, ...).")
    ] = None,
    by: OperatorOption = None,
) -> None:
    """Rewrite a proposal's editable paragraphs, channel or recipient: a new version."""
    paragraphs = {}
    for given in paragraph or ():
        name, sep, text = given.partition("=")
        if not sep or not name or not text:
            typer.echo(f"--paragraph is NAME=TEXT, not {given!r}", err=True)
            raise typer.Exit(2)
        paragraphs[name] = text
    _send(
        commands.EditProposalCommand,
        commands.EditProposal,
        customer_id=customer,
        actor=operator(by),
        proposal_id=_proposal(proposal),
        version=version,
        paragraphs=paragraphs,
        channel=channel,
        recipient_role=recipient,
    )


@app.command("postpone-proposal")
def postpone_proposal(
    customer: CustomerArgument,
    proposal: ProposalArgument,
    version: VersionOption,
    until: Annotated[str, typer.Option("--until", help="The day to propose it again.")],
    by: OperatorOption = None,
) -> None:
    """Propose the step again on a later day."""
    try:
        day = date.fromisoformat(until)
    except ValueError as exc:
        typer.echo(f"--until is a day, YYYY-MM-DD, not {until!r}", err=True)
        raise typer.Exit(2) from exc
    _send(
        commands.PostponeProposalCommand,
        commands.PostponeProposal,
        customer_id=customer,
        actor=operator(by),
        proposal_id=_proposal(proposal),
        version=version,
        until=day,
    )


@app.command("skip-proposal")
def skip_proposal(
    customer: CustomerArgument,
    proposal: ProposalArgument,
    version: VersionOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is not sent (recorded).")],
    by: OperatorOption = None,
) -> None:
    """Do not send a proposal: its invoices move past the step."""
    _send(
        commands.SkipProposalCommand,
        commands.SkipProposal,
        customer_id=customer,
        actor=operator(by),
        proposal_id=_proposal(proposal),
        version=version,
        reason=reason,
    )


@app.command("log-call")
def log_call(
    customer: CustomerArgument,
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome",
            help="answered, no_answer, wrong_contact, promise_to_pay or dispute_raised.",
        ),
    ],
    invoice: Annotated[
        list[str] | None,
        typer.Option("--invoice", help="An invoice discussed (repeat); none: the open ones."),
    ] = None,
    reminder: Annotated[
        str | None, typer.Option("--reminder", help="The call reminder this call answers.")
    ] = None,
    promised_date: Annotated[
        str | None, typer.Option("--promised-date", help="A promise's day (YYYY-MM-DD).")
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="A promise's amount, e.g. 1200.00.")
    ] = None,
    currency: Annotated[str, typer.Option("--currency", help="The amount's currency.")] = "EUR",
    reason: Annotated[
        str | None, typer.Option("--reason", help="A dispute's reason, in the customer's words.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note kept with the call.")] = None,
    by: OperatorOption = None,
) -> None:
    """Log a call and its outcome; a promise or a dispute goes on to the disputes service."""
    fields: dict[str, Any] = {
        "customer_id": customer,
        "actor": operator(by),
        "outcome": outcome,
        "invoice_ids": tuple(invoice or ()),
        "reminder_id": reminder,
        "promised_date": promised_date,
        "promised_amount": None if amount is None else {"amount": amount, "currency": currency},
        "dispute_reason": reason,
        "note": note,
    }
    try:
        commands.LogCall.model_validate(
            {**fields, "command_id": uuid.uuid4(), "requested_at": SystemClock().now()}
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            typer.echo(f"{where or 'call'}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc
    _send(commands.LogCallCommand, commands.LogCall, **fields)
