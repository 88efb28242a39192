"""A small bounded in-memory cache (least recently used entries are forgotten first)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


class LRU:
    """Mapping bounded by a total cost (entry count by default); safe to share between threads
    (a lookup racing an eviction is a miss)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.total = 0
        # values and costs apart: a (value, cost) pair per entry would be one more object
        # for the cyclic GC to traverse
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._costs: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value stored for ``key`` (now most recently used), else ``default``."""
        try:
            value = self._data[key]
            self._data.move_to_end(key)
        except KeyError:
            return default
        return value

    def values(self) -> list[Any]:
        """The values stored, least recently used first (a snapshot)."""
        with self._lock:
            return list(self._data.values())

    def put(self, key: Hashable, value: Any, cost: int = 1) -> None:
        """Store ``value``, then forget the oldest entries while over budget."""
        data, costs = self._data, self._costs  # attribute reads cost more than the updates
        with self._lock:
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

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._costs.clear()
            self.total = 0
