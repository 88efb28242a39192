"""Python ``re``'s character semantics for str patterns, as code point ranges.

``\\d \\w \\s`` are read off ``re`` itself (one scan of a string holding every code point) and
case-insensitive matching follows sre exactly: a character ``x`` matches an ignore-case item
set iff ``tolower(x)`` lies in the set's *lowered* image (``_sre.unicode_tolower`` plus the
extra equivalences of ``re._casefix``, e.g. ``ſ``~``s``, ``ı``~``i``), which is how
``re._compiler`` emits ``LITERAL_UNI_IGNORE`` / ``IN_UNI_IGNORE``. Tables are built lazily,
once per process, and only when a pattern needs them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from grammar_decode.terminals.utf8 import MAX_CODE_POINT

Ranges = tuple[tuple[int, int], ...]

ASCII_CLASSES: dict[str, Ranges] = {
    "d": ((48, 57),), "w": ((48, 57), (65, 90), (95, 95), (97, 122)), "s": ((9, 13), (32, 32))}


def normalize(ranges: list[tuple[int, int]] | Ranges) -> Ranges:
    """Sorted, merged, disjoint ranges."""
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def _points_to_ranges(points: np.ndarray) -> list[tuple[int, int]]:
    """Sorted unique code points -> maximal runs."""
    if points.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(points) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [points.size - 1]])
    return list(zip(points[starts].tolist(), points[ends].tolist()))


def in_ranges(values: np.ndarray, ranges: Ranges) -> np.ndarray:
    """Boolean mask: which ``values`` lie in the (normalised) ``ranges``."""
    if not ranges:
        return np.zeros(values.shape, dtype=bool)
    arr = np.asarray(ranges, dtype=np.int64)
    idx = np.searchsorted(arr[:, 0], values, side="right") - 1
    return (idx >= 0) & (values <= arr[np.maximum(idx, 0), 1])


def _minus_points(ranges: Ranges, points: np.ndarray) -> list[tuple[int, int]]:
    """``ranges`` with the given sorted code points removed."""
    points = points[in_ranges(points, ranges)]
    out: list[tuple[int, int]] = []
    pts = points.tolist()
    k = 0
    for lo, hi in ranges:
        cur = lo
        while k < len(pts) and pts[k] <= hi:
            if pts[k] > cur:
                out.append((cur, pts[k] - 1))
            cur = pts[k] + 1
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return out


@functools.lru_cache(maxsize=None)
def unicode_class(name: str) -> Ranges:
    """Python's str-pattern ``\\d``, ``\\w`` or ``\\s`` as ranges (asked of ``re`` itself)."""
    every = np.arange(MAX_CODE_POINT + 1, dtype="<u4").tobytes().decode("utf-32-le",
                                                                       "surrogatepass")
    return tuple((m.start(), m.end() - 1) for m in re.finditer(f"\\{name}+", every))


@dataclass(frozen=True)
class CaseTable:
    """sre's case data: every cased code point, its ``tolower``, and the extra equivalences."""

    cased: np.ndarray  # int64, sorted
    lower: np.ndarray  # int64, tolower(cased[i])
    extra: dict[int, tuple[int, ...]]

    def lowered(self, ranges: Ranges) -> Ranges:
        """sre's ``fixup`` image of an item set: tolower of each member plus its extras."""
        hit = in_ranges(self.cased, ranges)
        lows = np.unique(self.lower[hit])
        extras = [e for lo in lows.tolist() for e in self.extra.get(lo, ())]
        pts = np.unique(np.concatenate([lows, np.asarray(extras, dtype=np.int64)]))
        return normalize(_minus_points(ranges, self.cased) + _points_to_ranges(pts))

    def preimage(self, ranges: Ranges) -> Ranges:
        """Every x with ``tolower(x)`` in ``ranges`` (uncased x lower to themselves)."""
        pts = np.unique(self.cased[in_ranges(self.lower, ranges)])
        return normalize(_minus_points(ranges, self.cased) + _points_to_ranges(pts))

    def has_cased(self, ranges: Ranges) -> bool:
        return bool(in_ranges(self.cased, ranges).any())


@functools.lru_cache(maxsize=2)
def case_table(ascii_only: bool) -> CaseTable:
    """sre's Unicode case table (or its ASCII one for the ``a`` flag), built on first use."""
    if ascii_only:
        cased = np.array(list(range(65, 91)) + list(range(97, 123)), dtype=np.int64)
        return CaseTable(cased, np.where(cased < 91, cased + 32, cased), {})
    import _sre
    from re._casefix import _EXTRA_CASES

    flags = np.fromiter(map(_sre.unicode_iscased, range(MAX_CODE_POINT + 1)), dtype=bool,
                        count=MAX_CODE_POINT + 1)
    cased = np.flatnonzero(flags).astype(np.int64)
    lower = np.fromiter(map(_sre.unicode_tolower, cased.tolist()), dtype=np.int64,
                        count=cased.size)
    return CaseTable(cased, lower, dict(_EXTRA_CASES))


def ignorecase_literal(cp: int, ascii_only: bool) -> Ranges:
    """Characters a literal matches under the ``i`` flag (an uncased literal matches itself)."""
    table = case_table(ascii_only)
    single: Ranges = ((cp, cp),)
    if not table.has_cased(single):
        return single
    return table.preimage(table.lowered(single))


def ignorecase_class(items: Ranges, categories: Ranges, ascii_only: bool) -> Ranges:
    """Positive set of a class under the ``i`` flag.

    ``items`` are its literals and ranges, ``categories`` its ``\\d \\w \\s`` escapes. As in
    sre, a class with no cased item (and no non-BMP item) matches exactly; otherwise the
    input character is lowered and tested against the lowered items plus the categories.
    """
    table = case_table(ascii_only)
    items = normalize(items)
    if not (table.has_cased(items) or (not ascii_only and items and items[-1][1] > 0xFFFF)):
        return normalize(items + categories)
    return table.preimage(normalize(table.lowered(items) + categories))
