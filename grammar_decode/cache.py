"""Where grammar-decode keeps its on-disk caches (mask stores, converted models, tokenizers)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


def cache_dir(sub: str = "") -> Path:
    """Return (and create) the cache folder: $GRAMMAR_DECODE_CACHE or ~/.cache/grammar_decode."""
    root = os.environ.get("GRAMMAR_DECODE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "grammar_decode")
    path = Path(root) / sub if sub else Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename).
    ``durable=False`` skips the fsync: for caches whose readers verify a checksum, a file
    lost in a crash only costs a rebuild (an fsync costs milliseconds per file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_checked(path: Path, payload: bytes, *, durable: bool = True) -> None:
    """Write ``payload`` atomically behind its SHA-256, for ``read_checked``."""
    atomic_write_bytes(path, hashlib.sha256(payload).digest() + payload, durable=durable)


def read_checked(path: Path, parse: Callable[[bytes], T]) -> T | None:
    """``parse`` of a file written by ``write_checked``; None, and the file removed, when it
    cannot be read, does not match its checksum or does not parse (the cache rebuilds it)."""
    try:
        data = path.read_bytes()
        if hashlib.sha256(data[32:]).digest() != data[:32]:
            raise ValueError("checksum mismatch")
        return parse(data[32:])
    except Exception:  # noqa: BLE001 - any unreadable cache file is rebuilt
        try:
            path.unlink()
        except OSError:
            pass
        return None
