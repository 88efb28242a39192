"""EBNF rule bodies -> BNF alternatives: the expanded grammar derives exactly the strings of the
body read as a regular expression (each symbol a character), checked by enumeration."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from grammar_decode.grammar.ebnf import EbnfExpander

SYMBOLS = "abc"


def _random_body(rng: random.Random, depth: int = 0) -> str:
    if depth > 2 or rng.random() < 0.3:
        return rng.choice(SYMBOLS)
    parts = [_random_body(rng, depth + 1) for _ in range(rng.randint(1, 3))]
    body = " | ".join(parts) if rng.random() < 0.4 else " ".join(parts)
    return f"({body})" + rng.choice(["", "", "?", "*", "+"])


def _language(rules: dict[str, list[tuple[str, ...]]], start: str, max_len: int) -> set[str]:
    """Every string of at most max_len symbols the grammar derives (fixpoint over rules)."""
    lang: dict[str, set[str]] = {name: set() for name in rules}
    changed = True
    while changed:
        changed = False
        for name, alts in rules.items():
            for alt in alts:
                words = {""}
                for sym in alt:
                    options = lang[sym] if sym in rules else {sym}
                    words = {w + o for w in words for o in options if len(w + o) <= max_len}
                if not words <= lang[name]:
                    lang[name] |= words
                    changed = True
    return lang[start]


@pytest.mark.parametrize("seed", range(40))
def test_expansion_derives_the_regular_language_of_the_body(seed):
    rng = random.Random(seed)
    body = " ".join(_random_body(rng) for _ in range(rng.randint(1, 4)))
    expander = EbnfExpander()
    rules = {"start": expander.expand(body), **expander.helpers}
    pattern = re.compile(body.replace(" ", ""))
    max_len = 5
    expected = {"".join(w) for n in range(max_len + 1)
                for w in itertools.product(SYMBOLS, repeat=n) if pattern.fullmatch("".join(w))}
    assert _language(rules, "start", max_len) == expected, body


def test_long_optional_sequences_stay_small():
    body = " ".join(f"(x{i})?" for i in range(30))
    expander = EbnfExpander()
    alts = expander.expand(body)
    assert len(alts) <= 16 and sum(len(a) for a in expander.helpers.values()) <= 64


@pytest.mark.parametrize("body", ["(a", "a )", "| |?", "a $"])
def test_syntax_errors_name_the_body(body):
    with pytest.raises(ValueError, match="rule body"):
        EbnfExpander().expand(body)
