"""Signed links for a dispute's internal owner (sales, order administration...): scoped to
one dispute, without an account or an API key.

Minted by the notifier (the owner's emails) and checked here; both import them from
:mod:`services.runtime.signed_links` (:class:`DisputeLinks`): the same keys as the
customers' links (``RELANCE_LINKS_KEYS``, rotation included) but another salt, so a
customer's link never opens a dispute and a dispute's link never opens an account; a link
older than ``RELANCE_LINKS_VALID_DAYS`` is expired. A link is
``<base_url>/portal/dispute/<token>``.
"""

from __future__ import annotations

from services.runtime.signed_links import DISPUTE_SALT as SALT
from services.runtime.signed_links import DisputeLinks

__all__ = ["SALT", "DisputeLinks"]
