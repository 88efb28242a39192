"""Code point ranges -> UTF-8 byte-range sequences (so character automata can run over bytes)."""

from __future__ import annotations

from collections.abc import Iterator

MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
_LENGTH_LIMITS = (0x7F, 0x7FF, 0xFFFF, MAX_CODE_POINT)

ByteRange = tuple[int, int]


def _encode(cp: int) -> bytes:
    return chr(cp).encode("utf-8", "surrogatepass")


def _split_same_length(lo: int, hi: int) -> Iterator[list[ByteRange]]:
    """Byte-range sequences for [lo, hi], where lo and hi have the same UTF-8 length."""
    n = len(_encode(lo))
    if n == 1:
        yield [(lo, hi)]
        return
    for i in range(1, n):
        mask = (1 << (6 * i)) - 1
        if (lo & ~mask) != (hi & ~mask):
            if lo & mask:
                yield from _split_same_length(lo, lo | mask)
                yield from _split_same_length((lo | mask) + 1, hi)
                return
            if (hi & mask) != mask:
                yield from _split_same_length(lo, (hi & ~mask) - 1)
                yield from _split_same_length(hi & ~mask, hi)
                return
    yield list(zip(_encode(lo), _encode(hi)))


def utf8_sequences(lo: int, hi: int) -> Iterator[list[ByteRange]]:
    """Yield lists of byte ranges whose concatenations encode exactly the code points [lo, hi].

    Surrogates are skipped: they are not valid in UTF-8 text.
    """
    pieces = []
    if lo < SURROGATES[0] <= hi:
        pieces.append((lo, SURROGATES[0] - 1))
        lo = SURROGATES[1] + 1
    elif SURROGATES[0] <= lo <= SURROGATES[1]:
        lo = SURROGATES[1] + 1
    if SURROGATES[0] <= hi <= SURROGATES[1]:
        hi = SURROGATES[0] - 1
    if lo <= hi:
        pieces.append((lo, hi))
    for a, b in pieces:
        start = a
        for limit in _LENGTH_LIMITS:
            if start > b:
                break
            if start <= limit:
                end = min(b, limit)
                yield from _split_same_length(start, end)
                start = end + 1


def ranges_from_code_points(code_points: list[int]) -> list[tuple[int, int]]:
    """Sorted disjoint inclusive ranges covering the given code points."""
    out: list[tuple[int, int]] = []
    for cp in sorted(set(code_points)):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def complement_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges of all code points (0..0x10FFFF) not in the given sorted disjoint ranges."""
    out = []
    nxt = 0
    for a, b in ranges:
        if a > nxt:
            out.append((nxt, a - 1))
        nxt = max(nxt, b + 1)
    if nxt <= MAX_CODE_POINT:
        out.append((nxt, MAX_CODE_POINT))
    return out
