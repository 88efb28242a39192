"""GBNF -> Lark conversion: every GAD example grammar loads, and languages match exactly."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest
from lark import Lark
from lark.exceptions import LarkError

from grammar_decode.errors import GrammarSyntaxError
from grammar_decode.grammar.gbnf import gbnf_to_lark, looks_like_gbnf

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EXAMPLES = DATA / "gad" / "examples"
needs_data = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="GAD example data not present")

# Files in the data set that are malformed (checked by hand): name -> (line, message part).
# euphony: _arg_0 is used but never defined; woosuk: line 5 has `"(not " Depth0)"`.
MALFORMED = {
    "sygus/euphony/11604909.ebnf": (3, "undefined rule '_arg_0'"),
    "sygus/woosuk/sygus_iter_26_0_bare.ebnf": (5, "unexpected character ')'"),
    "sygus/woosuk/sygus_iter_26_0_completion.ebnf": (5, "unexpected character ')'"),
}


def _parser(gbnf: str) -> Lark:
    return Lark(gbnf_to_lark(gbnf), parser="earley", lexer="dynamic")


def _accepts(parser: Lark, text: str) -> bool:
    try:
        parser.parse(text)
    except LarkError:
        return False
    return True


def _language(parser: Lark, alphabet: str, max_len: int) -> set[str]:
    return {"".join(s) for n in range(max_len + 1) for s in itertools.product(alphabet, repeat=n)
            if _accepts(parser, "".join(s))}


def _regex_language(pattern: str, alphabet: str, max_len: int) -> set[str]:
    rx = re.compile(pattern, re.DOTALL)
    return {"".join(s) for n in range(max_len + 1) for s in itertools.product(alphabet, repeat=n)
            if rx.fullmatch("".join(s))}


@needs_data
def test_every_example_converts_and_loads_in_lark() -> None:
    files = sorted(EXAMPLES.rglob("*.ebnf"))
    assert len(files) > 250
    for path in files:
        text = path.read_text()
        assert looks_like_gbnf(text), path
        name = path.relative_to(EXAMPLES).as_posix()
        if name in MALFORMED:
            line, message = MALFORMED[name]
            with pytest.raises(GrammarSyntaxError, match=re.escape(message)) as info:
                gbnf_to_lark(text, source=str(path))
            assert info.value.line == line and str(path) in str(info.value)
            continue
        converted = gbnf_to_lark(text, source=str(path))
        assert not looks_like_gbnf(converted)
        Lark(converted, parser="earley", lexer="dynamic")


# Independent reading of the small binary grammars (by hand from the grammar files).
BINARY_LANGUAGES = {
    "test/binary_len_5_0.ebnf": r"00000|1[01]{4}",
    "test/binary_len_5_1.ebnf": r"11111|0[01]{4}",
    "test/binary_len_3.ebnf": r"000|1[01]{2}",
    "grammars/string_0.ebnf": r"1*0",
    "grammars/string_1.ebnf": r"0*1",
    "grammars/string_01.ebnf": r"11111|0[01]+",
    "grammars/string_start_w_1.ebnf": r"1[01]+",
    "grammars/string_start_w_1_all_0.ebnf": r"00000|1[01]+",
    "grammars/string_recursive_01.ebnf": r"[01]{3}",
    "grammars/string_recursive_start_w_1_all_0.ebnf": r"00+|1[01]+",
}


@needs_data
@pytest.mark.parametrize("name", sorted(BINARY_LANGUAGES))
def test_binary_grammar_languages_match_by_enumeration(name: str) -> None:
    parser = _parser((EXAMPLES / name).read_text())
    assert _language(parser, "01", 7) == _regex_language(BINARY_LANGUAGES[name], "01", 7)


@needs_data
def test_binary_len_5_0_has_exactly_17_strings() -> None:
    parser = _parser((EXAMPLES / "test" / "binary_len_5_0.ebnf").read_text())
    language = _language(parser, "01", 8)
    assert len(language) == 17 and "00000" in language
    assert all(len(s) == 5 and (s == "00000" or s[0] == "1") for s in language)


@needs_data
def test_chess_grammar_matches_a_regex_reading() -> None:
    parser = _parser((EXAMPLES / "grammars" / "chess.ebnf").read_text())
    move = r"(?:(?:[a-h]x)?[a-h][1-8](?:=[NBKQR])?|[NBKQR][a-h]?[1-8]?x?[a-h][1-8]|O-O(?:-O)?)[+#]?"
    line = rf"{move} {move}\n"
    rx = re.compile(rf"1\. {line}(?:[1-9][0-9]?\. {line})+")
    samples = ["1. e4 e5\n2. Nf3 Nc6\n", "1. e4 e5\n", "1. e4 e5\n2. O-O-O Qxd8#\n",
               "1. exd5 e8=Q\n10. Ra1 Kb2+\n", "1. e4 e5\n100. a1 a2\n", "1. e9 e5\n2. a1 a2\n",
               "1. e4  e5\n2. a1 a2\n", "1. e4 e5\n2. Nbd7 R1a3\n"]
    for text in samples:
        assert _accepts(parser, text) == bool(rx.fullmatch(text)), text


def test_char_classes_escapes_and_repetitions() -> None:
    gbnf = r'''
# a comment line
root ::= word ( "," [ \t]* word ){1,2} tail   # trailing comment
word ::= [a-c]+ | "\"" [^"\\\n]{2} "\""
tail ::= [\x21-\x23\]]? "\u00e9"?
'''
    parser = _parser(gbnf)
    word = r'(?:[a-c]+|"[^"\\\n]{2}")'
    rx = re.compile(rf'{word}(?:,[ \t]*{word}){{1,2}}[\x21-\x23\]]?é?')
    alphabet = 'a,"\\ \n]é'
    texts = ["".join(chars) for n in range(5) for chars in itertools.product(alphabet, repeat=n)]
    rng = random.Random(0)   # longer near-miss strings: grammar-shaped, half of them mutated
    good, bad = ["a", "bca", '"ab"', '"é!"', '"a "'], ['"a\\"', '"\n"', '"x', '""', 'abc"', "d"]
    for _ in range(3000):
        items = [rng.choice(good if rng.random() < 0.85 else bad)
                 for _ in range(rng.randint(1, 4))]
        text = items[0] + "".join("," + rng.choice(["", " ", "\t ", "\n"]) + item
                                  for item in items[1:])
        text += rng.choice(["", "!", "#", "]", "é", "$", "!é", "]]", "\\"])
        if rng.random() < 0.5:
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(alphabet + "\t") + text[i + rng.randint(0, 1):]
        texts.append(text)
    assert sum(bool(rx.fullmatch(t)) for t in texts) > 200     # both outcomes well covered
    for text in texts:
        assert _accepts(parser, text) == bool(rx.fullmatch(text)), repr(text)


def test_multiline_rules_names_and_empty_literals() -> None:
    gbnf = '''root ::= Start-rule
Start-rule ::= "x"
         | ""
         | start_rule Start-rule
start_rule ::=
    "y"
    | "z"{0}
'''
    parser = _parser(gbnf)
    assert _language(parser, "xyz", 5) == _regex_language(r"y*x?", "xyz", 5)


def test_any_char_matches_newline() -> None:
    parser = _parser('root ::= "<" . ">"')
    assert all(_accepts(parser, f"<{c}>") for c in "a\n>é")
    assert not _accepts(parser, "<>") and not _accepts(parser, "<ab>")


@pytest.mark.parametrize("text, line, column, message", [
    ('root ::= "abc', 1, 10, "unterminated string literal"),
    ('root ::= a\na ::= [b-a]', 2, 10, "reversed"),
    ('root ::= ( "a" | "b" ', 1, 10, "missing ')'"),
    ('root ::= "a"\n\nx ::= "\\q"', 3, 8, "unknown escape"),
    ('root ::= missing', 1, 10, "undefined rule 'missing'"),
    ('root ::= "a"\nroot ::= "b"', 2, 1, "defined twice"),
    ('start ::= "a"', 1, 1, "no 'root' rule"),
    ('root ::= "a"{3,1}', 1, 13, "max < min"),
    ('root := "a"', 1, 6, "expected '::='"),
])
def test_errors_carry_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(GrammarSyntaxError, match=re.escape(message)) as info:
        gbnf_to_lark(text, source="g.gbnf")
    assert (info.value.line, info.value.column) == (line, column)
    assert str(info.value).startswith(f"g.gbnf:{line}:{column}:")


def test_looks_like_gbnf_distinguishes_lark() -> None:
    assert looks_like_gbnf('# c\nroot ::= "a"')
    assert not looks_like_gbnf('start: "a"\n%ignore " "')


def test_brace_repetition_forms() -> None:
    parser = _parser('root ::= "a"{2,} ("b" | "c"){,2} "d"{1} x{3}\nx ::= "e"?')
    assert _language(parser, "acde", 6) == _regex_language(r"a{2,}[bc]{0,2}de{0,3}", "acde", 6)
