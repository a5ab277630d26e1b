"""What ingestion's SQL adapter builds in Python before a statement goes out."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.ingestion import queries
from services.ingestion.domain.book import CreditLots


@given(
    lots=st.lists(
        st.tuples(
            st.none() | st.dates(),
            st.decimals(allow_nan=False, allow_infinity=False, places=None),
        ),
        max_size=8,
    )
)
def test_credit_lots_json_is_what_json_dumps_would_write(lots: CreditLots) -> None:
    text = queries._lots_json(lots)
    assert json.loads(text) == [[None if d is None else d.isoformat(), f"{a:f}"] for d, a in lots]
    read = [(None if d is None else date.fromisoformat(d), Decimal(a)) for d, a in json.loads(text)]
    assert read == lots
