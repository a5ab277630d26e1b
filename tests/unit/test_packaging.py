"""Every data file a service reads at run time is declared as package data, so that the
wheel the container image installs holds it (templates, migrations, schemas)."""

from __future__ import annotations

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
