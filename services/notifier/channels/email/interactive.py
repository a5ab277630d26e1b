"""Interactive email: the reminder's email with the customer's signed link to the portal.

The ``interactive_email`` channel sends the reminder's email with a link to the customer's
account with the invoicing company, on the portal (``services/portal/``, docs/portal.md).
The link is minted by the kit's :class:`~services.runtime.signed_links.CustomerLinks`, the
same module the portal verifies it with: one link per customer and company, signed with
the newest of ``RELANCE_LINKS_KEYS``, valid ``RELANCE_LINKS_VALID_DAYS``. The notifier
serves no page and imports nothing of the portal.
"""

from __future__ import annotations

from datetime import date, datetime

from contracts.dunning import Reminder
from services.notifier.channels.email.adapter import EmailAdapter
from services.notifier.channels.email.smtp import SmtpChannel
from services.notifier.composing.composer import EmailComposer
from services.runtime.signed_links import CustomerLinks


class InteractiveEmailAdapter(EmailAdapter):
    """The reminder's email with the customer's personal link to the portal."""

    def __init__(self, composer: EmailComposer, smtp: SmtpChannel, links: CustomerLinks) -> None:
        super().__init__(composer, smtp)
        self.links = links

    def portal(self, reminder: Reminder, now: datetime) -> tuple[str, date] | None:
        link = self.links.url(reminder.customer_id, reminder.company_code)
        return link, self.links.expires_at(now).date()
