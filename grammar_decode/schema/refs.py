"""$ref resolution inside one schema document.

Supports JSON-pointer fragments (with `~0`/`~1` and percent-encoding), `$defs`/`definitions`,
`$id`-relative references (embedded resources), `$anchor` (and draft 4-7 `$id: "#name"`),
`$recursiveRef` and `$dynamicRef` with their dynamic scope (the resources entered on the way
to the reference, carried by `Ctx.scope`: outermost first, each once). References to documents
outside the schema raise `RefError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

DEFAULT_BASE = "https://grammar-decode.invalid/root.json"

# keywords whose values are data, never subschemas: not walked when indexing
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})


def join_uri(base: str, ref: str) -> str:
    """`ref` resolved against `base` (RFC 3986), also for bases such as `urn:` that
    `urljoin` leaves alone: a fragment-only reference keeps the base's resource."""
    if ref.startswith("#"):
        return urldefrag(base)[0] + ref
    if urlsplit(ref).scheme:
        return ref
    return urljoin(base, ref)


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
    scope: tuple[str, ...] = ()  # dynamic scope: resources entered so far (documents with
    #                              $dynamicAnchor / $recursiveAnchor only, else empty)

    @property
    def key(self) -> tuple[str, str, str, tuple[str, ...]]:
        return (self.base, self.pointer, self.tag, self.scope)


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
        self.dynamic_anchors: dict[str, tuple[Any, str, str]] = {}  # uri#name, $dynamicAnchor
        self.recursive_anchors: set[str] = set()  # resources whose root has $recursiveAnchor
        self.root_base = self._own_base(root, DEFAULT_BASE)
        self.resources[DEFAULT_BASE] = (root, "")
        self._index(root, self.root_base, "")
        self.tracks_scope = bool(self.dynamic_anchors or self.recursive_anchors)

    def _own_base(self, node: Any, base: str) -> str:
        if isinstance(node, dict):
            ident = node.get(self.id_key)
            if isinstance(ident, str) and not ident.startswith("#"):
                return urldefrag(join_uri(base, ident))[0]
        return base

    def enter(self, ctx: Ctx) -> Ctx:
        """`ctx` in its own resource: base moved by its `$id` (ignored beside `$ref` before
        2019-09, like every sibling of `$ref`) and, when scope is tracked, the resource
        appended to the dynamic scope."""
        s = ctx.schema
        base = ctx.base
        entered = self.resources.get(base, (None,))[0] is s  # a resource root, base set
        if isinstance(s, dict) and not entered and not (self.draft in ("4", "6", "7")
                                                         and "$ref" in s):
            base = self._own_base(s, base)
        scope = ctx.scope
        if self.tracks_scope and base not in scope:
            scope = scope + (base,)
        if base == ctx.base and scope == ctx.scope:
            return ctx
        return Ctx(s, base, ctx.pointer, ctx.tag, scope)

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
                self.anchors[f"{urldefrag(join_uri(base, ident))[0]}#{frag}"] = (node, base, ptr)
        for kw in ("$anchor", "$dynamicAnchor"):
            name = node.get(kw)
            if isinstance(name, str):
                self.anchors[f"{base}#{name}"] = (node, base, ptr)
        if isinstance(node.get("$dynamicAnchor"), str):
            self.dynamic_anchors[f"{base}#{node['$dynamicAnchor']}"] = (node, base, ptr)
        if node.get("$recursiveAnchor") is True and self.resources[base][0] is node:
            self.recursive_anchors.add(base)
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                self._index(value, base, f"{ptr}/{_escape(key)}")

    def root_ctx(self) -> Ctx:
        return Ctx(self.root, self.root_base, "")

    def resolve(self, ref: str, base: str, pointer: str) -> Ctx:
        """The subschema `ref` (relative to `base`) designates; `pointer` is for messages."""
        uri, frag = urldefrag(join_uri(base, ref))
        if uri not in self.resources:
            raise RefError(f"reference {ref!r} at {pointer or '/'} leaves the document")
        if frag and not frag.startswith("/"):
            found = self.anchors.get(f"{uri}#{frag}")
            if found is None:
                raise RefError(f"unknown anchor {ref!r} at {pointer or '/'}")
            node, node_base, node_ptr = found
            return Ctx(node, node_base, node_ptr)
        node, node_ptr = self.resources[uri]
        node_base = self.root_base if uri == DEFAULT_BASE else uri
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

    def resolve_dynamic(self, ref: str, ctx: Ctx) -> Ctx:
        """`$dynamicRef` (2020-12): resolved like `$ref`; if that lands on a `$dynamicAnchor`
        of the fragment's name, the outermost resource of the dynamic scope that has a
        `$dynamicAnchor` of that name wins."""
        target = self.resolve(ref, ctx.base, ctx.pointer)
        uri, frag = urldefrag(join_uri(ctx.base, ref))
        if frag and f"{uri}#{frag}" in self.dynamic_anchors:
            for resource in ctx.scope:
                found = self.dynamic_anchors.get(f"{resource}#{frag}")
                if found is not None:
                    return Ctx(*found)
        return target

    def resolve_recursive(self, ref: str, ctx: Ctx) -> Ctx:
        """`$recursiveRef` (2019-09): resolved like `$ref`; if that lands on a resource root
        with `$recursiveAnchor: true`, the outermost such resource of the dynamic scope wins."""
        target = self.resolve(ref, ctx.base, ctx.pointer)
        if ref == "#" and target.base in self.recursive_anchors:
            for resource in ctx.scope:
                if resource in self.recursive_anchors:
                    node, ptr = self.resources[resource]
                    return Ctx(node, resource, ptr)
        return target
