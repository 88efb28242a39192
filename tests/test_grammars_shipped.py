"""The shipped grammars load, the corpus agrees with them, and the prefix oracle is right.

Independent truth: Lark's own LALR parser and lexer for the corpus, Python's ``json`` module
for JSON, and brute-force enumeration of short strings for the oracle's prefix notion.
"""

from __future__ import annotations

import itertools
import json
import random

import lark
import pytest

from grammar_corpus import (SHIPPED, grammar_path, grammar_text, invalid_documents,
                             json_suite_instances, valid_documents)
from oracle import GrammarAmbiguityError, PrefixOracle, get_oracle


@pytest.mark.parametrize("name", SHIPPED)
def test_grammar_loads_lalr_strict_and_earley(name):
    text = grammar_text(name)
    lark.Lark(text, parser="lalr", strict=True)  # no conflict resolved behind our back
    lark.Lark(text, parser="earley")


def test_every_grammar_file_is_shipped_and_has_a_corpus():
    files = sorted(p.stem for p in grammar_path("json").parent.glob("*.lark"))
    assert files == sorted(SHIPPED)
    for name in SHIPPED:
        assert len(valid_documents(name)) >= 4, name
        assert len(invalid_documents(name)) >= 4, name


@pytest.mark.parametrize("name", SHIPPED)
def test_corpus_documents_agree_with_lark_and_oracle(name):
    oracle = get_oracle(grammar_text(name))
    parser = lark.Lark(grammar_text(name), parser="lalr")
    for label, data in valid_documents(name):
        text = data.decode("utf-8")
        parser.parse(text)  # raises if Lark's own lexer + parser reject it
        assert oracle.is_sentence(data), label
        for cut in range(0, len(data) + 1, max(1, len(data) // 40)):
            assert oracle.is_viable_prefix(data[:cut]), (label, data[:cut][-40:])
    for label, data in invalid_documents(name):
        with pytest.raises(lark.exceptions.LarkError):
            parser.parse(data.decode("utf-8", errors="replace"))
        assert not oracle.is_sentence(data), label


def _json_loads_strict(text: str) -> bool:
    def reject(token):
        raise ValueError(token)
    try:
        json.loads(text, parse_constant=reject)
    except ValueError:
        return False
    return True


def test_json_grammar_matches_python_json_on_suite_instances_and_mutations():
    oracle = PrefixOracle(grammar_text("json"))
    instances = json_suite_instances(300, seed=1)
    if not instances:
        pytest.skip("json-schema-test-suite data not found beside the repository")
    rng = random.Random(7)
    alphabet = list(' \t\n{}[]",:.-+eE0123456789tfnrul\\/\x01é')
    checked = 0
    for label, data in instances:
        text = data.decode("utf-8")
        assert oracle.is_sentence(text), label
        for _ in range(3):  # random single-character mutations: agree with json.loads
            i = rng.randrange(len(text) + 1)
            op = rng.choice("ids")
            if op == "d" and i < len(text):
                mutated = text[:i] + text[i + 1:]
            elif op == "s" and i < len(text):
                mutated = text[:i] + rng.choice(alphabet) + text[i + 1:]
            else:
                mutated = text[:i] + rng.choice(alphabet) + text[i:]
            assert oracle.is_sentence(mutated) == _json_loads_strict(mutated), repr(mutated)
            checked += 1
    assert checked >= 300


# Hand-written cases: (grammar, text, viable prefix?, sentence?)
CASES = [
    ("json", "", True, False),
    ("json", "  {\"a\"", True, False),
    ("json", "{\"a\": 1} ", True, True),
    ("json", "[01", False, False),  # a leading zero ends the number; "1" cannot follow
    ("json", "[0", True, False),
    ("json", "-", True, False),
    ("json", "1.", True, False),
    ("json", "1.5e+", True, False),
    ("json", "1.5e+3", True, True),  # complete, and could still be extended
    ("json", "tr", True, False),
    ("json", "trux", False, False),
    ("json", "\"\\u00", True, False),
    ("json", "\"\\x", False, False),
    ("json", "\"a\nb\"", False, False),  # raw control character in a string
    ("json", b"\"\xc3", True, False),  # inside a string, a 2-byte character may follow
    ("json", b"\xc3", False, False),  # ... but no value starts with one
    ("json", b"\"\xc3\x28", False, False),  # invalid UTF-8
    ("json", b"\"\xf0\x9f\x98", True, False),
    ("arithmetic", "1.e", True, False),  # NUMBER lexeme "1.e..." still open
    ("arithmetic", "1.e+x", False, False),  # "1." then NAME "e": not after a number
    ("arithmetic", "2x", False, False),
    ("arithmetic", "f(1, g(x)) ^ -2", True, True),
    ("arithmetic", "a b", False, False),
    ("sql_select", "SEL", True, False),
    ("sql_select", "select * from t wh", True, True),  # "wh" is an alias of t
    ("sql_select", "select * from t where", True, False),  # keyword beats alias at a tie
    ("sql_select", "SELECT from FROM t", True, True),  # contextual: "from" is a column here
    ("sql_select", "SELECT a FROM t WHERE a BETWEEN 1 AND 2 AND b", True, True),
    ("sql_select", "SELECT a FROM t ORDER a", False, False),
    ("sexpr", "(a . b)", True, True),
    ("sexpr", "(-12 - 1+ .5 ...)", True, True),
    ("sexpr", "(a . )", False, False),
    ("sexpr", "#| open comment", True, False),  # an open block comment
    ("sexpr", "#| open comment |", True, False),
    ("sexpr", "#| closed |# ; line", True, True),  # comments only: the empty sentence
    ("go_subset", "package p\nfunc f() { if x {} }", True, True),
    ("go_subset", "package p\nfunc f() { if P{} {} }", False, False),  # composite in header
    ("go_subset", "package p\nfunc f() { if (P{}) {} }", True, True),
    ("go_subset", "package p\nfunc f() {\n\tx := g(a,\n\t\tb)\n}", True, True),
    ("go_subset", "package p\nfunc f() {\n\treturn\n\t1\n}", True, True),  # return; 1
    ("go_subset", "package p\nfunc f() { x = = 1 }", False, False),
    ("go_subset", "package p\nvar s = \"abc\n\"", False, False),
]


@pytest.mark.parametrize("name,text,viable,sentence", CASES)
def test_oracle_hand_written_cases(name, text, viable, sentence):
    oracle = get_oracle(grammar_text(name))
    assert oracle.is_viable_prefix(text) == viable
    assert oracle.is_sentence(text) == sentence


def test_oracle_prefix_notion_matches_brute_force_enumeration():
    """On a tiny grammar: sentences of length <= 5 agree with Lark's parser, and a string of
    length <= 2 is a viable prefix iff one of them extends it (every viable prefix that short
    has such a completion in this grammar)."""
    grammar = r"""
        start: item ("," item)*
        ?item: NUMBER | WORD | "(" start ")" | "i" WORD
        NUMBER: /[0-9]+(\.[0-9]+)?/
        WORD: /[a-z]+/
        %ignore " "
    """
    oracle = PrefixOracle(grammar)
    parser = lark.Lark(grammar, parser="lalr")
    alphabet = "1.a,(i) "
    sentences = set()
    for n in range(6):
        for chars in itertools.product(alphabet, repeat=n):
            s = "".join(chars)
            is_sentence = oracle.is_sentence(s)
            if n <= 3:
                try:
                    parser.parse(s)
                    lark_says = True
                except lark.exceptions.LarkError:
                    lark_says = False
                assert is_sentence == lark_says, repr(s)
            if is_sentence:
                sentences.add(s)
    assert {"i a", "(1.1)", "a,ia"} <= sentences and "i" not in sentences
    prefixes = {s[:i] for s in sentences for i in range(len(s) + 1)}
    for n in range(3):
        for chars in itertools.product(alphabet, repeat=n):
            p = "".join(chars)
            assert oracle.is_viable_prefix(p) == (p in prefixes), repr(p)


def test_oracle_refuses_grammars_with_lexical_ties():
    with pytest.raises((GrammarAmbiguityError, lark.exceptions.LexError)):
        PrefixOracle('start: A | B\nA: /a+/\nB: /a|b/\n').is_sentence("a")
