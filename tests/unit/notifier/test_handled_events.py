"""Every event on the notifier's topics is classified: kept in a ledger view, handled, or
ignored. An ignored fact does not end a run of ledger events (each end costs the run's
statements), so a new event type must be placed on purpose, not fall into ``case _``."""

from __future__ import annotations

import inspect
import types
import typing

from services.notifier import handler, ledger_batch
from services.notifier.app import DEFINITION


def _classes(union: object) -> list[type]:
    found: list[type] = []
    for arg in typing.get_args(union):
        if isinstance(arg, type):
            found.append(arg)
        elif typing.get_origin(arg) in (typing.Union, types.UnionType, typing.Annotated):
            found.extend(_classes(arg))
    return found


def test_every_event_of_the_notifiers_topics_is_kept_handled_or_ignored() -> None:
    source = inspect.getsource(handler.handle)
    carried = [cls for topic in DEFINITION.consumes for cls in _classes(topic.union)]
    assert len(carried) > 20  # the unions were read (a change of their shape would empty it)
    for cls in carried:
        kept = cls in ledger_batch.LEDGER_EVENTS
        ignored = cls in handler.IGNORED
        matched = f".{cls.__name__}(payload=" in source
        assert kept + ignored + matched == 1, (cls.__name__, kept, ignored, matched)


def test_nothing_ignored_is_on_no_topic_of_the_notifier() -> None:
    carried = {cls for topic in DEFINITION.consumes for cls in _classes(topic.union)}
    assert set(handler.IGNORED) <= carried
