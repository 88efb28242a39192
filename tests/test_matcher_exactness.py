"""Masks are exact: sound and complete against the independent prefix oracle.

For each shipped grammar a small byte-level BPE vocabulary is built as a real ``tokenizers``
tokenizer (every single byte, frequent corpus substrings, and hand-picked tokens that span
several lexemes, carry whitespace, keywords, escapes or half a UTF-8 character). At seeded
random prefixes of corpus documents (valid and invalid ones) and along seeded random walks
through the allowed tokens, every token t must satisfy
``t in allowed_token_ids()  <=>  oracle.is_viable_prefix(prefix + bytes(t))``
and EOS must be allowed exactly when ``oracle.is_sentence(prefix)``.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from grammar_corpus import (SHIPPED, grammar_text, greedy_token_ids, invalid_documents,
                            valid_documents)
from oracle import get_oracle

pytest.importorskip("tokenizers")
compiler = pytest.importorskip("grammar_decode.compiler")
matcher_module = pytest.importorskip("grammar_decode.matcher.matcher")

EOS = "<|endoftext|>"
N_PREFIXES = 10  # corpus prefixes per grammar
N_WALKS = 2  # random walks per grammar
WALK_STEPS = 6
MAX_REPORTED = 15

TRICKY: dict[str, list[str | bytes]] = {
    "json": ['",', '":', '},{', '"}', ']}', '{"', '\\u', '\\u00', '\\"', '\\\\', 'true',
             'false,', 'null]', ' "', '\n  ', '1e', '-0', '.5', '0.', 'e+', '"é', 'é',
             b'\xa9"', b'\xe2\x98', '", "', ' ]', '[[', ']]', '\t', '"\\/', '01', '""', '}\n\n',
             ',\n\n  ', ']\r\n'],
    "arithmetic": ['))', ') (', '(-', '^-', '1.', '.5', 'e-', '1e', 'sqrt(', ', ', ' * ',
                   '**', 'x2', '2x', '+-', ' )', '()', '1.e', '.e'],
    "sql_select": [' SELECT', 'SELECT ', ' FROM', 'from ', ' WHERE', 'where', ' AND', ' OR ',
                   ' IN (', "'%", "%'", "''", ', ', ' AS ', 'COUNT(*)', '(*)', '<=', '<>',
                   '!=', '--', '/*', '*/', ' BY', 'ORDER BY ', 'NULL', 'null;', '.*', 'e3',
                   '1.', '""', ' join', 'JOIN ', 'IS NOT', ' LIKE ', '||', ' *', ');', ')\n\n',
                   ';\n\n'],
    "sexpr": ['((', '))', ')(', "'(", ',@', '#t', '#\\', '#|', '|#', '; ', '-1', '1+', ' . ',
              '...', '"\\', 'define', '(define ', '#true', '`(', '\n ', '.5', ' .', ')\n\n',
              '))\n\n  '],
    "go_subset": [':=', ' := ', '++', '--', '&^', '&^=', '<-', '<-chan', '...', '){', ') {',
                  '}\n', '\n\t', '\n\t\t', 'func ', ' func(', 'if ', 'else', '} else {',
                  'for ', 'range ', 'return ', '0x', '0b', '0o', '1_000', "'\\", "'\\u",
                  '\\n"', '`', '//', '/*', '*/', 'struct{', '{}', '[]', '[]byte(',
                  'interface{', 'nil', 'err != nil', ', err', 'go ', 'package ', '\n}',
                  '.(', '==', '!=', '&&', '||', '<<=', '0.', '.5', 'e-', 'iota', ')\n\n',
                  ';\r\n', '}\n\n\t', ')\r\n', ')\n//', '}\n/'],
}


def _byte_level_chars() -> dict[int, str]:
    """The GPT-2 byte-level alphabet: printable bytes map to themselves, the others to
    code points from 256 up (so every byte has a visible, unique character)."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def vocabulary_tokens(name: str) -> list[bytes]:
    """All single bytes, hand-picked tokens, then the most frequent corpus substrings."""
    docs = [d for _, d in valid_documents(name)]
    counts = Counter(doc[i:i + n] for doc in docs for n in (2, 3, 4, 6)
                     for i in range(len(doc) - n + 1))
    tokens = [bytes([b]) for b in range(256)]
    tokens += [t.encode("utf-8") if isinstance(t, str) else t for t in TRICKY[name]]
    tokens += [t for t, _ in counts.most_common(150)]
    return list(dict.fromkeys(tokens))


