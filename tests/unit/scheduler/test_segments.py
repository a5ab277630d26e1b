"""A customer's segment, remembered per stored object, is the one validation gives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.erp import Segment
from services.scheduler.domain import state

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from(["business", "consumer", "negligent", "good", "high", "x", ""]),
    st.lists(st.sampled_from(["vip", "public", "", "x"]), max_size=3),
    st.dictionaries(st.just("a"), st.integers(0, 1), max_size=1),
)
STORED = st.dictionaries(
    st.sampled_from(["customer_type", "market", "risk_rating", "payer_profile", "tags", "other"]),
    VALUES,
    max_size=4,
)


@settings(max_examples=500)
@given(stored=st.lists(STORED, min_size=1, max_size=6))
def test_a_remembered_segment_is_the_validated_one(stored: list[dict[str, Any]]) -> None:
    for one in stored:  # the earlier ones fill the memo for the later ones
        try:
            expected = Segment.model_validate(one)
        except ValidationError:
            with pytest.raises(ValidationError):
                state._segment(one)
            continue
        assert state._segment(one) == expected


def test_a_valid_segment_does_not_answer_for_an_invalid_one_that_compares_equal() -> None:
    assert state._segment({"tags": ["vip"]}) == Segment(tags=("vip",))
    with pytest.raises(ValidationError):
        state._segment({"tags": ["vip", 1]})
    assert state._segment({"payer_profile": "negligent"}).payer_profile == "negligent"
    with pytest.raises(ValidationError):
        state._segment({"payer_profile": True})
