"""One valid, realistic example of every event in ``contracts``, keyed by event type.

The examples tell one customer's story: ACME Industrie (FR01) is invoiced, reminded, disputes
an invoice, promises to pay and agrees a payment plan. Tests derive invalid cases from them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from contracts import commands, disputes, dunning, erp, ledger, notifications, reference
from contracts.envelope import Event
from contracts.money import Money, PositiveMoney

CUSTOMER = "C-1001"
COMPANY = "FR01"
INVOICE = "FR01/INV-2024-0042"
OTHER_INVOICE = "FR01/INV-2024-0057"
AT = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
_NAMESPACE = UUID("6f1c1d5e-3a0b-4c57-9b8e-2f4a1c9e7d10")


def uid(name: str) -> UUID:
    """A stable UUID per name, so examples are reproducible."""
    return uuid5(_NAMESPACE, name)


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def eur_positive(amount: str) -> PositiveMoney:
    return PositiveMoney(amount=Decimal(amount), currency="EUR")


def envelope(event_type: str, source: str) -> dict[str, Any]:
    return {"event_id": uid(event_type), "occurred_at": AT, "source": source}


def _contact() -> erp.Contact:
    return erp.Contact(role="billing", name="Claire Martin", email="compta@acme.example")


def _dunned(invoice_id: str = INVOICE, number: str = "INV-2024-0042") -> dunning.DunnedInvoice:
    return dunning.DunnedInvoice(
        invoice_id=invoice_id,
        invoice_number=number,
        due_date=date(2024, 4, 10),
        amount=eur_positive("1200.00"),
        open_amount=eur_positive("700.00"),
        days_overdue=22,
    )


def erp_customer_upserted() -> Event:
    return erp.CustomerUpserted(
        **envelope("erp.customer.upserted", "erp-sap-fr"),
        payload=erp.CustomerPayload(
            extra={},
            customer_id=CUSTOMER,
            version=3,
            company_code=COMPANY,
            name="ACME Industrie SAS",
            country="FR",
            time_zone="Europe/Paris",
            contacts=(_contact(),),
        ),
    )


def _erp_invoice() -> erp.InvoicePayload:
    return erp.InvoicePayload(
        extra={},
        company_code=COMPANY,
        customer_id=CUSTOMER,
        invoice_number="INV-2024-0042",
        version=1,
        issue_date=date(2024, 3, 11),
        due_date=date(2024, 4, 10),
        amount=eur_positive("1200.00"),
        payment_terms="30 days net",
        document=erp.InvoiceDocument(
            reference="FR01/2024/INV-2024-0042.pdf",
            sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ),
    )


def erp_invoice_issued() -> Event:
    return erp.InvoiceIssued(**envelope("erp.invoice.issued", "erp-sap-fr"), payload=_erp_invoice())


def erp_invoice_updated() -> Event:
    return erp.InvoiceUpdated(
        **envelope("erp.invoice.updated", "erp-sap-fr"),
        payload=_erp_invoice().model_copy(update={"version": 2, "due_date": date(2024, 4, 15)}),
    )


def erp_invoice_cancelled() -> Event:
    return erp.InvoiceCancelled(
        **envelope("erp.invoice.cancelled", "erp-sap-fr"),
        payload=erp.InvoiceCancellation(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            invoice_number="INV-2024-0042",
            version=3,
            reason="issued twice",
        ),
    )


def erp_payment_received() -> Event:
    return erp.PaymentReceived(
        **envelope("erp.payment.received", "erp-sap-fr"),
        payload=erp.PaymentPayload(
            extra={},
            payment_id="PAY-77",
            company_code=COMPANY,
            customer_id=CUSTOMER,
            received_on=date(2024, 4, 20),
            amount=eur_positive("500.00"),
            allocations=(erp.Allocation(invoice_number="INV-2024-0042", amount=Decimal("500")),),
        ),
    )


def erp_credit_note_issued() -> Event:
    return erp.CreditNoteIssued(
        **envelope("erp.credit_note.issued", "erp-sap-fr"),
        payload=erp.CreditNotePayload(
            extra={},
            credit_note_number="CN-12",
            company_code=COMPANY,
            customer_id=CUSTOMER,
            issue_date=date(2024, 4, 22),
            amount=eur_positive("100.00"),
            invoice_number="INV-2024-0042",
        ),
    )


def ledger_customer_upserted() -> Event:
    return ledger.LedgerCustomerUpserted(
        **envelope("ledger.customer.upserted", "ingestion"),
        payload=ledger.LedgerCustomer(
            extra={},
            customer_id=CUSTOMER,
            company_code=COMPANY,
            version=3,
            name="ACME Industrie SAS",
            country="FR",
            time_zone="Europe/Paris",
            language="fr",
            contacts=(_contact(),),
            segment=erp.Segment(risk_rating="high", payer_profile="negligent"),
        ),
    )


def ledger_invoice_opened() -> Event:
    return ledger.InvoiceOpened(
        **envelope("ledger.invoice.opened", "ingestion"),
        payload=ledger.OpenedInvoice(
            extra={},
            company_code=COMPANY,
            customer_id=CUSTOMER,
            invoice_id=INVOICE,
            invoice_number="INV-2024-0042",
            issue_date=date(2024, 3, 11),
            due_date=date(2024, 4, 10),
            amount=eur_positive("1200.00"),
            open_amount=eur_positive("1200.00"),
            purchase_order="PO-5531",
            payment_terms="30 days net",
        ),
    )


def ledger_open_amount_changed() -> Event:
    return ledger.OpenAmountChanged(
        **envelope("ledger.invoice.open_amount_changed", "ingestion"),
        payload=ledger.OpenAmountChange(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            invoice_id=INVOICE,
            invoice_number="INV-2024-0042",
            previous_open_amount=eur("1200.00"),
            open_amount=eur_positive("700.00"),
            cause="payment",
            cause_document_id="PAY-77",
            due_date=date(2024, 4, 10),
            amount=eur_positive("1200.00"),
            value_date=date(2024, 5, 2),
        ),
    )


def ledger_invoice_settled() -> Event:
    return ledger.InvoiceSettled(
        **envelope("ledger.invoice.settled", "ingestion"),
        payload=ledger.Settlement(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            invoice_id=INVOICE,
            invoice_number="INV-2024-0042",
            settled_on=date(2024, 5, 28),
            cause="payment",
            cause_document_id="PAY-91",
            previous_open_amount=eur_positive("700.00"),
            amount=eur_positive("1200.00"),
            issue_date=date(2024, 3, 11),
            due_date=date(2024, 4, 10),
        ),
    )


def ledger_invoice_cancelled() -> Event:
    return ledger.LedgerInvoiceCancelled(
        **envelope("ledger.invoice.cancelled", "ingestion"),
        payload=ledger.Cancellation(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            invoice_id=OTHER_INVOICE,
            invoice_number="INV-2024-0057",
            previous_open_amount=eur("300.00"),
            reason="issued twice",
        ),
    )


def ledger_credit_balance_changed() -> Event:
    return ledger.CreditBalanceChanged(
        **envelope("ledger.customer.credit_balance_changed", "ingestion"),
        payload=ledger.CreditBalanceChange(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            currency="EUR",
            balance=Decimal("45.50"),
            delta=Decimal("45.50"),
            cause="payment",
            cause_document_id="PAY-91",
        ),
    )


def ledger_unmatched_cash_recorded() -> Event:
    return ledger.UnmatchedCashRecorded(
        **envelope("ledger.unmatched_cash.recorded", "ingestion"),
        payload=ledger.UnmatchedCash(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            kind="payment",
            document_id="PAY-93",
            amount=eur_positive("250.00"),
            value_date=date(2024, 5, 2),
            awaiting=("INV-2024-0061",),
        ),
    )


def ledger_unmatched_cash_cleared() -> Event:
    return ledger.UnmatchedCashCleared(
        **envelope("ledger.unmatched_cash.cleared", "ingestion"),
        payload=ledger.UnmatchedCashClearance(
            company_code=COMPANY,
            customer_id=CUSTOMER,
            kind="payment",
            document_id="PAY-93",
            outcome="matched",
        ),
    )


def dunning_reminder_due() -> Event:
    return dunning.ReminderDue(
        **envelope("dunning.reminder.due", "scheduler"),
        payload=dunning.Reminder(
            reminder_id=uid("reminder"),
            customer_id=CUSTOMER,
            company_code=COMPANY,
            scenario_id="smb-domestic",
            step_name="d+21-registered-letter",
            level="level_2",
            channel="registered_letter",
            recipient_role="accounting",
            template="level-2-formal",
            language="fr",
            include_penalties=True,
            escalating=True,
            scheduled_for=datetime(2024, 5, 2, 7, 0, tzinfo=UTC),
            invoices=(_dunned(), _dunned(OTHER_INVOICE, "INV-2024-0057")),
        ),
    )


def dunning_escalation_raised() -> Event:
    return dunning.EscalationRaised(
        **envelope("dunning.escalation.raised", "scheduler"),
        payload=dunning.Escalation(
            customer_id=CUSTOMER,
            company_code=COMPANY,
            scenario_id="smb-domestic",
            action="collection_agency",
            invoices=(_dunned(), _dunned(OTHER_INVOICE, "INV-2024-0057")),
            total_open=(eur_positive("1400.00"),),
        ),
    )


def dunning_state_changed() -> Event:
    return dunning.DunningStateChanged(
        **envelope("dunning.state.changed", "scheduler"),
        payload=dunning.InvoiceDunningState(
            customer_id=CUSTOMER,
            company_code=COMPANY,
            invoice_id=INVOICE,
            scenario_id="smb-domestic",
            step_name="d+21-registered-letter",
            level="level_2",
            paused=False,
            last_action_at=datetime(2024, 5, 2, 7, 0, tzinfo=UTC),
            next_action_at=datetime(2024, 5, 23, 7, 0, tzinfo=UTC),
        ),
    )


def dunning_sending_suspended() -> Event:
    return dunning.SendingSuspended(
        **envelope("dunning.sending.suspended", "scheduler"),
        payload=dunning.Suspension(
            suspension_id=uid("suspension"),
            company_code=COMPANY,
            by="marie.dupont@example.com",
            reason="ERP migration of the French entity",
            at=datetime(2024, 5, 3, 16, 0, tzinfo=UTC),
        ),
    )


def dunning_sending_resumed() -> Event:
    return dunning.SendingResumed(
        **envelope("dunning.sending.resumed", "scheduler"),
        payload=dunning.SuspensionLifted(
            suspension_id=uid("suspension"),
            company_code=COMPANY,
            by="marie.dupont@example.com",
            at=datetime(2024, 5, 6, 7, 0, tzinfo=UTC),
        ),
    )


def _actor() -> commands.CommandActor:
    return commands.CommandActor(
        subject="local:marie.dupont", roles=("collector",), company_codes=(COMPANY,)
    )


def _command(kind: type[commands.CommandBase], **fields: Any) -> Any:
    return kind(
        command_id=uid(f"command-{kind.__name__}"),
        customer_id=CUSTOMER,
        actor=_actor(),
        requested_at=AT,
        **fields,
    )


def command_hold() -> Event:
    return commands.HoldCommand(
        **envelope("command.hold", "console"),
        payload=_command(commands.Hold, until=date(2024, 5, 15), reason="credit note being issued"),
    )


def command_release() -> Event:
    return commands.ReleaseCommand(
        **envelope("command.release", "console"), payload=_command(commands.Release)
    )


def command_send_now() -> Event:
    return commands.SendNowCommand(
        **envelope("command.send_now", "console"),
        payload=_command(commands.SendNow, template="statement"),
    )


def command_change_scenario() -> Event:
    return commands.ChangeScenarioCommand(
        **envelope("command.change_scenario", "crm"),
        payload=_command(commands.ChangeScenario, scenario_id="strategic"),
    )


def command_skip_step() -> Event:
    return commands.SkipStepCommand(
        **envelope("command.skip_step", "console"),
        payload=_command(commands.SkipStep, invoice_id=INVOICE, step_name="level_1_email"),
    )


def command_add_note() -> Event:
    return commands.AddNoteCommand(
        **envelope("command.add_note", "console"),
        payload=_command(commands.AddNote, text="Called the accountant; cheque sent Friday."),
    )


def dunning_campaign_launched() -> Event:
    return dunning.CampaignLaunched(
        **envelope("dunning.campaign.launched", "scheduler"),
        payload=dunning.CampaignRun(
            campaign_id="year-end-2024",
            template="statement",
            step_name="year_end_statement",
            level="preventive",
            channel="email",
            company_codes=(COMPANY,),
            by="jeanne.operator",
            at=AT,
            customers_reached=120,
            invoices_reached=310,
            skipped={"already_reached": 4, "min_gap": 2},
        ),
    )


def command_log_call() -> Event:
    return commands.LogCallCommand(
        **envelope("command.log_call", "scheduler"),
        payload=_command(
            commands.LogCall,
            invoice_ids=(INVOICE,),
            outcome="promise_to_pay",
            promised_date=date(2024, 5, 31),
            promised_amount=eur_positive("1200.00"),
            note="Spoke with the accountant.",
        ),
    )


def dunning_library_changed() -> Event:
    return dunning.LibraryChanged(
        **envelope("dunning.library.changed", "scheduler"),
        payload=dunning.LibraryChange(
            revision_before=3,
            revision=4,
            changed_by="operator:marie.dupont",
            changed_at=AT,
            scenarios=(
                dunning.ScenarioVersionChange(
                    scenario_id="negligent", change="changed", version_before=2, version_after=3
                ),
                dunning.ScenarioVersionChange(
                    scenario_id="seasonal", change="removed", version_before=1
                ),
            ),
            invoices_moved=12,
            invoices_reassigned=40,
        ),
    )


def dunning_command_executed() -> Event:
    held = datetime(2024, 5, 14, 22, 0, tzinfo=UTC)
    return dunning.CommandExecuted(
        **envelope("dunning.command.executed", "scheduler"),
        payload=dunning.ExecutedCommand(
            command_id=uid("command-Hold"),
            command="hold",
            customer_id=CUSTOMER,
            company_code=COMPANY,
            actor_subject="local:marie.dupont",
            actor_role="collector",
            requested_at=AT,
            executed_at=AT,
            detail={"until": "2024-05-15", "reason": "credit note being issued"},
            before=(
                dunning.InvoiceSnapshot(
                    invoice_id=INVOICE, scenario_id="standard", next_step="level_1_email"
                ),
            ),
            after=(
                dunning.InvoiceSnapshot(
                    invoice_id=INVOICE,
                    scenario_id="standard",
                    next_step="level_1_email",
                    held_until=held,
                ),
            ),
        ),
    )


def _proposed(proposal: str) -> Any:
    return _command(commands.ApproveProposal, proposal_id=uid(proposal), version=1).model_dump() | {
        "command_id": uid(f"command-{proposal}")
    }


def command_approve_proposal() -> Event:
    return commands.ApproveProposalCommand(
        **envelope("command.approve_proposal", "console"),
        payload=commands.ApproveProposal(**_proposed("proposal")),
    )


def command_edit_proposal() -> Event:
    return commands.EditProposalCommand(
        **envelope("command.edit_proposal", "console"),
        payload=commands.EditProposal(
            **_proposed("proposal"),
            paragraphs={"opening": "Further to our call of this morning, ..."},
            channel="email",
            recipient_role="accounting",
            attachments=(
                dunning.ProposalAttachment(
                    filename="signed-quote.pdf", media_type="application/pdf", sha256="1" * 64
                ),
            ),
        ),
    )


def command_postpone_proposal() -> Event:
    return commands.PostponeProposalCommand(
        **envelope("command.postpone_proposal", "console"),
        payload=commands.PostponeProposal(**_proposed("proposal"), until=date(2024, 5, 10)),
    )


def command_skip_proposal() -> Event:
    return commands.SkipProposalCommand(
        **envelope("command.skip_proposal", "console"),
        payload=commands.SkipProposal(
            **_proposed("proposal"), reason="customer called: payment sent today"
        ),
    )


def command_approve_proposals() -> Event:
    return commands.ApproveProposalsCommand(
        **envelope("command.approve_proposals", "console"),
        payload=commands.ApproveProposals(
            command_id=uid("command-bulk"),
            actor=_actor(),
            requested_at=AT,
            proposals=(
                dunning.ProposalVersion(proposal_id=uid("proposal"), version=2),
                dunning.ProposalVersion(proposal_id=uid("other-proposal"), version=1),
            ),
        ),
    )


def _manager() -> commands.CommandActor:
    return commands.CommandActor(
        subject="oidc:credit-manager-7", roles=("credit_manager",), company_codes=("FR01",)
    )


def command_suspend_sending() -> Event:
    return commands.SuspendSendingCommand(
        **envelope("command.suspend_sending", "console"),
        payload=commands.SuspendSending(
            command_id=uid("command-suspend"),
            actor=_manager(),
            requested_at=AT,
            company_code="FR01",
            reason="ERP migration weekend: balances unreliable",
        ),
    )


def command_resume_sending() -> Event:
    return commands.ResumeSendingCommand(
        **envelope("command.resume_sending", "console"),
        payload=commands.ResumeSending(
            command_id=uid("command-resume"),
            actor=_manager(),
            requested_at=AT,
            company_code="FR01",
        ),
    )


def command_launch_campaign() -> Event:
    return commands.LaunchCampaignCommand(
        **envelope("command.launch_campaign", "console"),
        payload=commands.LaunchCampaign(
            command_id=uid("command-campaign"),
            actor=_manager(),
            requested_at=AT,
            campaign=commands.CampaignSpec(
                id="year-end-2026",
                description="Every overdue domestic business customer before closing",
                step=commands.CampaignStepSpec(
                    name="year-end-email", level="level_1", channel="email", template="level-1"
                ),
                select=commands.CampaignSelection(
                    company_codes=("FR01",),
                    customers=commands.CampaignCustomers(
                        customer_type=("business",), market=("domestic",)
                    ),
                    min_days_overdue=1,
                    min_open_amount=Decimal("100.00"),
                ),
            ),
            fingerprint="0" * 64,
        ),
    )


def dunning_proposal_raised() -> Event:
    reminder = dunning_reminder_due().payload
    return dunning.ProposalRaised(
        **envelope("dunning.proposal.raised", "scheduler"),
        payload=dunning.Proposal(
            proposal_id=uid("proposal"),
            version=1,
            customer_id=CUSTOMER,
            reminder=reminder,
            confirm_role="credit_manager",
            deadline=datetime(2024, 5, 7, 7, 0, tzinfo=UTC),
            remind_owner_at=datetime(2024, 5, 6, 7, 0, tzinfo=UTC),
            on_timeout="hold",
        ),
    )


def dunning_proposal_decided() -> Event:
    return dunning.ProposalClosed(
        **envelope("dunning.proposal.decided", "scheduler"),
        payload=dunning.ProposalDecided(
            proposal_id=uid("proposal"),
            version=1,
            customer_id=CUSTOMER,
            company_code=COMPANY,
            decision="approved",
            by="local:marie.dupont",
            at=AT,
            reminder_id=uid("reminder"),
        ),
    )


def notifier_proposal_rendered() -> Event:
    return notifications.ProposalRendered(
        **envelope("notifier.proposal.rendered", "notifier"),
        payload=notifications.ProposalRendering(
            proposal_id=uid("proposal"),
            version=1,
            customer_id=CUSTOMER,
            channel="registered_letter",
            rendered=True,
            digest="0" * 64,
            media_type="application/pdf",
            size=48213,
            recipients=("compta@example.com",),
            preview_path=f"/proposals/{uid('proposal')}/1",
            at=AT,
        ),
    )


def _delivery() -> dict[str, Any]:
    return {
        "delivery_id": uid("delivery"),
        "reminder_id": uid("reminder"),
        "customer_id": CUSTOMER,
        "invoice_ids": (INVOICE, OTHER_INVOICE),
        "channel": "email",
        "at": AT,
    }


def delivery_sent() -> Event:
    return notifications.DeliverySent(
        **envelope("delivery.sent", "notifier"),
        payload=notifications.ProviderDelivery(
            **_delivery(), provider="smtp", provider_tracking_id="<a1b2@mail.relance>"
        ),
    )


def delivery_delivered() -> Event:
    return notifications.DeliveryDelivered(
        **envelope("delivery.delivered", "notifier"),
        payload=notifications.ProviderDelivery(
            **{**_delivery(), "channel": "registered_letter"},
            provider="ar24",
            provider_tracking_id="1A 234 567 8901 2",
        ),
    )


def delivery_bounced() -> Event:
    return notifications.DeliveryBounced(
        **envelope("delivery.bounced", "notifier"),
        payload=notifications.Bounce(
            **_delivery(), provider="smtp", kind="hard", reason="550 5.1.1 user unknown"
        ),
    )


def delivery_failed() -> Event:
    return notifications.DeliveryFailed(
        **envelope("delivery.failed", "notifier"),
        payload=notifications.Failure(
            **{**_delivery(), "channel": "sms"},
            provider="twilio",
            reason="503 from provider",
            retryable=True,
            attempt=2,
        ),
    )


def delivery_suppressed() -> Event:
    return notifications.DeliverySuppressed(
        **envelope("delivery.suppressed", "notifier"),
        payload=notifications.Suppression(**_delivery(), reason="invoice_disputed"),
    )


def call_task_closed() -> Event:
    return notifications.CallTaskClosed(
        **envelope("call_task.closed", "notifier"),
        payload=notifications.ClosedCallTask(
            task_id=uid("task"),
            reminder_id=uid("reminder"),
            customer_id=CUSTOMER,
            invoice_ids=(INVOICE,),
            outcome="promise_to_pay",
            promised_date=date(2024, 5, 15),
            promised_amount=eur_positive("700.00"),
            closed_by="collector@creditor.example",
            note="Will pay by transfer after their payment run.",
        ),
    )


def dispute_open() -> Event:
    return disputes.OpenDispute(
        **envelope("dispute.open", "portal"),
        payload=disputes.DisputeRequest(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            invoice_ids=(OTHER_INVOICE,),
            category="delivery",
            text="Pallet 3 never arrived.",
            raised_by="portal",
            attachments=(
                disputes.Attachment(
                    reference="disputes/C-1001/delivery-note-7.pdf",
                    media_type="application/pdf",
                    size=48213,
                    sha256="2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                    file_name="bon de livraison 7.pdf",
                ),
            ),
        ),
    )


def dispute_resolve() -> Event:
    return disputes.ResolveDispute(
        **envelope("dispute.resolve", "crm"),
        payload=disputes.DisputeResolution(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            outcome="justified",
            by="adv@creditor.example",
            note="Credit note CN-13 issued for pallet 3.",
        ),
    )


def dispute_answer() -> Event:
    return disputes.AnswerDispute(
        **envelope("dispute.answer", "portal"),
        payload=disputes.DisputeAnswer(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            answer_id=uid("answer"),
            by=f"owner-link:{uid('dispute')}:order_administration",
            text="Pallet 3 was indeed short; see the delivery note.",
        ),
    )


def dispute_answered() -> Event:
    return disputes.DisputeAnswered(
        **envelope("dispute.answered", "disputes"),
        payload=disputes.AnsweredDispute(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            answer_id=uid("answer"),
            by=f"owner-link:{uid('dispute')}:order_administration",
            text="Pallet 3 was indeed short; see the delivery note.",
        ),
    )


def dispute_reopen() -> Event:
    return disputes.ReopenDispute(
        **envelope("dispute.reopen", "crm"),
        payload=disputes.DisputeReopening(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            by="collector@creditor.example",
            reason="The credit note was for the wrong amount.",
        ),
    )


def _promise() -> disputes.Promise:
    return disputes.Promise(
        promise_id=uid("promise"),
        customer_id=CUSTOMER,
        invoice_ids=(INVOICE,),
        promised_date=date(2024, 5, 15),
        amount=eur_positive("700.00"),
        channel="phone_call",
        recorded_by="collector@creditor.example",
    )


def promise_record() -> Event:
    return disputes.RecordPromise(**envelope("promise.record", "http-api"), payload=_promise())


def _plan() -> disputes.PaymentPlan:
    return disputes.PaymentPlan(
        plan_id=uid("plan"),
        customer_id=CUSTOMER,
        invoice_ids=(INVOICE, OTHER_INVOICE),
        agreed_on=date(2024, 5, 20),
        instalments=(
            disputes.Instalment(due_date=date(2024, 5, 20), amount=eur_positive("400.00")),
            disputes.Instalment(due_date=date(2024, 6, 20), amount=eur_positive("500.00")),
            disputes.Instalment(due_date=date(2024, 7, 20), amount=eur_positive("500.00")),
        ),
        agreed_by="collector@creditor.example",
    )


def callback_request() -> Event:
    return disputes.RequestCallback(
        **envelope("callback.request", "portal"),
        payload=disputes.CallbackRequest(
            request_id=uid("callback"),
            customer_id=CUSTOMER,
            company_code=COMPANY,
            phone="+33612345678",
            on=date(2024, 5, 14),
            slot="morning",
            invoice_ids=(INVOICE,),
            requested_by="portal:" + CUSTOMER,
        ),
    )


def promise_payment_failed() -> Event:
    return disputes.RecordPaymentFailure(
        **envelope("promise.payment_failed", "portal"),
        payload=disputes.FailedPayment(
            promise_id=uid("promise"),
            customer_id=CUSTOMER,
            failed_on=date(2024, 5, 14),
            reason="failed: insufficient_funds",
            recorded_by="gocardless:PM000123",
        ),
    )


def callback_requested() -> Event:
    request = callback_request()
    assert isinstance(request, disputes.RequestCallback)
    return disputes.CallbackRequested(
        **envelope("callback.requested", "disputes"), payload=request.payload
    )


def callback_close() -> Event:
    return disputes.CloseCallback(
        **envelope("callback.close", "console"),
        payload=disputes.CallbackClosure(
            request_id=uid("callback"), customer_id=CUSTOMER, closed_by="local:marie.dupont"
        ),
    )


def payment_plan_agree() -> Event:
    return disputes.AgreePaymentPlan(**envelope("payment_plan.agree", "crm"), payload=_plan())


def _proposal() -> disputes.PlanProposal:
    return disputes.PlanProposal(
        proposal_id=uid("plan proposal"),
        customer_id=CUSTOMER,
        company_code=COMPANY,
        invoice_ids=(INVOICE,),
        proposed_on=date(2024, 5, 20),
        instalments=(
            disputes.Instalment(due_date=date(2024, 5, 24), amount=eur_positive("600.00")),
            disputes.Instalment(due_date=date(2024, 6, 24), amount=eur_positive("600.00")),
        ),
        proposed_by="portal:" + CUSTOMER,
    )


def payment_plan_propose() -> Event:
    return disputes.ProposePaymentPlan(
        **envelope("payment_plan.propose", "portal"), payload=_proposal()
    )


def payment_plan_accept() -> Event:
    return disputes.AcceptPaymentPlan(
        **envelope("payment_plan.accept", "console"),
        payload=disputes.PlanDecision(
            proposal_id=uid("plan proposal"),
            customer_id=CUSTOMER,
            actor=_actor(),
            requested_at=datetime(2024, 5, 21, 9, 30, tzinfo=UTC),
        ),
    )


def payment_plan_refuse() -> Event:
    return disputes.RefusePaymentPlan(
        **envelope("payment_plan.refuse", "console"),
        payload=disputes.PlanRefusal(
            proposal_id=uid("plan proposal"),
            customer_id=CUSTOMER,
            actor=_actor(),
            requested_at=datetime(2024, 5, 21, 9, 30, tzinfo=UTC),
            reason="Two instalments at most for this amount.",
        ),
    )


def payment_plan_proposed() -> Event:
    return disputes.PaymentPlanProposed(
        **envelope("payment_plan.proposed", "disputes"),
        payload=disputes.ProposedPaymentPlan(
            **_proposal().model_dump(), answer_by=datetime(2024, 5, 23, 22, 0, tzinfo=UTC)
        ),
    )


def payment_plan_refused() -> Event:
    return disputes.PaymentPlanRefused(
        **envelope("payment_plan.refused", "disputes"),
        payload=disputes.RefusedPaymentPlan(
            proposal_id=uid("plan proposal"),
            customer_id=CUSTOMER,
            company_code=COMPANY,
            invoice_ids=(INVOICE,),
            refused_on=date(2024, 5, 21),
            by="oidc:credit-manager",
            reason="Two instalments at most for this amount.",
        ),
    )


def dispute_opened() -> Event:
    return disputes.DisputeOpened(
        **envelope("dispute.opened", "disputes"),
        payload=disputes.OpenedDispute(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            invoice_ids=(OTHER_INVOICE,),
            category="delivery",
            text="Pallet 3 never arrived.",
            raised_by="portal",
            owner_role="order_administration",
            owner="adv@creditor.example",
            due_date=date(2024, 5, 16),
        ),
    )


def dispute_resolved() -> Event:
    return disputes.DisputeResolved(
        **envelope("dispute.resolved", "disputes"),
        payload=disputes.ResolvedDispute(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            invoice_ids=(OTHER_INVOICE,),
            outcome="justified",
            by="adv@creditor.example",
        ),
    )


def dispute_reopened() -> Event:
    return disputes.DisputeReopened(
        **envelope("dispute.reopened", "disputes"),
        payload=disputes.ReopenedDispute(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            whole_account=True,
            owner_role="accounting_team",
            due_date=date(2024, 6, 1),
            by="collector@creditor.example",
            reason="The credit note was for the wrong amount.",
        ),
    )


def dispute_correction_received() -> Event:
    return disputes.DisputeCorrectionReceived(
        **envelope("dispute.correction_received", "disputes"),
        payload=disputes.ReceivedCorrection(
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            invoice_ids=(OTHER_INVOICE,),
            cause="credit_note",
        ),
    )


def dispute_owner_reminder_due() -> Event:
    return disputes.DisputeOwnerReminderDue(
        **envelope("dispute.owner_reminder.due", "disputes"),
        payload=disputes.OwnerReminder(
            reminder_id=uid("owner-reminder"),
            dispute_id=uid("dispute"),
            customer_id=CUSTOMER,
            invoice_ids=(OTHER_INVOICE,),
            owner_role="order_administration",
            owner="adv@creditor.example",
            due_date=date(2024, 5, 16),
            firmness="firm",
            escalated_to_manager=True,
        ),
    )


def promise_made() -> Event:
    return disputes.PromiseMade(**envelope("promise.made", "disputes"), payload=_promise())


def promise_kept() -> Event:
    return disputes.PromiseKept(
        **envelope("promise.kept", "disputes"),
        payload=disputes.KeptPromise(
            promise_id=uid("promise"),
            customer_id=CUSTOMER,
            invoice_ids=(INVOICE,),
            kept_on=date(2024, 5, 14),
        ),
    )


def promise_broken() -> Event:
    return disputes.PromiseBroken(
        **envelope("promise.broken", "disputes"),
        payload=disputes.BrokenPromise(
            promise_id=uid("promise"),
            customer_id=CUSTOMER,
            invoice_ids=(INVOICE,),
            promised_date=date(2024, 5, 15),
            amount=eur_positive("700.00"),
            received=eur("200.00"),
        ),
    )


def payment_plan_agreed() -> Event:
    return disputes.PaymentPlanAgreed(
        **envelope("payment_plan.agreed", "disputes"), payload=_plan()
    )


def payment_plan_instalment_missed() -> Event:
    return disputes.PaymentPlanInstalmentMissed(
        **envelope("payment_plan.instalment_missed", "disputes"),
        payload=disputes.MissedInstalment(
            plan_id=uid("plan"),
            customer_id=CUSTOMER,
            invoice_ids=(INVOICE, OTHER_INVOICE),
            instalment_number=2,
            due_date=date(2024, 6, 20),
            amount=eur_positive("500.00"),
            received=eur("0"),
        ),
    )


def payment_plan_broken() -> Event:
    return disputes.PaymentPlanBroken(
        **envelope("payment_plan.broken", "disputes"),
        payload=disputes.BrokenPaymentPlan(
            plan_id=uid("plan"),
            customer_id=CUSTOMER,
            invoice_ids=(INVOICE, OTHER_INVOICE),
            broken_on=date(2024, 6, 30),
            reason="second instalment unpaid ten days after its due date",
        ),
    )


def payment_plan_completed() -> Event:
    return disputes.PaymentPlanCompleted(
        **envelope("payment_plan.completed", "disputes"),
        payload=disputes.CompletedPaymentPlan(
            plan_id=uid("plan"),
            customer_id=CUSTOMER,
            invoice_ids=(INVOICE, OTHER_INVOICE),
            completed_on=date(2024, 7, 19),
        ),
    )


def fx_rate_published() -> Event:
    return reference.FxRatePublished(
        **envelope("fx.rate.published", "ops"),
        payload=reference.FxRate(
            base_currency="EUR",
            quote_currency="USD",
            rate=Decimal("1.0845"),
            valid_on=date(2024, 5, 2),
        ),
    )


def reference_interest_rate_published() -> Event:
    return reference.ReferenceInterestRatePublished(
        **envelope("reference.interest_rate.published", "ops"),
        payload=reference.ReferenceInterestRate(
            kind="de_base_rate", valid_from=date(2024, 7, 1), rate=Decimal("3.37")
        ),
    )


_BUILDERS: tuple[Callable[[], Event], ...] = (
    erp_customer_upserted,
    erp_invoice_issued,
    erp_invoice_updated,
    erp_invoice_cancelled,
    erp_payment_received,
    erp_credit_note_issued,
    ledger_customer_upserted,
    ledger_invoice_opened,
    ledger_open_amount_changed,
    ledger_invoice_settled,
    ledger_invoice_cancelled,
    ledger_credit_balance_changed,
    ledger_unmatched_cash_recorded,
    ledger_unmatched_cash_cleared,
    dunning_reminder_due,
    dunning_escalation_raised,
    dunning_sending_suspended,
    dunning_sending_resumed,
    dunning_state_changed,
    delivery_sent,
    delivery_delivered,
    delivery_bounced,
    delivery_failed,
    delivery_suppressed,
    call_task_closed,
    dispute_open,
    dispute_resolve,
    dispute_answer,
    dispute_reopen,
    promise_record,
    payment_plan_agree,
    callback_request,
    promise_payment_failed,
    dispute_opened,
    dispute_resolved,
    dispute_answered,
    dispute_reopened,
    dispute_correction_received,
    dispute_owner_reminder_due,
    promise_made,
    promise_kept,
    promise_broken,
    payment_plan_agreed,
    payment_plan_instalment_missed,
    payment_plan_broken,
    payment_plan_completed,
    payment_plan_propose,
    payment_plan_accept,
    payment_plan_refuse,
    payment_plan_proposed,
    payment_plan_refused,
    callback_requested,
    callback_close,
    fx_rate_published,
    command_hold,
    command_release,
    command_send_now,
    command_change_scenario,
    command_skip_step,
    command_add_note,
    command_log_call,
    dunning_command_executed,
    command_approve_proposal,
    command_edit_proposal,
    command_postpone_proposal,
    command_skip_proposal,
    command_approve_proposals,
    command_suspend_sending,
    command_resume_sending,
    command_launch_campaign,
    dunning_proposal_raised,
    dunning_proposal_decided,
    notifier_proposal_rendered,
    dunning_campaign_launched,
    dunning_library_changed,
    reference_interest_rate_published,
)


def examples() -> dict[str, Event]:
    """One example per event type, by event type."""
    built = [build() for build in _BUILDERS]
    return {event.event_type: event for event in built}
