"""Grammar analyses the matcher relies on, checked against brute-force enumeration:
factoring rules (operator levels, choices, many alternatives, shared first symbols) keeps
the language, FOLLOW sets hold every pair seen in short sentences, and the bytes the
matcher allows after a lexeme follow from them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from grammar_decode.compiler import CompiledGrammar
from grammar_decode.grammar import factor
from grammar_decode.grammar.factor import factor_alternatives, left_factor
from grammar_decode.grammar.follow import follow_terminals
from grammar_decode.grammar.ir import Grammar
from grammar_decode.grammar.lark_loader import load_grammar
from grammar_decode.matcher.matcher import GrammarMatcher
from grammar_decode.vocab.vocabulary import TokenVocabulary

# seven optional parts (384 alternatives after Lark's expansion), an optional group inside
# another, a repetition and recursion through the rule
OPTIONALS = r"""
start: item (";" item)*
item: "s" [A] [B] [C] [D] "x"? "y"? ("z" ["w"])? ["(" item ")"]
A: "a"
B: "b"
C: "c"
D: "d"
%ignore " "
"""


def _language(grammar: Grammar, max_len: int) -> set[tuple[str, ...]]:
    """Every terminal string of at most ``max_len`` symbols the start symbol derives (a
    fixpoint over bounded string sets: independent of any parser)."""
    lang: dict[str, set[tuple[str, ...]]] = {name: set() for name in grammar.rules}

    def strings(sym: str) -> set[tuple[str, ...]]:
        return lang[sym] if sym in lang else {(sym,)}

    changed = True
    while changed:
        changed = False
        for name, alts in grammar.rules.items():
            for alt in alts:
                found: set[tuple[str, ...]] = {()}
                for sym in alt:
                    found = {a + b for a in found for b in strings(sym) if len(a + b) <= max_len}
                new = found - lang[name]
                if new:
                    lang[name] |= new
                    changed = True
    return lang[grammar.start]


def test_factoring_keeps_the_language_and_shrinks_the_rule() -> None:
    grammar = load_grammar(OPTIONALS)
    assert len(grammar.rules["item"]) == 2 ** 6 * 3 * 2  # Lark expands every optional
    factored = factor_alternatives(grammar)
    assert set(grammar.rules) < set(factored.rules)
    size = sum(len(alt) for name, alts in factored.rules.items() if name.startswith("item")
               for alt in alts)
    assert size * 10 < sum(len(alt) for alt in grammar.rules["item"])
    assert _language(factored, 7) == _language(grammar, 7)
    assert grammar.rules == load_grammar(OPTIONALS).rules  # the input is left as it was


def test_factored_left_recursion_and_nullable_parts_parse_as_before() -> None:
    """A left-recursive rule of optional parts, some nullable: the language is unchanged, and
    the matcher (which recognises the factored grammar) accepts exactly its sentences."""
    text = ('start: start "," [A] [B] [C] [D] [F] [G] e | "s"\ne: "x"?\n'
            'A: "a"\nB: "b"\nC: "c"\nD: "d"\nF: "f"\nG: "g"\n')
    grammar = load_grammar(text)
    factored = factor_alternatives(grammar)
    assert factored is not grammar
    sentences = _language(grammar, 6)
    assert _language(factored, 6) == sentences
    vocab = TokenVocabulary([None] + [c.encode() for c in "s,abcdfgx"], [0])
    compiled = CompiledGrammar(grammar, vocab, cache=False)
    for length in range(1, 5):
        for symbols in itertools.product("s,abcdfgx", repeat=length):
            matcher = GrammarMatcher(compiled)
            ok = all(matcher.accept_text(c) for c in symbols) and matcher.is_accepting()
            names = tuple({"s": "S", ",": "COMMA"}.get(c, c.upper()) for c in symbols)
            assert ok == (names in sentences), symbols


def test_factoring_leaves_small_rules_alone() -> None:
    grammar = load_grammar('start: "a" "b" | "a" "c" | "d"\n')
    assert factor_alternatives(grammar) is grammar


# postfix operators on a left-recursive operand: seven alternatives begin with ``p`` (one of
# them is ``p`` alone), four of those then with "[" (two then with ``e``, which is nullable)
POSTFIX = r"""
start: p
p: "n" | p "." "n" | p "." "(" "t" ")" | p "[" e "]" | p "[" e ":" e "]" | p "[" ":" "]"
 | p "[" "]" | p
