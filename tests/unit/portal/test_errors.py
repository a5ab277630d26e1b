"""Every exception the portal defines sits under PortalError and is listed in its tree."""

from __future__ import annotations

import importlib
import pkgutil

import services.portal
from services.portal import errors
from services.runtime.errors import RelanceError


def test_every_exception_sits_under_portal_error_and_is_listed() -> None:
    found = []
    for module_info in pkgutil.walk_packages(services.portal.__path__, "services.portal."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseException)
            and value.__module__ == module_info.name
        ]
    assert errors.PortalError in found
    for exception in found:
        assert issubclass(exception, errors.PortalError), exception
        assert issubclass(exception, RelanceError), exception
        assert exception.__name__ in (errors.__doc__ or ""), exception
