"""The ingestion service as a process, on topics prefixed by ``INGESTION_TEST_PREFIX``.

The same handler, migrations and settings as ``relance run ingestion``; only the topic names
differ, so that a test never reads another test's records.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path

from contracts.topics import ERP_TOPICS, LEDGER_EVENTS, Topic
from services.ingestion.app import DEFINITION
from services.ingestion.handler import LedgerHandler
from services.ingestion.settings import IngestionSettings
from services.runtime.service import ServiceContext, ServiceDefinition, ServiceParts, run
from services.runtime.settings import load


def prefixed(topic: Topic) -> Topic:
    return dataclasses.replace(topic, name=os.environ["INGESTION_TEST_PREFIX"] + topic.name)


async def build(context: ServiceContext) -> ServiceParts:
    settings = context.settings
    assert isinstance(settings, IngestionSettings)
    handler = LedgerHandler(
        context.name, frozenset(settings.company_codes), ledger_topic=prefixed(LEDGER_EVENTS)
    )
    # as the service (services/ingestion/app.py)
    return ServiceParts(handler=handler.handle, partition_locks=True, dedupe_by_offsets=True)


def definition() -> ServiceDefinition:
    return dataclasses.replace(
        DEFINITION, consumes=tuple(prefixed(t) for t in ERP_TOPICS), build=build
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    found = definition()
    sys.exit(asyncio.run(run(found, load(found.settings_class))))