e: "n" |
"""
POSTFIX_NAMES = {"n": "N", ".": "DOT", "(": "LPAR", ")": "RPAR", "t": "T", "[": "LSQB",
                 "]": "RSQB", ":": "COLON"}


def test_left_factoring_keeps_the_language_and_leaves_the_input_alone() -> None:
    grammar = load_grammar(POSTFIX)
    factored = left_factor(grammar)
    assert set(grammar.rules) < set(factored.rules)
    assert [alt for alt in factored.rules["p"] if alt[:1] == ("p",)] == [("p", "p^p")]
    assert factored.rules["p^p"] == (  # "[" begins four tails: factored in turn
        ("DOT", "N"), ("DOT", "LPAR", "T", "RPAR"), ("LSQB", "p^p^LSQB"), ())
    assert len(factored.rules["p^p^LSQB"]) == 4
    assert _language(factored, 7) == _language(grammar, 7)
    assert grammar.rules == load_grammar(POSTFIX).rules
    assert left_factor(load_grammar('start: "a" "b" | "a" "c" | "d"\n')).rules == {
        "start": (("A", "B"), ("A", "C"), ("D",))}  # two alternatives: left as they are


def _assert_exact_prefixes(text: str, names: dict[str, str], max_len: int, extra: int
                           ) -> None:
    """Every string of up to ``max_len`` one-character tokens, depth first: the matcher (which
    runs the factored grammar) accepts a character iff the text stays a prefix of a sentence
    of the grammar as written, and is accepting iff the text is one (sentences enumerated up
    to ``max_len + extra`` symbols: ``extra`` must complete any prefix of ``max_len``)."""
    grammar = load_grammar(text)
    assert set(grammar.terminals) == set(names.values())
    sentences = _language(grammar, max_len + extra)
    prefixes = {sentence[:i] for sentence in sentences for i in range(len(sentence) + 1)}
    vocab = TokenVocabulary([None] + [c.encode() for c in names], [0])
    compiled = CompiledGrammar(grammar, vocab, cache=False)
    todo = [((), GrammarMatcher(compiled))]
    while todo:
        seen, matcher = todo.pop()
        assert matcher.is_accepting() == (seen in sentences), seen
        for char, name in names.items():
            after = matcher.copy()
            longer = seen + (name,)
            assert after.accept_text(char) == (longer in prefixes), longer
            if len(longer) < max_len and longer in prefixes:
                todo.append((longer, after))


def test_left_factored_grammar_allows_exactly_the_prefixes_of_sentences() -> None:
    _assert_exact_prefixes(POSTFIX, POSTFIX_NAMES, 6, 2)


def _kernel_after(text: str, read: str) -> int:
    """Items from earlier origins in the matcher's set after the one-character tokens of
    ``read`` (the last one still pending as a lexeme, so the set is the one before it)."""
    vocab = TokenVocabulary([None] + [c.encode() for c in sorted(set(read))], [0])
    matcher = GrammarMatcher(CompiledGrammar(load_grammar(text), vocab, cache=False))
    assert matcher.accept_text(read)
    return len(matcher._set.kernel)


def test_left_factoring_leaves_one_item_after_the_shared_symbol(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After an operand the set waits with one item for the six postfix alternatives."""
    factored = _kernel_after(POSTFIX, "n.")
    monkeypatch.setattr(factor, "LEFT_FACTOR_MIN", 100)
    assert (factored, _kernel_after(POSTFIX, "n.")) == (1, 6)


