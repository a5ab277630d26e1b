"""Every exception the scheduler defines sits under its base, itself under ``RelanceError``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import services.scheduler
from services.runtime.errors import RelanceError
from services.scheduler import errors
from services.scheduler.errors import SchedulerError


def _scheduler_exceptions() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for module in pkgutil.walk_packages(services.scheduler.__path__, "services.scheduler."):
        loaded = importlib.import_module(module.name)
        for _, value in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith(
                "services.scheduler."
            ):
                found.add(value)
    return found


def test_every_scheduler_exception_is_a_scheduler_error() -> None:
    exceptions = _scheduler_exceptions()
    assert errors.InvalidScenarios in exceptions
    assert SchedulerError in exceptions
    assert issubclass(SchedulerError, RelanceError)
    assert {e.__name__ for e in exceptions if not issubclass(e, SchedulerError)} == set()


def test_the_tree_in_the_docstring_lists_every_exception() -> None:
    assert errors.__doc__ is not None
    listed = {e.__name__ for e in _scheduler_exceptions() if e is not SchedulerError}
    assert {name for name in listed if name not in errors.__doc__} == set()
