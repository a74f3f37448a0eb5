"""The collector held off during an import's batches (`ingest.memory`)."""

from __future__ import annotations

import gc
import weakref

from confide.ingest.memory import collection_deferred


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_the_collector_is_off_in_the_block_and_back_on_after() -> None:
    assert gc.isenabled()
    with collection_deferred():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with collection_deferred():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cycles_made_in_the_block_are_freed_at_its_end() -> None:
    with collection_deferred():
        first, second = Node(), Node()
        first.other, second.other = second, first
        alive = weakref.ref(first)
        del first, second
        assert alive() is not None  # only a collection frees a cycle
    assert alive() is None
