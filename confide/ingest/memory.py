"""Python's cyclic garbage collector, held off while an import allocates.

An import makes and drops many small containers per row (dicts, tuples, lists, the rows it
unpickles from a helper process). Each 700 new containers start a collection of the young
generation, and every so often one of the whole heap, which walks all the objects Django and
the import hold: on the 2-core bench that was a tenth of the importing process's CPU, and a
quarter with a helper process (whose results are unpickled on a thread that holds the GIL
while the collector runs). Nearly all of those containers are freed by reference counting
anyway, so the collector is turned off for the stretch and the youngest generation collected
once at the end of each unit of work, which frees any cycles that work made (an exception's
traceback, say) at a cost proportional to what it allocated and kept, not to the heap.

The switch is the interpreter's, not the thread's: another thread that allocates meanwhile
is not collected automatically either until the import ends (its memory is still freed by
reference counting; only cycles wait).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_deferred() -> Iterator[None]:
    """Automatic cyclic collection off for the block, the youngest generation collected at
    its end; the collector is left as it was found (on, unless someone else turned it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect(0)
        if enabled:
            gc.enable()
