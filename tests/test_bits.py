"""Packed token bitsets: the bit loops (compiled when this checkout has a build, and their
pure-Python source run directly) against a plain boolean array."""

from __future__ import annotations

import numpy as np
import pytest

from grammar_decode import accel
from grammar_decode.maskstore import bits

SIZE = 1000


def _case(seed: int, dtype: type) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random bitset, random ids (repeats, a strided view) and the bitset's bools."""
    rng = np.random.default_rng(seed)
    truth = rng.random(32 * bits.bitmask_words(SIZE)) < 0.3
    truth[SIZE:] = False
    ids = rng.integers(0, SIZE, size=int(rng.integers(0, 400)) * 2).astype(dtype)[::2]
    return np.packbits(truth, bitorder="little"), ids, truth


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.intp])
@pytest.mark.parametrize("seed", range(8))
def test_set_bits_and_bits_at_match_a_bool_array(seed: int, dtype: type) -> None:
    packed, ids, truth = _case(seed, dtype)
    assert np.array_equal(bits.bits_at(packed, ids), truth[ids])
    bits.set_bits(packed, ids)
    truth[ids] = True
    assert np.array_equal(bits.unpack(packed, len(truth)), truth)


def test_the_loops_as_python_source_match_too() -> None:
    """``_read_bits`` / ``_write_bits`` run interpreted here whatever the build (the
    compiled module has no Python-visible C functions)."""
    path = accel.source_path("grammar_decode.maskstore.bits")
    source: dict = {"__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), source)
    packed, ids, truth = _case(99, np.int64)
    found = np.empty(len(ids), dtype=np.uint8)
    source["_read_bits"](packed, len(packed), ids, len(ids), found)
    assert np.array_equal(found.view(bool), truth[ids])
    source["_write_bits"](packed, len(packed), ids, len(ids))
    truth[ids] = True
    assert np.array_equal(bits.unpack(packed, len(truth)), truth)


def test_an_id_past_the_bitset_is_an_error_not_a_write() -> None:
    packed = np.zeros(4, dtype=np.uint8)
    with pytest.raises(IndexError):
        bits.set_bits(packed, np.array([5, 32], dtype=np.int32))
    with pytest.raises(IndexError):
        bits.bits_at(packed, np.array([32], dtype=np.int32))


def test_a_read_only_bitset_is_never_written() -> None:
    packed = np.zeros(4, dtype=np.uint8)
    packed.flags.writeable = False
    with pytest.raises(ValueError):
        bits.set_bits(packed, np.array([3], dtype=np.int32))
    assert not packed.any()


@pytest.mark.parametrize("seed", range(6))
def test_concat_and_select_match_numpy(seed: int) -> None:
    """Int32 parts take the compiled copy; other dtypes and strided views numpy's path."""
    rng = np.random.default_rng(seed)
    parts = [rng.integers(0, 1000, rng.integers(0, 20)).astype(np.int32) for _ in range(6)]
    if seed % 3 == 1:
        parts.append(np.arange(10, dtype=np.int64))
    if seed % 3 == 2:
        parts.append(np.arange(20, dtype=np.int32)[::3])
    assert np.array_equal(bits.concat_ids(parts), np.concatenate(parts))
    ids = np.concatenate(parts)
    index = rng.integers(0, 7, len(ids)).astype(np.int32)
    keep = rng.random(7) < 0.5
    assert np.array_equal(bits.select_ids(ids, keep, index), ids[keep[index]])
    with pytest.raises(IndexError):
        bits.select_ids(ids[:1], keep, np.array([7], dtype=np.int32))


def test_the_loops_are_chosen_exactly_when_the_module_is_compiled() -> None:
    compiled = accel.status()["grammar_decode.maskstore.bits"] == "compiled"
    assert bits._COMPILED == compiled
