"""The tick's fast identifiers are the standard library's: ``uuid5`` bit for bit, and
random version-4 ids that behave as ``uuid.UUID`` values everywhere."""

from __future__ import annotations

import os
import pickle
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.domain import ids, reminders


@settings(max_examples=500)
@given(namespace=st.uuids(), name=st.text())
def test_a_name_based_id_is_uuid5(namespace: uuid.UUID, name: str) -> None:
    made = ids.name_uuid(namespace, name)
    expected = uuid.uuid5(namespace, name)
    assert made == expected
    assert (str(made), made.bytes, made.version, made.variant, hash(made)) == (
        str(expected),
        expected.bytes,
        expected.version,
        expected.variant,
        hash(expected),
    )
    assert pickle.loads(pickle.dumps(made)) == expected


@settings(max_examples=1000)
@given(namespace=st.uuids(), name=st.text())
def test_a_name_based_ids_text_is_the_text_of_uuid5(namespace: uuid.UUID, name: str) -> None:
    text = ids.name_id_text(namespace, name)
    expected = uuid.uuid5(namespace, name)
    assert text == str(expected)
    parsed = uuid.UUID(text)
    assert (parsed, parsed.version, parsed.variant) == (expected, 5, uuid.RFC_4122)


@settings(max_examples=300)
@given(
    customer=st.text(),
    scenario=st.text(),
    step=st.text(),
    invoices=st.lists(st.text(), min_size=1, max_size=5),
)
def test_a_reminders_id_text_is_the_text_of_its_id(
    customer: str, scenario: str, step: str, invoices: list[str]
) -> None:
    made = reminders.reminder_id(customer, scenario, step, invoices)
    text = reminders.reminder_id_text(customer, scenario, step, invoices)
    assert text == str(made)
    key = "|".join([customer, scenario, step, *sorted(invoices)])
    assert made == uuid.uuid5(reminders.REMINDER_NAMESPACE, key)


def test_random_ids_are_version_4_and_do_not_repeat() -> None:
    made = [ids.random_uuid() for _ in range(10_000)]  # more than one batch of random bytes
    assert len(set(made)) == len(made)
    for one in made[:100]:
        assert (one.version, one.variant) == (4, uuid.RFC_4122)
        assert uuid.UUID(str(one)) == one


def test_a_forked_process_reads_random_bytes_of_its_own() -> None:
    ids.random_uuid()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next ids come from bytes it reads itself
        os.close(read)
        os.write(write, (str(ids.random_uuid()) + ids.random_id_text()).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        made_there = pipe.read()
    os.waitpid(child, 0)
    parent_next = str(ids.random_uuid()) + ids.random_id_text()  # what the parent makes next
    assert len(made_there) == len(parent_next) == 72
    assert made_there != parent_next


@settings(max_examples=500)
@given(random=st.binary(min_size=16, max_size=16))
def test_a_random_ids_text_is_the_text_of_the_uuid_of_the_same_bytes(random: bytes) -> None:
    made = ids.uuid_of((int.from_bytes(random) & ~ids._VERSION_BITS) | ids._V4)
    assert ids.id_text_of(random.hex()) == str(made)
    assert (uuid.UUID(ids.id_text_of(random.hex())).version, made.variant) == (4, uuid.RFC_4122)


def test_random_id_texts_are_version_4_ids_and_do_not_repeat() -> None:
    made = [ids.random_id_text() for _ in range(10_000)]  # more than one batch of random bytes
    assert len(set(made)) == len(made)
    for one in made:
        parsed = uuid.UUID(one)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, one)


def test_random_ids_and_their_texts_share_the_random_bytes_without_reusing_them() -> None:
    ids.random_uuid()
    at = ids._random.at
    text = ids.random_id_text()
    assert text == ids.id_text_of(ids._random.buffer[at : at + 16].hex())
    assert ids._random.at == at + 16
    assert ids.random_uuid() != uuid.UUID(text)
