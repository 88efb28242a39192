"""Packed token bitsets: bit ``i & 7`` of byte ``i >> 3`` is token ``i`` (little-endian bit order).

With this order, and padded to whole 32-bit words, the bytes of a bitset read as little-endian
int32 words are exactly the token bitmask of XGrammar and llguidance (bit ``i % 32`` of word
``i // 32``), so a matcher hands its precomputed sets to a bitmask consumer as they are.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from grammar_decode.accel import is_compiled


def bitmask_words(size: int) -> int:
    """Int32 words of a token bitmask over ``size`` ids."""
    return (size + 31) // 32


def pack_ids(token_ids: np.ndarray, size: int) -> np.ndarray:
    """The packed bitset holding ``token_ids``: ``4 * bitmask_words(size)`` bytes."""
    bits = np.zeros(32 * bitmask_words(size), dtype=bool)
    bits[token_ids] = True
    return np.packbits(bits, bitorder="little")


def unpack(packed: np.ndarray, size: int) -> np.ndarray:
    """Bool array of ``size`` entries: the bitset ``packed`` unpacked."""
    return np.unpackbits(packed, count=size, bitorder="little").view(bool)


# In the compiled build (grammar_decode/accel.py) the two functions below run typed loops
# over the arrays' buffers (bits.pxd): a few instructions per id, where numpy's ``ufunc.at``
# costs ~50 and each numpy call ~1 us of dispatch (SQL's cold pass: set_bits was 10% of all
# instructions). The buffers are reached through numpy's array struct: a typed memory view
# costs ~2k instructions to acquire, more than most of these calls' loops. Ids in another
# dtype than int32 (vocabularies are far below 2**31 ids), or arrays not contiguous, take
# numpy's path.
_COMPILED = is_compiled(globals().get("__loader__"))


def bits_at(packed: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Bool per id of ``ids``: its bit in ``packed``."""
    if _COMPILED and _int32_bytes(ids) >= 0 and _uint8_length(packed) >= 0:
        found = np.empty(len(ids), dtype=np.uint8)
        _read_bits(_bytes_of(packed), len(packed), _ints_of(ids), len(ids), _bytes_of(found))
        return found.view(bool)
    return ((packed[ids >> 3] >> (ids & 7)) & 1).astype(bool)


def set_bits(packed: np.ndarray, ids: np.ndarray) -> None:
    """Set the bits of ``ids`` in ``packed`` in place (ids may repeat)."""
    if not packed.flags.writeable:  # numpy's ufunc.at would write it all the same
        raise ValueError("set_bits: the bitset is read-only")
    if _COMPILED and _int32_bytes(ids) >= 0 and _uint8_length(packed) >= 0:
        _write_bits(_bytes_of(packed), len(packed), _ints_of(ids), len(ids))
    else:
        np.bitwise_or.at(packed, ids >> 3, np.left_shift(1, ids & 7).astype(np.uint8))


def _read_bits(packed: np.ndarray, n_packed: int, ids: np.ndarray, n: int,
               found: np.ndarray) -> None:
    """``found[i]`` = the bit of ``ids[i]`` in ``packed`` (bits_at's compiled loop)."""
    for i in range(n):
        t = ids[i]
        if t < 0 or (t >> 3) >= n_packed:
            raise IndexError(f"token id {t} outside a bitset of {8 * n_packed} ids")
        found[i] = (packed[t >> 3] >> (t & 7)) & 1


def _write_bits(packed: np.ndarray, n_packed: int, ids: np.ndarray, n: int) -> None:
    """Set the bit of every id of ``ids`` in ``packed`` (set_bits' compiled loop)."""
    for i in range(n):
        t = ids[i]
        if t < 0 or (t >> 3) >= n_packed:
            raise IndexError(f"token id {t} outside a bitset of {8 * n_packed} ids")
        packed[t >> 3] |= 1 << (t & 7)


def concat_ids(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The ids of several arrays in one (``np.concatenate``). Compiled, int32 parts are
    copied by ``memcpy`` (bits.pxd): numpy's concatenate costs ~1.5k instructions per small
    array, and merging a judgment's parts passes 15 on average (Go: 8% of a cold pass)."""
    if _COMPILED:
        out = _concat_int32(parts)
        if out is not None:
            return out
    return np.concatenate(parts)


def select_ids(ids: np.ndarray, keep: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``ids[keep[index]]``: the ids whose class (``index``, one per id) is kept (``keep``,
    bool per class). Compiled, one loop over the three buffers (numpy's two fancy-indexing
    steps cost ~5k instructions each on small arrays); ``_selected`` counts, then copies."""
    if (_COMPILED and _int32_bytes(ids) >= 0 and _int32_bytes(index) == _int32_bytes(ids)
            and _bool_length(keep) >= 0):
        out = np.empty(_selected(ids, keep, index, None), dtype=np.int32)
        _selected(ids, keep, index, out)
        return out
    return ids[keep[index]]


def _concat_int32(parts: Sequence[np.ndarray]) -> np.ndarray | None:
    """concat_ids' compiled copy, or None unless every part is a 1-D contiguous int32 array
    (``_int32_bytes`` and ``_copy_into`` are C functions of bits.pxd)."""
    total = 0
    for part in parts:
        size = _int32_bytes(part)
        if size < 0:
            return None
        total += size
    out = np.empty(total >> 2, dtype=np.int32)
    at = 0
    for part in parts:
        at = _copy_into(out, at, part)
    return out


PACK_RATIO = 256  # see worth_packing; measured in instructions, 64 -> 256: SQL -7.5%


def worth_packing(n_ids: int, size: int) -> bool:
    """Whether a set of ``n_ids`` token ids over ``size`` ids is better kept as a packed
    bitset (merging it into another is then a byte-wise OR, not a scatter of bits)."""
    return n_ids * PACK_RATIO > size
