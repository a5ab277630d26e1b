"""The repeat limiter: a library's message repeated in a loop comes out once a minute."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from services.runtime import logs


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def written(clock: Clock) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler has a limiter on the fake clock; what it writes."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.addFilter(logs.RepeatLimiter(emit=handler.handle, clock=clock))
    logger = logging.getLogger("aiokafka.test_repeats")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, out
    logger.removeHandler(handler)
    logger.propagate = True


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_the_first_occurrence_passes_and_the_copies_are_summarised_after_a_minute(
    written: tuple[logging.Logger, io.StringIO], clock: Clock
) -> None:
    logger, out = written
    for _ in range(250):  # an outage: the same error many times a second
        logger.error("Unable connect to node with id %s: %s", 1, "Connect call failed")
        clock.now += 0.2
    assert lines(out) == [
        "aiokafka.test_repeats ERROR Unable connect to node with id 1: Connect call failed"
    ]
    clock.now += 10  # 60 s after the first, it comes again
    logger.error("Unable connect to node with id %s: %s", 1, "Connect call failed")
    assert lines(out)[1:] == [
        "aiokafka.test_repeats ERROR Unable connect to node with id 1: Connect call failed"
        " ... repeated 249 times in the last 60 s",
        "aiokafka.test_repeats ERROR Unable connect to node with id 1: Connect call failed",
    ]


def test_different_messages_levels_and_loggers_are_limited_apart(
    written: tuple[logging.Logger, io.StringIO], clock: Clock
) -> None:
    logger, out = written
    for _ in range(3):
        logger.error("node %s down", 1)
        logger.error("node %s down", 2)
        logger.warning("node %s down", 1)
        logging.getLogger("aiokafka.test_repeats.child").error("node %s down", 1)
    assert lines(out) == [
        "aiokafka.test_repeats ERROR node 1 down",
        "aiokafka.test_repeats ERROR node 2 down",
        "aiokafka.test_repeats WARNING node 1 down",
        "aiokafka.test_repeats.child ERROR node 1 down",
    ]


def test_a_message_that_stopped_is_summarised_with_the_next_record(
    written: tuple[logging.Logger, io.StringIO], clock: Clock
) -> None:
    logger, out = written
    for _ in range(4):
        logger.warning("Unable to update metadata")
        clock.now += 1
    logger.error("once")  # within the window: nothing to summarise yet
    clock.now += 120  # Kafka is back, aiokafka quiet; later something else is logged
    logger.info("Joined group")
    assert lines(out) == [
        "aiokafka.test_repeats WARNING Unable to update metadata",
        "aiokafka.test_repeats ERROR once",
        "aiokafka.test_repeats WARNING Unable to update metadata"
        " ... repeated 3 times in the last 60 s",
        "aiokafka.test_repeats INFO Joined group",
    ]


def test_a_message_not_repeated_leaves_no_summary(
    written: tuple[logging.Logger, io.StringIO], clock: Clock
) -> None:
    logger, out = written
    logger.warning("Marking the coordinator dead")
    clock.now += 61
    logger.warning("Marking the coordinator dead")
    assert lines(out) == ["aiokafka.test_repeats WARNING Marking the coordinator dead"] * 2


def test_informational_lines_are_not_limited(
    written: tuple[logging.Logger, io.StringIO], clock: Clock
) -> None:
    logger, out = written
    for _ in range(3):  # yoyo, one line per migration: alike, yet each one means something
        logger.info(" - applying step 0")
    assert lines(out) == ["aiokafka.test_repeats INFO  - applying step 0"] * 3


def test_beyond_the_tracked_messages_records_pass_unlimited(clock: Clock) -> None:
    passed: list[logging.LogRecord] = []
    limiter = logs.RepeatLimiter(emit=passed.append, clock=clock, max_tracked=2)

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, message, None, None)

    verdicts = [limiter.filter(record(m)) for m in ("a", "b", "c", "c", "a")]
    assert verdicts == [True, True, True, True, False]


def test_the_services_logging_limits_library_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("svc")
    try:
        for _ in range(100):
            logging.getLogger("aiokafka.conn").error("Unable connect to %s", "127.0.0.1:9092")
        logging.getLogger("aiokafka.conn").error("Unable connect to %s", "other:9092")
        log = logs.get_logger("t")
        for _ in range(3):  # Relance's own events are not limited
            log.info("outbox_relay_waiting_for_kafka")
    finally:
        structlog.reset_defaults()
    events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
    assert events == [
        "Unable connect to 127.0.0.1:9092",
        "Unable connect to other:9092",
        *["outbox_relay_waiting_for_kafka"] * 3,
    ]