# three left-associative levels (one operator of two symbols), an operand that nests the top
# level in parentheses and a prefix operator
LEVELS = r"""
start: s
s: s "+" p | s "-" p | p
p: p "*" u | p "/" "/" u | u
u: "n" | "(" s ")" | "-" u
"""
LEVELS_NAMES = {"n": "N", "+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH", "(": "LPAR",
                ")": "RPAR"}


def test_operator_levels_merge_into_one_with_the_same_language() -> None:
    grammar = load_grammar(LEVELS)
    merged = factor.merge_operator_levels(grammar)
    assert merged.rules["s"] == (("u",), ("s", "s^op", "u"))
    assert merged.rules["s^op"] == (("PLUS",), ("MINUS",), ("STAR",), ("SLASH", "SLASH"))
    assert merged.rules["p"] == grammar.rules["p"]  # a chain of one level: as it was
    assert _language(merged, 7) == _language(grammar, 7)
    assert grammar.rules == load_grammar(LEVELS).rules
    _assert_exact_prefixes(LEVELS, LEVELS_NAMES, 4, 5)  # "((((" needs "n))))"


def test_operator_levels_whose_operators_use_a_level_are_left_alone() -> None:
    grammar = load_grammar('start: s\ns: s "?" p ":" p | p\np: p "*" u | u\nu: "n"\n')
    assert factor.merge_operator_levels(grammar) is grammar


def test_operator_levels_over_a_terminal_merge() -> None:
    grammar = load_grammar('start: s\ns: s "+" p | p\np: p "*" N | N\nN: "n"\n')
    merged = factor.merge_operator_levels(grammar)
    assert merged.rules["s"] == (("N",), ("s", "s^op", "N"))
    assert _language(merged, 7) == _language(grammar, 7)


