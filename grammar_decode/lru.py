"""A small bounded in-memory cache (least recently used entries are forgotten first)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


_MISSING = object()


class LRU:
    """Mapping bounded by a total cost (entry count by default); safe to share between threads
    (a lookup racing an eviction may still return the value)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.total = 0
        # values and costs apart: a (value, cost) pair per entry would be one more object
        # for the cyclic GC to traverse
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._costs: dict[Hashable, int] = {}
        self._lock = threading.Lock()
        # bound once: looked up per call (or entered with ``with``), they cost a put more
        # than its dict updates
        self._acquire, self._release = self._lock.acquire, self._lock.release
        self._lookup, self._move_to_end = self._data.get, self._data.move_to_end

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value stored for ``key`` (now most recently used), else ``default``."""
        value = self._lookup(key, _MISSING)  # a miss raising KeyError cost ~4x a lookup
        if value is _MISSING:
            return default
        try:
            self._move_to_end(key)
        except KeyError:  # evicted by another thread since
            pass
        return value

    def values(self) -> list[Any]:
        """The values stored, least recently used first (a snapshot)."""
        with self._lock:
            return list(self._data.values())

    def put(self, key: Hashable, value: Any, cost: int = 1) -> None:
        """Store ``value``, then forget the oldest entries while over budget."""
        data, costs = self._data, self._costs  # attribute reads cost more than the updates
        self._acquire()
        try:
            old = costs.pop(key, None)
            if old is not None:
                del data[key]
                self.total -= old
            data[key] = value
            costs[key] = cost
            total = self.total + cost
            while total > self.budget and data:
                total -= costs.pop(data.popitem(last=False)[0])
            self.total = total
        finally:
            self._release()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._costs.clear()
            self.total = 0
