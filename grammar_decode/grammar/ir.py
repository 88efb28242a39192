"""The grammar intermediate form every front end (Lark text, GBNF text) produces."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TerminalSpec:
    """One lexical terminal: a whole-lexeme regex (our dialect) plus lexer metadata."""

    name: str
    regex: str
    priority: int = 0
    is_literal: bool = False  # written as a string literal (wins ties against patterns)
    ignored: bool = False  # %ignore: may appear between any two lexemes, not seen by parser


@dataclass(frozen=True)
class Grammar:
    """A context-free grammar over named terminals.

    ``rules`` maps each nonterminal to its alternatives; an alternative is a tuple of symbol
    names (terminal names are in ``terminals``). ``start`` is the start nonterminal.
    """

    start: str
    rules: dict[str, tuple[tuple[str, ...], ...]]
    terminals: dict[str, TerminalSpec]
    source: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    def digest(self) -> str:
        """Stable content hash (for caches)."""
        payload = {
            "start": self.start,
            "rules": {k: [list(a) for a in v] for k, v in sorted(self.rules.items())},
            "terminals": [[t.name, t.regex, t.priority, t.is_literal, t.ignored]
                          for t in sorted(self.terminals.values(), key=lambda t: t.name)],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
