"""Lark EBNF text (or GBNF ``root ::= ...`` text) -> Grammar IR, with line/column errors."""

from __future__ import annotations

from pathlib import Path

import lark
from lark.exceptions import GrammarError, LarkError, UnexpectedInput
from lark.load_grammar import load_grammar as load_lark_grammar

from grammar_decode.errors import GrammarSyntaxError
from grammar_decode.grammar.ir import Grammar, TerminalSpec

# Lark's common.lark writes ESCAPED_STRING with a lookbehind, which no DFA can run; this is
# the same language (a quote, then non-newline characters where a backslash escapes the next
# character, then a quote) without it.
_LOOKBEHIND_FREE = {
    r'".*?(?<!\\)(\\\\)*?"': r'"(?:[^"\\\n]|\\.)*"',
}


def read_grammar_source(grammar: str | Path) -> tuple[str, str | None]:
    """Return (text, source name); ``grammar`` is grammar text or a path to a grammar file."""
    if isinstance(grammar, Path):
        return grammar.read_text(encoding="utf-8"), str(grammar)
    if "\n" not in grammar and len(grammar) < 4096 and grammar.endswith(
            (".lark", ".ebnf", ".gbnf")):
        path = Path(grammar)
        if not path.exists():
            raise FileNotFoundError(f"grammar file not found: {grammar}")
        return path.read_text(encoding="utf-8"), str(path)
    return grammar, None


def load_grammar(grammar: str | Path, *, start: str = "start") -> Grammar:
    """Parse Lark or GBNF grammar text (or a file) into the Grammar IR."""
    text, source = read_grammar_source(grammar)
    from grammar_decode.grammar import gbnf

    if gbnf.looks_like_gbnf(text):
        text = gbnf.gbnf_to_lark(text, source=source)
        start = "start"
    try:
        loaded, _ = load_lark_grammar(text, source or "<grammar>", [], False)
        terminals, rules, ignore = loaded.compile([start], set())
    except UnexpectedInput as exc:
        raise GrammarSyntaxError(f"grammar does not parse: {_first_line(exc)}",
                                 line=exc.line, column=exc.column, source=source) from exc
    except (GrammarError, LarkError) as exc:
        line, column = _position(str(exc))
        raise GrammarSyntaxError(f"invalid grammar: {_first_line(exc)}", line=line,
                                 column=column, source=source) from exc
    return _from_lark(terminals, rules, ignore, start, text)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _position(message: str) -> tuple[int | None, int | None]:
    import re

    m = re.search(r"[Ll]ine (\d+)(?:,? col(?:umn)? (\d+))?", message)
    if not m:
        return None, None
    return int(m.group(1)), int(m.group(2)) if m.group(2) else None


def _from_lark(lark_terminals: list, lark_rules: list, ignore: list[str], start: str,
               text: str) -> Grammar:
    rules: dict[str, list[tuple[str, ...]]] = {}
    used: set[str] = set()
    for rule in lark_rules:
        alt = tuple(sym.name for sym in rule.expansion)
        used.update(sym.name for sym in rule.expansion if sym.is_term)
        rules.setdefault(rule.origin.name, [])
        if alt not in rules[rule.origin.name]:
            rules[rule.origin.name].append(alt)
    ignored = set(ignore)
    terminals: dict[str, TerminalSpec] = {}
    for term in lark_terminals:
        if term.name not in used and term.name not in ignored:
            continue
        regex = term.pattern.to_regexp()
        regex = _LOOKBEHIND_FREE.get(regex, regex)
        terminals[term.name] = TerminalSpec(
            name=term.name, regex=regex, priority=term.priority,
            is_literal=isinstance(term.pattern, lark.lexer.PatternStr),
            ignored=term.name in ignored)
    return Grammar(start=start, rules={k: tuple(v) for k, v in rules.items()},
                   terminals=terminals, source=text)
