"""Persistent cache of compiled terminal DFAs (``cache_dir("dfa")/<sha256>.npz``).

The key hashes the pattern together with everything its meaning depends on (cache format,
Python version and Unicode database, which fix ``\\w`` and case folding). Each file stores the
pattern and a sha256 checksum of the tables; a file that fails to load or verify is ignored
(and overwritten by the caller's rebuild), never trusted. Bump ``FORMAT_VERSION`` whenever
the dialect's meaning changes (what a pattern matches), so that old entries are not reused.
"""

from __future__ import annotations

import hashlib
import io
import sys
import unicodedata
import zipfile
from pathlib import Path

import numpy as np

from grammar_decode.cache import atomic_write_bytes, cache_dir
from grammar_decode.terminals.byte_dfa import ByteDFA, structural_digest

FORMAT_VERSION = 1


def _pattern_bytes(pattern: str) -> bytes:
    return pattern.encode("utf-8", "surrogatepass")


def cache_path(pattern: str) -> Path:
    """Where the DFA of ``pattern`` is (or would be) stored."""
    salt = f"{FORMAT_VERSION}|{sys.version_info[0]}.{sys.version_info[1]}|" \
           f"{unicodedata.unidata_version}|"
    key = hashlib.sha256(salt.encode() + _pattern_bytes(pattern)).hexdigest()
    return cache_dir("dfa") / f"{key}.npz"


def load(pattern: str) -> ByteDFA | None:
    """The cached DFA of ``pattern``, or None if absent, unreadable or failing verification."""
    path = cache_path(pattern)
    try:
        with np.load(path, allow_pickle=False) as data:
            trans = data["trans"]
            accepting = data["accepting"]
            checksum = str(data["checksum"])
            stored_pattern = data["pattern"].tobytes()
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    n = trans.shape[0] if trans.ndim == 2 else -1
    if (stored_pattern != _pattern_bytes(pattern) or trans.dtype != np.int32
            or trans.shape != (n, 256)
            or accepting.dtype != bool or accepting.shape != (n,)
            or (n and (trans.min() < -1 or trans.max() >= n))
            or structural_digest(trans, accepting) != checksum):
        return None
    return ByteDFA(trans, accepting, checksum)


def store(pattern: str, dfa: ByteDFA) -> None:
    """Write the DFA of ``pattern`` atomically (concurrent writers are harmless)."""
    buf = io.BytesIO()
    np.savez(buf, trans=np.ascontiguousarray(dfa.trans, dtype=np.int32),
             accepting=np.ascontiguousarray(dfa.accepting, dtype=bool),
             checksum=np.array(dfa.digest()),
             pattern=np.frombuffer(_pattern_bytes(pattern), dtype=np.uint8))
    atomic_write_bytes(cache_path(pattern), buf.getvalue(), durable=False)  # load() verifies
