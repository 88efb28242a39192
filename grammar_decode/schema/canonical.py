"""The canonical serialization the schema grammars generate.

Compact separators (`,` `:`), non-ASCII characters kept, JSON escapes as `json.dumps`
(`\\"`, `\\\\`, `\\n`, `\\u001f`, ...). Object keys: the applicable branch's declared
properties in schema order (`properties` order after merging `$ref`/`allOf`, then `required`
names that are not declared), then the other keys in the instance's order; nested values follow
their subschemas. Numbers: integers as Python prints them; floats as `json.dumps` prints them
(`1.5`, `1e-07`, `1e+16`); an integral float under an integer-only schema prints as an integer
(`1.0` -> `1`, except draft 4 where 1.0 is not an integer). Values fixed by `enum`/`const` print
exactly as written in the schema.
"""

from __future__ import annotations

import json
from typing import Any

from .keywords import allows, type_of
from .normalize import Branch, Conj, json_key


def dump_value(value: Any) -> str:
    """Compact JSON text of a value, keys in its own order (used for enum/const literals)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class Canonicalizer:
    """Serializes instances the way the grammar of a `SchemaSession` generates them."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.norm = session.norm

    def dump(self, value: Any, conj: Conj) -> str:
        b = self._branch(value, conj)
        if b is None:
            return dump_value(value)
        if b.finite is not None:
            key = json_key(value)
            return dump_value(next((v for v in b.finite if json_key(v) == key), value))
        if isinstance(value, dict):
            declared = list(b.props) + [k for k in b.required if k not in b.props]
            order = [k for k in declared if k in value] + [k for k in value if k not in set(declared)]
            return "{" + ",".join(dump_value(k) + ":" + self.dump(value[k], b.prop_conj(k, self.norm.matches))
                                  for k in order) + "}"
        if isinstance(value, list):
            out = []
            for i, item in enumerate(value):
                conj_i = b.item_conj(i)
                if b.contains is not None and self.session.validate(item, b.contains[0]):
                    conj_i = conj_i + b.contains
                out.append(self.dump(item, conj_i))
            return "[" + ",".join(out) + "]"
        if (isinstance(value, float) and value.is_integer() and "number" not in b.types
                and self.session.draft != "4"):
            return str(int(value))
        return dump_value(value)

    def _branch(self, value: Any, conj: Conj) -> Branch | None:
        """The first branch the value satisfies, else the first one of its JSON type (an
        enum/const branch may hold an equal value of another type: 1.0 in [1], draft 4)."""
        kind = type_of(value)
        if kind == "number" or (kind == "integer" and isinstance(value, float) and self.session.draft == "4"):
            kind = "number"
        branches = self.norm.expand(conj)
        for b in branches:
            if ((allows(b.types, kind) or b.finite is not None)
                    and all(self.session.validate(value, c) for c in b.parts)):
                return b
        return next((b for b in branches if allows(b.types, kind)), None)
