"""EBNF rule bodies (names, `( )`, `|`, `?`, `*`, `+`) -> BNF alternatives, in linear time.

Used by the JSON-Schema compiler to build the grammar IR directly instead of printing Lark text
and parsing it back (Lark's grammar loader is much slower on large generated grammars).
Optional items are expanded inline (`a b? c` -> `a b c | a c`) while that stays small; larger
groups and repetitions become helper rules (`_h<n>`; `X*` -> `_h: X | _h X`).
"""

from __future__ import annotations

import re

Alts = list[tuple[str, ...]]

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|([()|?*+]))")
MAX_INLINE = 16  # alternatives a sequence may expand to before items become helper rules


class EbnfExpander:
    """Expands rule bodies into alternatives; helper rules accumulate in `helpers`."""

    def __init__(self, prefix: str = "_h") -> None:
        self.prefix = prefix
        self.helpers: dict[str, Alts] = {}
        self._named: dict[tuple[tuple[str, ...], ...], str] = {}

    def expand(self, body: str) -> Alts:
        """The alternatives of `body`; ValueError (with the offset) on a syntax error."""
        tokens = _tokenize(body)
        alts, pos = self._alt(tokens, 0, body)
        if pos != len(tokens):
            raise ValueError(f"unexpected {tokens[pos][1]!r} in rule body {body!r}")
        return alts

    def _alt(self, tokens: list[tuple[str, str]], pos: int, body: str) -> tuple[Alts, int]:
        out: Alts = []
        while True:
            seq, pos = self._seq(tokens, pos, body)
            out.extend(a for a in seq if a not in out)
            if pos < len(tokens) and tokens[pos][1] == "|":
                pos += 1
                continue
            return out, pos

    def _seq(self, tokens: list[tuple[str, str]], pos: int, body: str) -> tuple[Alts, int]:
        out: Alts = [()]
        while pos < len(tokens) and tokens[pos][1] not in ("|", ")"):
            item, pos = self._item(tokens, pos, body)
            if len(item) > 1 and (len(out) * len(item) > MAX_INLINE
                                  or not (len(item) == 2 and () in item)):
                item = [(self._helper(item),)]
            out = [a + b for a in out for b in item]
        return out, pos

    def _item(self, tokens: list[tuple[str, str]], pos: int, body: str) -> tuple[Alts, int]:
        kind, text = tokens[pos]
        if kind == "name":
            alts: Alts = [(text,)]
            pos += 1
        elif text == "(":
            alts, pos = self._alt(tokens, pos + 1, body)
            if pos >= len(tokens) or tokens[pos][1] != ")":
                raise ValueError(f"unbalanced '(' in rule body {body!r}")
            pos += 1
        else:
            raise ValueError(f"unexpected {text!r} in rule body {body!r}")
        while pos < len(tokens) and tokens[pos][1] in ("?", "*", "+"):
            op = tokens[pos][1]
            if op == "?":
                alts = alts + ([()] if () not in alts else [])
            else:
                rep = self._repeat([a for a in alts if a])
                alts = [(rep,)] + ([()] if op == "*" or () in alts else [])
            pos += 1
        return alts, pos

    def _repeat(self, alts: Alts) -> str:
        """A helper rule for one or more of `alts` (left-recursive)."""
        name = f"{self.prefix}{len(self.helpers)}"
        self.helpers[name] = list(alts) + [(name,) + a for a in alts]
        return name

    def _helper(self, alts: Alts) -> str:
        key = tuple(alts)
        name = self._named.get(key)
        if name is None:
            name = self._named[key] = f"{self.prefix}{len(self.helpers)}"
            self.helpers[name] = list(alts)
        return name


def _tokenize(body: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if m is None:
            if body[pos:].strip():
                raise ValueError(f"unexpected character at offset {pos} in rule body {body!r}")
            break
        tokens.append(("name", m.group(1)) if m.group(1) else ("op", m.group(2)))
        pos = m.end()
    return tokens
