"""The scheduler's commands: validate a scenario library, suspend or resume all sending.

Mounted under ``relance scheduler``::

    relance scheduler validate [FOLDER]   check a library; every problem located, exit 1 if any
    relance scheduler suspend --reason TEXT [--company CODE] [--by NAME]
                                          stop sending to the customers of one company (or
                                          of all) until resumed; recorded and announced
    relance scheduler resume [--company CODE] [--by NAME]
                                          lift that suspension
    relance scheduler campaign FILE       send one step now to the customers FILE selects
                                          (--dry-run: only show who would be reached)

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
"""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

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


async def _run_campaign(path: Path, dry_run: bool) -> CampaignReport:
    settings = load(SchedulerSettings)
    policy = policy_of(settings)
    campaign = load_campaign(path, policy.library.templates)
    pool = await create_pool(settings.database, "scheduler", max_size=2)
    try:
        return await run_campaign(
            pool, clock_from_setting(settings.clock), policy, campaign, dry_run=dry_run
        )
    finally:
        await pool.close()


@app.command("campaign")
def campaign(
    file: Annotated[Path, typer.Argument(help="The campaign's YAML file.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show who would be reached; send nothing.")
    ] = False,
) -> None:
    """Send one step now to the customers a campaign selects, beside their scenarios."""
    try:
        report = asyncio.run(_run_campaign(file, dry_run))
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
