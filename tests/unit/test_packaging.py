"""Every data file a service reads at run time is declared as package data, so that the
wheel the container image installs holds it (templates, migrations, schemas)."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]


def _declared(package: str, relative: PurePosixPath, patterns: dict[str, list[str]]) -> bool:
    for owner, globs in patterns.items():
        if owner not in ("*", package):
            continue
        for glob in globs:
            if relative.match(glob) or (
                "**" in glob and str(relative).startswith(glob.split("/**")[0] + "/")
            ):
                return True
    return False


def test_every_data_file_is_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    missing = []
    for top in ("contracts", "services"):
        for path in (ROOT / top).rglob("*"):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            # the package that owns the file: the deepest folder with an __init__.py above it
            folder = path.parent
            while not (folder / "__init__.py").exists():
                folder = folder.parent
            package = ".".join(folder.relative_to(ROOT).parts)
            relative = PurePosixPath(path.relative_to(folder).as_posix())
            if not _declared(package, relative, patterns) and not _declared(
                package, PurePosixPath(path.name), {"*": patterns.get("*", [])}
            ):
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_the_relance_script_points_into_a_packaged_module() -> None:
    """The ``relance`` entry point names a function of the top-level ``relance`` package,
    and setuptools' package discovery includes that package, so the wheel runs it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = project["project"]["scripts"]["relance"]
    module, _, function = target.partition(":")
    assert module.split(".")[0] == "relance"
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert any(PurePosixPath(module.split(".")[0]).match(pattern) for pattern in included)
    entry = getattr(importlib.import_module(module), function)
    assert callable(entry)
    assert not (ROOT / "services" / "runtime" / "cli.py").exists(), "the kit holds no CLI"
