"""Lay out the Kubernetes JSON Schemas of the kubernetes-validate wheel for kubeconform.

The wheel keeps one directory per Kubernetes version (``v1.31.0-local-strict``) with one
file per kind (``deployment-apps-v1.json``, kubeconform's naming) whose ``$ref``s point to
``/api/_definitions.json``. kubeconform resolves references by URL, so this copies the
directory and makes those references absolute ``file://`` URLs.

    python infra/k8s-tools/k8s_schemas.py WHEEL VERSION OUT_DIR
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path, PurePosixPath


def extract(wheel: Path, version: str, out: Path) -> int:
    prefix = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    definitions = out.as_uri() + "/_definitions.json"
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.startswith(prefix) or not name.endswith(".json"):
                continue
            text = archive.read(name).decode()
            text = text.replace('"/api/_definitions.json#', f'"{definitions}#')
            filename = PurePosixPath(name).name
            if filename == "_definitions.json":
                document = json.loads(text)
                document["$id"] = definitions
                text = json.dumps(document)
            (out / filename).write_text(text)
            count += 1
    if count == 0:
        raise SystemExit(f"no schemas for Kubernetes {version} in {wheel}")
    return count


def main(argv: list[str]) -> int:
    wheel, version, out = Path(argv[0]), argv[1], Path(argv[2])
    print(f"{extract(wheel, version, out)} schemas written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
