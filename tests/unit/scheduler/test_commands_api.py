"""The commands API's routes are the contract's commands: one per kind of the topic's union,
each body the command's payload less what the API fills in, published at /openapi.json."""

# No ``from __future__ import annotations``: the test defines a command kind as FastAPI would
# read it.

import json
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import httpx
import pytest
from pydantic import Field

from contracts import commands
from contracts.envelope import Event
from services.runtime.auth import Authenticator, AuthSettings
from services.runtime.clock import SystemClock
from services.runtime.health import HealthState, build_app
from services.scheduler.api import FILLED_IN, CommandsApi, command_kinds
from services.scheduler.domain.commands import COMMAND_ROLES


def served(kinds: Any = None) -> Any:
    clock = SystemClock()
    api = CommandsApi(
        None,  # type: ignore[arg-type]  # the document needs no database
        clock,
        Authenticator("scheduler", AuthSettings(), clock),
        kinds,
    )
    return build_app(HealthState("scheduler"), [api.router()])


async def openapi(kinds: Any = None) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=served(kinds))
    async with httpx.AsyncClient(transport=transport, base_url="http://scheduler") as client:
        answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def contract_kinds() -> list[type[commands.CommandBase]]:
    return list(get_args(get_args(commands.CollectorCommand)[0]))


def _normalised(schema: Any) -> Any:
    """References as names, whichever document they point into; a null default left out
    (FastAPI's document omits it)."""
    text = json.dumps(schema, sort_keys=True)
    found = json.loads(text.replace("#/components/schemas/", "#/$defs/"))
    if isinstance(found, dict) and found.get("default", ...) is None:
        del found["default"]
    return found


async def test_every_command_of_the_contract_has_its_route_with_its_payload_as_body() -> None:
    document = await openapi()
    schemas = document["components"]["schemas"]
    for event in contract_kinds():
        name = event.model_fields["event_type"].default.removeprefix("command.")
        operation = document["paths"][f"/v1/commands/{name}"]["post"]
        assert set(operation["responses"]) >= {"202", "401", "403", "422"}
        body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[body_ref.rsplit("/", 1)[1]]
        payload: Any = event.model_fields["payload"].annotation
        contract = payload.model_json_schema(ref_template="#/$defs/{model}")
        expected = {k: v for k, v in contract["properties"].items() if k not in FILLED_IN}
        got = _normalised(body["properties"])
        assert set(got) == set(expected), name
        for field, schema in expected.items():
            if field == "command_id":  # optional in the body: the API draws one
                assert got[field]["anyOf"] == [
                    {"type": "string", "format": "uuid"},
                    {"type": "null"},
                ]
                continue
            assert got[field] == _normalised(schema), (name, field)
        assert set(body.get("required", ())) == set(contract["required"]) - FILLED_IN - {
            "command_id"
        }
        assert body["additionalProperties"] is False  # an `actor` in a body is refused
        assert COMMAND_ROLES[name] in operation["description"]
    assert "get" in document["paths"]["/v1/commands/{command_id}"]
    assert "/healthz" in document["paths"]


class Approve(commands.CommandBase):
    proposal_id: Annotated[str, Field(min_length=1)]


class ApproveCommand(Event):
    """Approve a proposal."""

    event_type: Literal["command.approve_test"] = "command.approve_test"
    payload: Approve


async def test_a_kind_added_to_the_union_gets_its_route_without_more_code() -> None:
    union = Annotated[
        commands.HoldCommand | ApproveCommand,
        Field(discriminator="event_type"),
    ]
    document = await openapi(command_kinds(union))
    operation = document["paths"]["/v1/commands/approve_test"]["post"]
    assert operation["summary"] == "Approve a proposal."
    assert "`collector`" in operation["description"]  # the default lowest role
    body = document["components"]["schemas"]["ApproveRequest"]
    assert set(body["properties"]) == {"command_id", "customer_id", "proposal_id"}


@pytest.mark.parametrize("name", ["hold", "log_call"])
def test_kinds_carry_their_lowest_role(name: str) -> None:
    (kind,) = [k for k in command_kinds() if k.name == name]
    assert kind.role == "collector"
    (change,) = [k for k in command_kinds() if k.name == "change_scenario"]
    assert change.role == "credit_manager"


def test_the_commands_page_names_every_route_and_its_lowest_role() -> None:
    page = (Path(__file__).resolve().parents[3] / "docs" / "commands.md").read_text()
    for kind in command_kinds():
        assert f"`POST /v1/commands/{kind.name}`" in page, kind.name
        assert f"| `{kind.name}` | `dunning.commands.v1` | scheduler | {kind.role} |" in page
    assert "`GET /v1/commands/{command_id}`" in page
    assert "/openapi.json" in page
