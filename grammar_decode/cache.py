"""Where grammar-decode keeps its on-disk caches (mask stores, converted models, tokenizers)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
