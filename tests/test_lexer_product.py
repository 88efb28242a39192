"""The contextual lexer's product DFA equals a plain product construction.

``ContextLexer`` builds the product of its terminals' DFAs with sparse states and numpy
deduplication of successor columns; the reference here walks every (state, byte) and keeps
dense tuples of all terminal states. Both must number states identically (stored masks are
indexed by these numbers) and agree on every transition and emitted terminal set, for random
terminal subsets of the shipped grammars and of a JSON-Schema grammar with many keys.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from grammar_corpus import SHIPPED, grammar_text

compiler = pytest.importorskip("grammar_decode.compiler")
from grammar_decode.matcher.lexer import ContextLexer  # noqa: E402
from grammar_decode.terminals.byte_dfa import DEAD  # noqa: E402

SCHEMA = {"type": "object", "properties": {
    **{f"key_{i}": {"type": "integer"} for i in range(40)},
    "name": {"type": "string", "maxLength": 20}, "tags": {"type": "array",
                                                           "items": {"enum": ["a", "ab", "b"]}},
    "when": {"type": "string", "format": "date"}}}


def _reference(lexer: ContextLexer) -> tuple[np.ndarray, list[frozenset[int]]]:
    dfas = [t.dfa for t in lexer.terminals]
    start = tuple(0 if d.n_states else DEAD for d in dfas)
    index, order, rows = {start: 0}, [start], []
    for combo in order:  # grows while iterating: breadth first
        row = [DEAD] * 256
        for b in range(256):
            key = tuple(int(d.trans[s][b]) if s >= 0 else DEAD for d, s in zip(dfas, combo))
            if any(s >= 0 for s in key):
                if key not in index:
                    index[key] = len(order)
                    order.append(key)
                row[b] = index[key]
        rows.append(row)
    emit = []
    for combo in order:
        sparse = tuple((p, s) for p, s in enumerate(combo) if s >= 0)
        emit.append(lexer._resolve(sparse))
    return np.array(rows, dtype=np.int32), emit


def _terminal_pools(tokenizer, tmp_path):
    from grammar_decode import compile_json_schema

    for name in SHIPPED:
        yield name, compiler.compile_grammar(grammar_text(name), tokenizer, cache_dir=tmp_path)
    yield "schema", compile_json_schema(SCHEMA, tokenizer)


def test_product_dfa_matches_plain_construction(packaged_tokenizer, tmp_path) -> None:
    rng = random.Random(7)
    checked = 0
    for name, compiled in _terminal_pools(packaged_tokenizer("gpt2"), tmp_path):
        pool = list(compiled.terminals)
        for size in (1, 2, 5, len(pool)):
            for _ in range(3 if size < len(pool) else 1):
                chosen = rng.sample(pool, min(size, len(pool)))
                for mode in ("priority", "all"):
                    lexer = ContextLexer(chosen, mode)
                    trans, emit = _reference(lexer)
                    assert np.array_equal(lexer.trans, trans), (name, size, mode)
                    assert lexer.emit_positions == emit, (name, size, mode)
                    checked += 1
    assert checked >= 6 * 10 * 2
