"""Turn CustomResourceDefinition YAML files into the JSON Schemas kubeconform reads.

kubeconform looks a custom resource up as ``<group>/<kind>_<version>.json`` (lower case).
Each served version's ``openAPIV3Schema`` becomes one file. With ``--strict``, every object
that lists its properties and says nothing of others gets ``additionalProperties: false``
(the API server prunes unknown fields; here they are reported), and
``x-kubernetes-int-or-string`` becomes a string-or-integer type, as kubeconform's own
``openapi2jsonschema`` does.

    python infra/k8s-tools/crd_schemas.py --strict OUT_DIR CRD.yaml...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if node.get("x-kubernetes-int-or-string"):
            node.pop("type", None)
            node["oneOf"] = [{"type": "string"}, {"type": "integer"}]
        preserve = node.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in node and "additionalProperties" not in node and not preserve:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


def write_schemas(crd_file: Path, out: Path, strict: bool) -> list[Path]:
    written: list[Path] = []
    for document in yaml.safe_load_all(crd_file.read_text()):
        if not document or document.get("kind") != "CustomResourceDefinition":
            continue
        spec = document["spec"]
        group, kind = spec["group"], spec["names"]["kind"].lower()
        for version in spec["versions"]:
            schema = version.get("schema", {}).get("openAPIV3Schema")
            if schema is None:
                continue
            if strict:
                schema = _strict(schema)
                # apiVersion, kind and metadata are always allowed at the root.
                schema.setdefault("properties", {}).setdefault("metadata", {"type": "object"})
            target = out / group / f"{kind}_{version['name']}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(schema, indent=1))
            written.append(target)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("out", type=Path)
    parser.add_argument("crds", type=Path, nargs="+")
    args = parser.parse_args(argv)
    count = sum(len(write_schemas(crd, args.out, args.strict)) for crd in args.crds)
    print(f"{count} schemas written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
