"""warm()'s frame table on disk: the frame judgments it precomputed, kept beside the mask
stores, so that a process loading a grammar from the cache does not judge them again (for
the shipped Go grammar at Qwen2.5 that is ~8 s of the load).

Nothing in the table is named by an object: a frame by its predicted nonterminals, accepting
flag and kernel dotted rules (``earley.frame_named``), a remainder set by its pairs
(``RemainderSet.pairs_key``; those inside judgments are stored whole) or by its strings
(a verdict's content digest), a lexeme by its terminal ids, a lexer state by its number.
Those numbers mean the same only for the same parser and lexer tables, so the file is named
by the grammar's Earley tables, its terminals, the vocabulary and the sources that number
them (``table_path``). Written atomically with a SHA-256 checksum; a file that does not
verify or parse is removed, and the table is judged again.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grammar_decode.accel import source_digest
from grammar_decode.cache import read_checked, write_checked
from grammar_decode.maskstore.remainders import RemainderSet
from grammar_decode.matcher.earley import EarleySet, frame_named, id_mask, ids_in
from grammar_decode.matcher.matcher import _Judged, _Verdict, table_put

if TYPE_CHECKING:
    from grammar_decode.compiler import CompiledGrammar

FORMAT = 1  # bump when the file's layout or the meaning of a judgment changes
_PACKAGE = Path(__file__).resolve().parent.parent
# the sources that decide how sets, lexer states, lexemes and judgments are numbered
_NUMBERING_SOURCES = ("compiler.py", "grammar", "terminals", "maskstore", "matcher")
_sources_digest: str | None = None

_JUDGED, _JUDGED_RS, _VERDICT = 0, 1, 2  # entry kinds: key is a lexer state / pairs / strings


def table_path(compiled: CompiledGrammar) -> Path | None:
    """Where ``compiled``'s frame table is kept (None without a disk cache)."""
    g = compiled.earley
    name = repr((FORMAT, _numbering_sources_digest(), compiled.vocab.content_hash,
                 compiled.terminal_conflicts,
                 [(t.id, t.name, t.dfa.digest(), t.priority, t.is_literal, t.ignored)
                  for t in compiled.terminals],
                 g.n_nonterminals, g.rule_offset, g.dr_next, g.dr_lhs))
    return compiled.cache_file(f"{hashlib.sha256(name.encode()).hexdigest()}.frames")


def _numbering_sources_digest() -> str:
    """One digest of the numbering sources (each .py with its .pxd, ``accel.source_digest``)."""
    global _sources_digest
    if _sources_digest is None:
        digest = hashlib.sha256()
        for name in _NUMBERING_SOURCES:
            path = _PACKAGE / name
            for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
                digest.update(f"{f.relative_to(_PACKAGE).as_posix()} {source_digest(f)}\n"
                              .encode())
        _sources_digest = digest.hexdigest()
    return _sources_digest


