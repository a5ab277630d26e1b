"""Exit 0 when a Kafka cluster answers a metadata request, else 1.

Used by infra/kafka.sh as its readiness wait: a listening port is not enough, the
broker must have elected its controller and serve metadata.
"""

import asyncio
import sys

from aiokafka import AIOKafkaClient  # type: ignore[import-untyped]


async def ready(bootstrap: str) -> bool:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout=5)
        return bool(client.cluster.brokers())
    except Exception:
        return False
    finally:
        await client.close()


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(ready(sys.argv[1])) else 1)
