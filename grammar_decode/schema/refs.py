"""$ref resolution inside one schema document.

Supports JSON-pointer fragments (with `~0`/`~1` and percent-encoding), `$defs`/`definitions`,
`$id`-relative references (embedded resources), `$anchor` (and draft 4-7 `$id: "#name"`),
`$recursiveRef` and `$dynamicRef` for the common self-recursive case (the reference resolves
to the resource root, respectively to the single `$dynamicAnchor` of that name). References to
documents outside the schema raise `RefError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

DEFAULT_BASE = "https://grammar-decode.invalid/root.json"

# keywords whose values are data, never subschemas: not walked when indexing
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})


class RefError(Exception):
    """A reference that cannot be resolved inside the document."""


@dataclass(frozen=True)
class Ctx:
    """A subschema with the base URI its references resolve against and its pointer in the
    root document (pointer is for messages; synthetic subschemas carry their origin's)."""

    schema: Any = field(compare=False)
    base: str
    pointer: str
    tag: str = ""  # identifies a synthetic schema (and its children); "" for document parts

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.base, self.pointer, self.tag)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Document:
    """Index of a schema document: resources by URI, anchors, and pointers."""

    def __init__(self, root: Any, draft: str) -> None:
        self.root = root
        self.draft = draft
        self.id_key = "id" if draft == "4" else "$id"
        self.resources: dict[str, tuple[Any, str]] = {}  # uri -> (schema, pointer)
        self.anchors: dict[str, tuple[Any, str, str]] = {}  # uri#name -> (schema, base, ptr)
        self.dynamic_anchors: dict[str, list[tuple[Any, str, str]]] = {}
        self.root_base = self._own_base(root, DEFAULT_BASE)
        self.resources[DEFAULT_BASE] = (root, "")
        self._index(root, self.root_base, "")

    def _own_base(self, node: Any, base: str) -> str:
        if isinstance(node, dict):
            ident = node.get(self.id_key)
            if isinstance(ident, str) and not ident.startswith("#"):
                return urldefrag(urljoin(base, ident))[0]
        return base

    def _index(self, node: Any, base: str, ptr: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                self._index(item, base, f"{ptr}/{i}")
            return
        if not isinstance(node, dict):
            return
        base = self._own_base(node, base)
        self.resources.setdefault(base, (node, ptr))
        ident = node.get(self.id_key)
        if isinstance(ident, str) and "#" in ident:
            frag = ident.split("#", 1)[1]
            if frag and not frag.startswith("/"):
                self.anchors[f"{urldefrag(urljoin(base, ident))[0]}#{frag}"] = (node, base, ptr)
        for kw in ("$anchor", "$dynamicAnchor"):
            name = node.get(kw)
            if isinstance(name, str):
                self.anchors[f"{base}#{name}"] = (node, base, ptr)
        if isinstance(node.get("$dynamicAnchor"), str):
            self.dynamic_anchors.setdefault(node["$dynamicAnchor"], []).append((node, base, ptr))
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                self._index(value, base, f"{ptr}/{_escape(key)}")

    def root_ctx(self) -> Ctx:
        return Ctx(self.root, self.root_base, "")

    def resolve(self, ref: str, base: str, pointer: str) -> Ctx:
        """The subschema `ref` (relative to `base`) designates; `pointer` is for messages."""
        uri, frag = urldefrag(urljoin(base, ref))
        if uri not in self.resources:
            raise RefError(f"reference {ref!r} at {pointer or '/'} leaves the document")
        if frag and not frag.startswith("/"):
            found = self.anchors.get(f"{uri}#{frag}")
            if found is None:
                raise RefError(f"unknown anchor {ref!r} at {pointer or '/'}")
            node, node_base, node_ptr = found
            return Ctx(node, node_base, node_ptr)
        node, node_ptr = self.resources[uri]
        node_base = self._own_base(node, uri)
        for raw in frag.split("/")[1:] if frag else []:
            token = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            elif isinstance(node, dict) and token in node:
                node = node[token]
            else:
                raise RefError(f"reference {ref!r} at {pointer or '/'} does not resolve")
            node_ptr = f"{node_ptr}/{_escape(token)}"
            node_base = self._own_base(node, node_base)
        return Ctx(node, node_base, node_ptr)

    def resolve_dynamic(self, ref: str, base: str, pointer: str) -> Ctx:
        """`$dynamicRef`: the single `$dynamicAnchor` of that name when there is exactly one,
        else like `$ref` (the common self-recursive case)."""
        frag = urldefrag(urljoin(base, ref))[1]
        found = self.dynamic_anchors.get(frag, [])
        if len(found) == 1:
            node, node_base, node_ptr = found[0]
            return Ctx(node, node_base, node_ptr)
        return self.resolve(ref, base, pointer)