class _Writer:
    """Flattens the table: ints into one code stream, arrays and names into pools."""

    def __init__(self) -> None:
        self.code: list[int] = []
        self.frames: dict[int, int] = {}  # id(frame) -> index
        self.frame_code: list[int] = []
        self.lexemes: dict[frozenset[int], int] = {}
        self.lexeme_code: list[int] = []
        self.arrays: dict[int, int] = {}  # id(array) -> index in ``parts``
        self.parts: list[np.ndarray] = []  # int32 id arrays and uint8 bitsets, as bytes
        self.kinds: list[int] = []  # 0 int32, 1 uint8
        self.sets: dict[bytes, int] = {}  # remainder pairs -> index
        self.set_parts: list[int] = []  # two array indices per remainder set
        self.digests: list[bytes] = []

    def frame(self, frame: EarleySet, rule_mask: int) -> int:
        found = self.frames.get(id(frame))
        if found is None:
            found = self.frames[id(frame)] = len(self.frames)
            predicted = ids_in(frame.part.predicted)
            rules = [item & rule_mask for item in frame.kernel]
            self.frame_code += [len(predicted), *predicted, int(frame.accepting), len(rules),
                                *rules]
        return found

    def lexeme(self, emitted: frozenset[int]) -> int:
        found = self.lexemes.get(emitted)
        if found is None:
            found = self.lexemes[emitted] = len(self.lexemes)
            self.lexeme_code += [len(emitted), *sorted(emitted)]
        return found

    def array(self, array: np.ndarray) -> int:
        found = self.arrays.get(id(array))
        if found is None:
            if array.dtype not in (np.int32, np.uint8) or array.ndim != 1:
                raise TypeError(f"unexpected array {array.dtype} {array.shape} in a judgment")
            found = self.arrays[id(array)] = len(self.parts)
            self.parts.append(array)  # kept alive, so its id stays its own
            self.kinds.append(0 if array.dtype == np.int32 else 1)
        return found

    def remainders(self, rs: RemainderSet) -> int:
        key = rs.pairs_key()
        found = self.sets.get(key)
        if found is None:
            found = self.sets[key] = len(self.sets)
            self.set_parts += [self.array(rs.tokens), self.array(rs.offsets)]
        return found

    def tokens(self, tokens: tuple) -> None:
        packed = tokens[0]
        self.code += [-1 if packed is None else self.array(packed), len(tokens) - 1]
        self.code += [self.array(ids) for ids in tokens[1:]]

    def entry(self, key: tuple, kept: Any, rule_mask: int) -> None:
        frame, name = key
        if isinstance(kept, _Verdict):
            kind, name = _VERDICT, self._digest(name)
        elif isinstance(name, bytes):
            kind, name = _JUDGED_RS, self._digest(name)
        else:
            kind = _JUDGED
        self.code += [kind, self.frame(frame, rule_mask), name]
        self.tokens(kept.tokens)
        if kind == _VERDICT:
            _, index, n_distinct = kept.content
            self.code += [self.remainders(kept.rs), self.array(index), n_distinct]
            return
        pops = kept.pops
        self.code.append(len(pops) // 3)
        for i in range(0, len(pops), 3):
            path = pops[i]
            self.code += [len(path), *[self.lexeme(e) for e in path], self.lexeme(pops[i + 1]),
                          self.remainders(pops[i + 2])]

    def _digest(self, digest: bytes) -> int:
        self.digests.append(digest)
        return len(self.digests) - 1

    def payload(self) -> bytes:
        sizes = np.array([len(a) for a in self.parts], np.int64)
        int_parts = [a for a, k in zip(self.parts, self.kinds) if k == 0]
        byte_parts = [a for a, k in zip(self.parts, self.kinds) if k == 1]
        arrays = {
            "format": np.array([FORMAT], np.int64),
            "code": np.array(self.code, np.int64),
            "frames": np.array(self.frame_code, np.int64),
            "lexemes": np.array(self.lexeme_code, np.int64),
            "sets": np.array(self.set_parts, np.int64),
            "kinds": np.array(self.kinds, np.int8),
            "sizes": sizes,
            "ints": np.concatenate(int_parts) if int_parts else np.zeros(0, np.int32),
            "bytes": np.concatenate(byte_parts) if byte_parts else np.zeros(0, np.uint8),
            "digests": np.frombuffer(b"".join(self.digests), np.uint8),
            "digest_sizes": np.array([len(d) for d in self.digests], np.int64),
        }
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()


def save(compiled: CompiledGrammar, path: Path) -> None:
    """Write ``compiled.frame_table`` to ``path`` (atomically, checksum first)."""
    writer = _Writer()
    mask = compiled.earley.rule_mask
    for key, kept in compiled.frame_table.items():
        writer.entry(key, kept, mask)
    write_checked(path, writer.payload(), durable=False)


def load(compiled: CompiledGrammar, path: Path) -> int:
    """Add the judgments kept at ``path`` to ``compiled.frame_table`` (entries already there
    stay); returns how many were added. A file that does not verify is removed."""
    entries = read_checked(  # corrupt or from another layout: judged again, written anew
        path, lambda payload: _read(compiled, np.load(io.BytesIO(payload), allow_pickle=False)))
    if entries is None:
        return 0
    added = 0
    table = compiled.frame_table
    for key, kept in entries:
        if key not in table:
            table_put(compiled, key, kept)
            added += 1
    return added


def _read(compiled: CompiledGrammar, z: Any) -> list[tuple[tuple, Any]]:
    """The entries of a verified file (built aside: a file that fails halfway adds none)."""
    if int(z["format"][0]) != FORMAT:
        raise ValueError("another format")
    g = compiled.earley
    parts = _split(z)
    frames, pos, flat = [], 0, z["frames"].tolist()
    while pos < len(flat):
        n = flat[pos]
        predicted = id_mask(flat[pos + 1:pos + 1 + n])
        accepting = bool(flat[pos + 1 + n])
        m = flat[pos + 2 + n]
        rules = tuple(flat[pos + 3 + n:pos + 3 + n + m])
        frames.append(frame_named(g, g.predicted_part(predicted), accepting, rules))
        pos += 3 + n + m
    lexemes, pos, flat = [], 0, z["lexemes"].tolist()
    shared = compiled._lexemes  # one object per lexeme, as the contexts use
    while pos < len(flat):
        emitted = frozenset(flat[pos + 1:pos + 1 + flat[pos]])
        lexemes.append(shared.setdefault(emitted, emitted))
        pos += 1 + flat[pos]
    set_parts = z["sets"].tolist()
    sets = [RemainderSet(parts[set_parts[i]], parts[set_parts[i + 1]])
            for i in range(0, len(set_parts), 2)]
    digests, pos = [], 0
    blob = z["digests"].tobytes()
    for size in z["digest_sizes"].tolist():
        digests.append(blob[pos:pos + size])
        pos += size
    code, pos, entries = z["code"].tolist(), 0, []
    while pos < len(code):
        kind, frame, name, packed, n_ids = code[pos:pos + 5]
        pos += 5
        tokens = (None if packed < 0 else parts[packed],
                  *[parts[i] for i in code[pos:pos + n_ids]])
        pos += n_ids
        if kind == _VERDICT:
            rs, index, n_distinct = code[pos:pos + 3]
            pos += 3
            digest = digests[name]
            entries.append(((frames[frame], digest),
                            _Verdict(sets[rs], tokens, (digest, parts[index], n_distinct))))
            continue
        pops: list = []
        for _ in range(code[pos]):
            n = code[pos + 1]
            path = tuple([lexemes[i] for i in code[pos + 2:pos + 2 + n]])
            pops += (path, lexemes[code[pos + 2 + n]], sets[code[pos + 3 + n]])
            pos += 3 + n
        pos += 1
        key = name if kind == _JUDGED else digests[name]
        entries.append(((frames[frame], key), _Judged(tokens, pops)))
    return entries


def _split(z: Any) -> list[np.ndarray]:
    """The pooled arrays, in the order they were written (views into two flat arrays)."""
    ints, raw = z["ints"], z["bytes"]
    out: list[np.ndarray] = []
    at = [0, 0]
    for kind, size in zip(z["kinds"].tolist(), z["sizes"].tolist()):
        pool = ints if kind == 0 else raw
        out.append(pool[at[kind]:at[kind] + size])
        at[kind] += size
    return out