def build_tokenizer(tokens: list[bytes]):
    """A real byte-level BPE tokenizer (no merges) over ``tokens`` plus an EOS token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = _byte_level_chars()
    vocab = {"".join(chars[b] for b in tok): i for i, tok in enumerate(tokens)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([EOS])
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=EOS)


class _Checker:
    """Compares one matcher state's mask with the oracle and records mismatches."""

    def __init__(self, name: str, compiled) -> None:
        self.name = name
        self.compiled = compiled
        self.oracle = get_oracle(grammar_text(name))
        self.token_bytes = compiled.vocab.token_bytes
        self.eos_ids = set(compiled.vocab.eos_token_ids)
        self.token_to_id = {b: i for i, b in enumerate(self.token_bytes) if b}
        self.max_len = max(len(b) for b in self.token_to_id)
        self.mismatches: list[str] = []
        self.states_checked = 0

    def matcher_at(self, prefix: bytes):
        m = matcher_module.GrammarMatcher(self.compiled)
        for tid in greedy_token_ids(prefix, self.token_to_id, self.max_len):
            if not m.accept_token(tid):
                return None
        return m

    def check(self, prefix: bytes, m) -> set[int]:
        self.states_checked += 1
        allowed = set(m.allowed_token_ids())
        for tid, tb in enumerate(self.token_bytes):
            if tb is None:
                continue
            expected = self.oracle.is_viable_prefix(prefix + tb)
            if (tid in allowed) != expected:
                self.report(prefix, f"token {tb!r}: matcher {'allows' if not expected else 'forbids'}"
                                    f" it, oracle says viable={expected}")
        sentence = self.oracle.is_sentence(prefix)
        if bool(allowed & self.eos_ids) != sentence or m.is_accepting() != sentence:
            self.report(prefix, f"EOS allowed={bool(allowed & self.eos_ids)} "
                                f"is_accepting={m.is_accepting()}, oracle sentence={sentence}")
        return allowed

    def report(self, prefix: bytes, what: str) -> None:
        self.mismatches.append(f"[{self.name}] prefix=...{prefix[-60:]!r}: {what}")


@pytest.fixture(scope="module")
def compiled_grammars(tmp_path_factory):
    cache = tmp_path_factory.mktemp("maskstore")
    out = {}
    for name in SHIPPED:
        tokenizer = build_tokenizer(vocabulary_tokens(name))
        out[name] = compiler.compile_grammar(grammar_text(name), tokenizer, cache_dir=cache)
    return out


def test_vocabulary_maps_to_exact_bytes(compiled_grammars):
    for name, compiled in compiled_grammars.items():
        expected = vocabulary_tokens(name)
        assert compiled.vocab.token_bytes[:len(expected)] == expected, name
        assert len(compiled.vocab.eos_token_ids) == 1


@pytest.mark.parametrize("name", SHIPPED)
def test_masks_equal_oracle_at_corpus_prefixes_and_random_walks(name, compiled_grammars):
    checker = _Checker(name, compiled_grammars[name])
    rng = random.Random(f"exactness-{name}")
    docs = valid_documents(name) + invalid_documents(name)
    for _ in range(N_PREFIXES):
        label, doc = rng.choice(docs)
        prefix = doc[:rng.randrange(len(doc) + 1)]
        if not checker.oracle.is_viable_prefix(prefix):
            continue  # past the error of an invalid document
        m = checker.matcher_at(prefix)
        if m is None:
            checker.report(prefix, f"a viable prefix of {label} was not accepted token by token")
            continue
        checker.check(prefix, m)
    for _ in range(N_WALKS):  # walks go where the corpus does not
        label, doc = rng.choice(valid_documents(name))
        prefix = doc[:rng.randrange(len(doc) + 1)]
        m = checker.matcher_at(prefix)
        if m is None:
            continue  # already reported above if it matters
        for _ in range(WALK_STEPS):
            allowed = sorted(checker.check(prefix, m) - checker.eos_ids)
            if not allowed:
                break
            tid = rng.choice(allowed)
            assert m.accept_token(tid)
            prefix += checker.token_bytes[tid]
    assert checker.states_checked >= N_PREFIXES // 2
    assert not checker.mismatches, (
        f"{len(checker.mismatches)} mismatches; first ones:\n"
        + "\n".join(checker.mismatches[:MAX_REPORTED]))