def test_merged_levels_leave_one_item_after_an_operand(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """After "n" the set waits on one operator item instead of one per operator alternative
    of each level."""
    merged = _kernel_after(LEVELS, "n+")
    monkeypatch.setattr(factor, "merge_operator_levels", lambda grammar: grammar)
    assert (merged, _kernel_after(LEVELS, "n+")) == (1, 4)


# an operator rule over a choice of single terminals, a choice also used in a longer
# alternative of the same rule (left as it is), and the top level nested in parentheses
CHOICES = r"""
start: t
t: t op f | f
op: addop | "*"
addop: "+" | "-"
f: "n" | "(" t ")" | name | name "." name
name: "a" | "b"
"""
CHOICES_NAMES = {"n": "N", "a": "A", "b": "B", ".": "DOT", "+": "PLUS", "-": "MINUS",
                 "*": "STAR", "(": "LPAR", ")": "RPAR"}


def test_choices_are_inlined_with_the_same_language() -> None:
    grammar = load_grammar(CHOICES)
    inlined = factor.inline_choices(grammar)
    assert inlined.rules["op"] == (("PLUS",), ("MINUS",), ("STAR",))
    assert inlined.rules["f"] == grammar.rules["f"]  # "name" is in another alternative too
    assert _language(inlined, 7) == _language(grammar, 7)
    assert grammar.rules == load_grammar(CHOICES).rules
    assert factor.inline_choices(load_grammar('start: x "c"\nx: "a" | "b"\n')).rules[
        "start"] == (("x", "C"),)  # only a whole alternative is inlined
    _assert_exact_prefixes(CHOICES, CHOICES_NAMES, 3, 4)  # "(((" needs "n)))"


@pytest.mark.parametrize("text", [OPTIONALS, 'start: x+ "e"?\nx: "a" x "b" | "c" |\n'])
def test_follow_sets_hold_every_pair_of_short_sentences(text: str) -> None:
    grammar = load_grammar(text)
    follow = follow_terminals(grammar)
    seen: dict[str, set[str]] = {name: set() for name in grammar.terminals}
    for sentence in _language(grammar, 7):
        for a, b in itertools.pairwise(sentence):
            seen[a].add(b)
    for name in grammar.terminals:
        if not grammar.terminals[name].ignored:
            assert seen[name] <= follow[name], name
    assert follow == follow_terminals(factor_alternatives(grammar))


def test_openings_after_a_lexeme_come_from_followers_and_ignored_terminals() -> None:
    grammar = load_grammar('start: "ab" C | "ab" "d"\nC: /[cx]y*/\n%ignore " "\n')
    compiled = CompiledGrammar(grammar, TokenVocabulary([None, b"a", b"b"], [0]), cache=False)
    ids = compiled.terminal_ids

    def table(emitted: frozenset[int]) -> np.ndarray:  # bool [first byte, second byte or 256]
        packed = compiled.next_bytes(emitted).table
        return np.unpackbits(packed, axis=1, count=257, bitorder="little").astype(bool)

    def first_bytes(emitted: frozenset[int]) -> set[str]:
        return {chr(b) for b in np.flatnonzero(table(emitted)[:, 256])}

    assert first_bytes(frozenset([ids["AB"]])) == {"c", "x", "d", " "}
    assert first_bytes(frozenset([ids["C"]])) == {" "}  # only ignored text may follow
    assert first_bytes(compiled.ignored_ids) == set("acxd ")
    after_space = table(compiled.ignored_ids)
    assert after_space[ord("a"), ord("b")] and not after_space[ord("a"), ord("x")]  # "ab"
    assert after_space[ord("c"), ord("y")] and after_space[ord("c"), ord("a")]  # "c" matches


def test_openings_drop_exactly_the_pairs_that_cannot_open_a_lexeme() -> None:
    """Brute force: a (token, offset) pair is kept iff its remainder (or its first lexeme)
    matches a prefix of some text of the allowed terminals, over every pair of a vocabulary."""
    from grammar_decode.maskstore.remainders import RemainderSet

    grammar = load_grammar('start: "ab" C | "ab" "de"\nC: /[cx]y*/\n%ignore " "\n')
    words = [b"ab", b"abc", b"abyd", b"xy", b"cy ", b"dd", b"de", b"ade", b"d", b" a", b"cq",
             b"z"]
    vocab = TokenVocabulary([None] + words, [0])
    compiled = CompiledGrammar(grammar, vocab, cache=False)
    after = compiled.next_bytes(frozenset([compiled.terminal_ids["AB"]]))
    pairs = [(i, o) for i, w in enumerate(vocab.token_bytes) if w for o in range(len(w))]
    rs = RemainderSet(np.array([i for i, _ in pairs]), np.array([o for _, o in pairs]))
    kept = rs.startable(after, vocab)
    got = set(zip(kept.tokens.tolist(), kept.offsets.tolist()))
    def opens(rest: bytes) -> bool:  # a C lexeme or " " (then anything), or "de" begun
        return rest[:1] in (b"c", b"x", b" ") or rest[:2] in (b"d", b"de")

    want = {(i, o) for i, o in pairs if opens(vocab.token_bytes[i][o:])}
    assert got == want
    assert rs.startable(after, vocab) is kept  # cached


def test_openings_of_too_many_terminals_drop_nothing() -> None:
    from grammar_decode.compiler import MAX_OPENING_TERMINALS
    from grammar_decode.maskstore.remainders import RemainderSet

    n = MAX_OPENING_TERMINALS + 1
    words = " | ".join(f'"k{i}"' for i in range(n))
    grammar = load_grammar(f'start: "a" x\nx: {words}\n')
    vocab = TokenVocabulary([None, b"ak1", b"az"], [0])
    compiled = CompiledGrammar(grammar, vocab, cache=False)
    after = compiled.next_bytes(frozenset([compiled.terminal_ids["A"]]))
    assert after.table is None
    rs = RemainderSet(np.array([1, 2]), np.array([1, 1]))
    assert rs.startable(after, vocab) is rs  # "z" cannot open a lexeme, but is not dropped
    fewer = load_grammar('start: "a" x\nx: "k0" | "k1"\n')
    small = CompiledGrammar(fewer, vocab, cache=False)
    kept = rs.startable(small.next_bytes(frozenset([small.terminal_ids["A"]])), vocab)
    assert kept.tokens.tolist() == [1]
