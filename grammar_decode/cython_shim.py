"""Stand-ins for the Cython decorators that the compiled modules' sources use (see ``accel.py``),
for pure Python where Cython is not installed: there they change nothing. The sources import
``cython`` itself first, as the Cython compiler must see it."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def no_gc(cls: T) -> T:
    """Compiled: instances of ``cls`` stay out of the cyclic GC (they can form no cycle)."""
    return cls


def cclass(cls: T) -> T:
    """Compiled: ``cls`` is an extension type (its fields are declared in the ``.pxd``)."""
    return cls
