"""Long-string benchmark: one terminal vs chunk chains for ``{"type": "string", "maxLength": n}``.

    python -m grammar_decode.bench.long_strings [--n 64 128 300 1000 4096] [--chunk 0 32 64]
                                                [--tokenizer gpt2]

For every n and chunk size (0 = one terminal, as without chunking) it prints, from cold caches
(a fresh cache folder; DFA, sub-DFA and mask-store memory caches cleared): the compile time,
the number of terminals and their total DFA states, then a replay of one n-unit value token by
token with ``fill_mask`` before every token: total time (a lexer state's masks are built the
first time it is reached), the same replay again (every mask already built) and how many lexer
states got masks. Chunk sizes are set through ``chunks.CHUNK`` / ``chunks.CHUNK_ABOVE``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from grammar_decode import compiler
from grammar_decode.compiler import compile_grammar
from grammar_decode.errors import GrammarCompileError
from grammar_decode.matcher.matcher import GrammarMatcher
from grammar_decode.schema import chunks
from grammar_decode.schema.api import canonical_json, json_schema_to_grammar
from grammar_decode.terminals.byte_dfa import MAX_STATES
from grammar_decode.terminals import regex_dfa
from grammar_decode.terminals.regex_dfa import compile_regex
from grammar_decode.vocab.packaged import load_tokenizer
from grammar_decode.vocab.vocabulary import TokenVocabulary


def measure(n: int, chunk: int, tokenizer, vocab: TokenVocabulary) -> dict[str, object]:
    """Figures for one maxLength and chunk size (0: no chunking), from cold caches."""
    chunks.CHUNK, chunks.CHUNK_ABOVE = (chunk, chunk) if chunk else (64, 10**9)
    compile_regex.cache_clear()
    regex_dfa._PLAIN_MEMO.clear()
    compiler._STORE_MEMORY.clear()
    schema = {"type": "string", "maxLength": n}
    text = json_schema_to_grammar(schema)
    row: dict[str, object] = {"n": n, "chunk": chunk or "-"}
    started = time.perf_counter()
    try:
        compiled = compile_grammar(text, vocab, terminal_conflicts="all", cache_dir=False)
    except GrammarCompileError as exc:  # the figure to report is the failure itself
        row["error"] = str(exc)[-80:]
        return row
    row["compile_s"] = round(time.perf_counter() - started, 3)
    row["terminals"] = len(compiled.terminals)
    row["dfa_states"] = sum(t.dfa.n_states for t in compiled.terminals)
    import torch

    mask = torch.zeros(vocab.size, dtype=torch.bool)
    value = ("lorem ipsum dolor sit amet, " * (n // 28 + 1))[:n]
    tokens = tokenizer.encode(canonical_json(value, schema), add_special_tokens=False)
    for label in ("replay_s", "again_s"):  # again: every mask store already built
        m = GrammarMatcher(compiled)
        started = time.perf_counter()
        for t in tokens:
            m.fill_mask(mask)
            if not m.accept_token(t):
                raise AssertionError(f"valid value rejected (n={n}, chunk={chunk})")
        row[label] = round(time.perf_counter() - started, 3)
    row["tokens"] = len(tokens)
    stores = [c._store[1] for c in compiled._contexts.values() if hasattr(c, "_store")]
    row["masked_states"] = sum(len(s.states) for s in stores)
    return row


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[64, 128, 300, 1000, 4096])
    p.add_argument("--chunk", type=int, nargs="+", default=[0, 32, 64])
    p.add_argument("--tokenizer", default="gpt2")
    args = p.parse_args(argv)
    tokenizer = load_tokenizer(args.tokenizer)
    vocab = TokenVocabulary.from_tokenizer(tokenizer)
    print(f"tokenizer {args.tokenizer}, MAX_STATES {MAX_STATES}")
    for n in args.n:
        for chunk in args.chunk:
            with tempfile.TemporaryDirectory(prefix="gd-long-strings-") as cold:
                os.environ["GRAMMAR_DECODE_CACHE"] = cold
                print(json.dumps(measure(n, chunk, tokenizer, vocab)), flush=True)


if __name__ == "__main__":
    main()
