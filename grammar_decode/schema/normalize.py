"""Normal form of a schema: a disjunction of merged conjunctions ("branches").

`Normalizer.expand(conj)` takes a conjunction of subschemas and returns branches, each a merged
set of constraints per JSON type. `allOf` and `$ref` are merged in place; `anyOf`, `oneOf`,
`if`/`then`/`else`, `not` (via `negate`), `dependentRequired`/`dependentSchemas`/`dependencies`
are distributed over the siblings (A ∧ (B ∨ C) = (A ∧ B) ∨ (A ∧ C)), which keeps them exact.
Child schemas (property values, items, ...) stay as conjunctions of `Ctx` and are expanded
lazily by the grammar builder, so recursion through `$ref` terminates. Anything that cannot be
kept exact is logged as a `SchemaIssue`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable, Sequence

from grammar_decode.errors import SchemaIssue

from .drafts import inactive_keywords
from .keywords import (ALL_TYPES, ANNOTATIONS, INTERPRETED, KNOWN, allows, complement_types, intersect_types,
                       normal_types, type_of)
from .refs import Ctx, Document, RefError

MAX_BRANCHES = 64
MAX_WORK = 20000   # apply() calls per top-level expansion before disjunctions are dropped
MAX_EXCLUSIVE = 4  # oneOf with more overlapping alternatives is not made exclusive
Conj = tuple  # tuple[Ctx, ...]: a conjunction of subschemas ("()" = true)


class IssueLog:
    """Collects SchemaIssues once each, in discovery order."""

    def __init__(self) -> None:
        self.issues: list[SchemaIssue] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, pointer: str, keyword: str, detail: str, status: str = "approximated") -> None:
        key = (pointer, keyword, detail)
        if key not in self._seen:
            self._seen.add(key)
            self.issues.append(SchemaIssue(pointer, keyword, status, detail))


def json_key(value: Any) -> Any:
    """Hashable identity of a JSON value under JSON Schema equality (1 == 1.0, true != 1)."""
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", Fraction(value) if math.isfinite(value) else value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("a", tuple(json_key(v) for v in value))
    return ("o", frozenset((k, json_key(v)) for k, v in value.items()))


def synthetic(schema: Any, origin: Ctx) -> Ctx:
    """A schema we build (negations, dependency branches), resolved like its origin."""
    return Ctx(schema, origin.base, origin.pointer,
               origin.tag + "#" + json.dumps(schema, sort_keys=True, default=str), origin.scope)


def child(ctx: Ctx, *path: str | int) -> Ctx:
    node = ctx.schema
    ptr = ctx.pointer
    for p in path:
        node = node[p]
        ptr += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return Ctx(node, ctx.base, ptr, ctx.tag, ctx.scope)


@dataclass
class Branch:
    """One conjunction of constraints, merged per JSON type."""

    types: frozenset[str] = ALL_TYPES
    parts: list[Ctx] = field(default_factory=list)
    finite: list[Any] | None = None          # enum/const candidates (filtered at the end)
    excluded: list[Any] = field(default_factory=list)   # values removed by not const/enum
    exclusion_ptrs: list[str] = field(default_factory=list)
    num: dict[str, Any] = field(default_factory=dict)   # minimum/maximum/exclusive*/multipleOf
    num_ptr: str = ""
    fraction: bool = False                      # numbers must not be integers (`not` integer)
    strings: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    not_strings: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    props: dict[str, Conj] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    patterns: dict[str, Conj] = field(default_factory=dict)
    additional: Conj | None = None             # None: unconstrained
    names: Conj = ()
    min_props: int = 0
    max_props: int | None = None
    obj_ptr: str = ""
    prefix: list[Conj] = field(default_factory=list)
    tail: Conj | None = None
    min_items: int = 0
    max_items: int | None = None
    contains: Conj | None = None
    min_contains: int = 1
    max_contains: int | None = None
    unique: bool = False
    arr_ptr: str = ""

    def clone(self) -> "Branch":
        out = Branch(**self.__dict__)
        for name in ("parts", "excluded", "exclusion_ptrs", "strings", "not_strings", "required",
                     "prefix"):
            setattr(out, name, list(getattr(self, name)))
        for name in ("num", "props", "patterns"):
            setattr(out, name, dict(getattr(self, name)))
        if self.finite is not None:
            out.finite = list(self.finite)
        return out

    def prop_conj(self, name: str, matches: Callable[[str, str], bool]) -> Conj:
        """The conjunction a property value must satisfy (declared, pattern, additional)."""
        if name in self.props:
            base = self.props[name]
            return base + tuple(c for p, cs in self.patterns.items() if matches(p, name) for c in cs)
        hit = [c for p, cs in self.patterns.items() if matches(p, name) for c in cs]
        if any(matches(p, name) for p in self.patterns):
            return tuple(hit)
        return self.additional or ()

    def item_conj(self, index: int) -> Conj:
        if index < len(self.prefix):
            return self.prefix[index]
        return self.tail or ()


def _lower(num: dict[str, Any]) -> tuple[Any, bool] | None:
    if "exclusiveMinimum" in num:
        return (num["exclusiveMinimum"], True)
    if "minimum" in num:
        return (num["minimum"], False)
    return None


def _upper(num: dict[str, Any]) -> tuple[Any, bool] | None:
    if "exclusiveMaximum" in num:
        return (num["exclusiveMaximum"], True)
    if "maximum" in num:
        return (num["maximum"], False)
    return None


def _numbers_of(schema: dict[str, Any]) -> dict[str, Any]:
    """Number keywords of one schema in 2020-12 form (draft 4 boolean exclusives converted)."""
    out: dict[str, Any] = {}
    for side, plain, excl in (("lo", "minimum", "exclusiveMinimum"), ("hi", "maximum", "exclusiveMaximum")):
        bound, flag = schema.get(plain), schema.get(excl)
        if isinstance(flag, bool):
            if _is_num(bound):
                out[excl if flag else plain] = bound
        else:
            if _is_num(bound):
                out[plain] = bound
            if _is_num(flag):
                tighter = bound is None or (flag >= bound if side == "lo" else flag <= bound)
                if tighter:
                    out.pop(plain, None)
                    out[excl] = flag
    if _is_num(schema.get("multipleOf")):
        out["multipleOf"] = schema["multipleOf"]
    return out


def split_range(num: dict[str, Any], values: Sequence[Any]) -> list[dict[str, Any]]:
    """Number constraints `num` (2020-12 form) minus the finite numbers `values`: one copy of
    `num` per open interval between consecutive values inside its range. Exact for every
    spelling of a removed value (1, 1.0, ...), since bounds compare values, not lexemes."""
    lo, hi = _lower(num), _upper(num)

    def inside(v: Any) -> bool:
        return ((lo is None or v > lo[0] or v == lo[0] and not lo[1])
                and (hi is None or v < hi[0] or v == hi[0] and not hi[1]))

    cuts = sorted({Fraction(v): v for v in values if _is_num(v) and math.isfinite(v)
                   and inside(v)}.items())
    if not cuts:
        return [num]
    out = []
    for i in range(len(cuts) + 1):
        piece = dict(num)
        if i > 0:
            piece.pop("minimum", None)
            piece["exclusiveMinimum"] = cuts[i - 1][1]
        if i < len(cuts):
            piece.pop("maximum", None)
            piece["exclusiveMaximum"] = cuts[i][1]
        out.append(piece)
    return out


def _count(v: Any) -> int | None:
    """A count keyword's value (minItems, maxLength, ...) as an int; JSON Schema allows an
    integral number such as 2.0. None for anything else."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return int(v) if float(v).is_integer() else None


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Normalizer:
    """Expands conjunctions of subschemas of one document into branches."""

    def __init__(self, doc: Document, issues: IssueLog, validate: Callable[[Any, Ctx], bool],
                 openapi_nullable: bool = False,
                 asserted_formats: frozenset[str] = frozenset()) -> None:
        self.doc = doc
        self.asserted_formats = asserted_formats
        self.inactive = inactive_keywords(doc.draft, INTERPRETED)
        self.draft = doc.draft
        self.issues = issues
        self.validate = validate
        self.openapi_nullable = openapi_nullable
        self._memo: dict[tuple, list[Branch]] = {}
        self._regex_cache: dict[tuple[str, str], bool] = {}
        self._active: list[tuple] = []
        self._work = 0          # apply() calls in the current top-level expansion
        self._expanding = 0

    # ---- helpers -------------------------------------------------------------------------
    def matches(self, pattern: str, name: str) -> bool:
        """ECMA-262 `pattern` searched in `name` (Python `re`, ASCII classes)."""
        key = (pattern, name)
        if key not in self._regex_cache:
            try:
                self._regex_cache[key] = re.search(pattern, name, re.ASCII) is not None
            except re.error:
                self.issues.add("", "patternProperties", f"pattern {pattern!r} cannot be matched "
                                "against property names; treated as not matching")
                self._regex_cache[key] = False
        return self._regex_cache[key]

    def expand(self, conj: Sequence[Ctx]) -> list[Branch]:
        """Branches (a disjunction) equivalent to the conjunction `conj`."""
        key = tuple(c.key for c in conj)
        if key in self._memo:
            return self._memo[key]
        if not self._expanding:
            self._work = 0
        self._expanding += 1
        try:
            branches = [Branch()]
            for ctx in conj:
                branches = [nb for b in branches for nb in self.apply(b, ctx)]
                if not branches:
                    break
        finally:
            self._expanding -= 1
        out = [b for b in (self.finalize(b) for b in branches) if b is not None]
        self._memo[key] = out
        return out

    def finalize(self, b: Branch) -> Branch | None:
        """Filter enum/const candidates by every part (exact); drop empty branches."""
        if not b.types:
            return None
        if b.finite is None:
            return b
        keep = [v for v in b.finite if allows(b.types, type_of(v))
                and all(self.validate(v, c) for c in b.parts)]
        if not keep:
            return None
        nb = b.clone()
        nb.finite = keep
        nb.types = normal_types({type_of(v) for v in keep})
        return nb

    # ---- one subschema into a branch -------------------------------------------------------
    def active(self, ctx: Ctx) -> Ctx:
        """`ctx` in its own resource (`$id`, dynamic scope), without the keywords its draft
        does not define (validators ignore them)."""
        ctx = self.doc.enter(ctx)
        s = ctx.schema
        if isinstance(s, dict) and not self.inactive.isdisjoint(s):
            return replace(ctx, schema={k: v for k, v in s.items() if k not in self.inactive})
        return ctx

    def apply(self, b: Branch, ctx: Ctx) -> list[Branch]:
        """Branches of `b ∧ ctx`; `b` may be modified."""
        ctx = self.active(ctx)
        s = ctx.schema
        self._work += 1
        if s is True or s == {}:
            return [b]
        if s is False:
            return []
        if not isinstance(s, dict):
            self.issues.add(ctx.pointer, "", f"a schema must be an object or boolean, got {s!r}",
                            "unsupported")
            return [b]
        b.parts.append(ctx)
        branches = [b]
        targets = self._ref_targets(ctx)
        for target in targets:
            if target.key in self._active:
                self.issues.add(ctx.pointer, "$ref", "reference cycle without an enclosing "
                                "structure; ignored", "unsupported")
                continue
            self._active.append(target.key)
            try:
                branches = [nb for x in branches for nb in self.apply(x, target)]
            finally:
                self._active.pop()
        if targets and self.draft in ("4", "6", "7"):
            return branches  # siblings of $ref are ignored before 2019-09
        branches = [nb for x in branches for nb in self._merge_local(x, ctx)]
        for i, _ in enumerate(s.get("allOf", []) if isinstance(s.get("allOf"), list) else []):
            branches = [nb for x in branches for nb in self.apply(x, child(ctx, "allOf", i))]
        for kind, alts in self._factors(ctx):
            branches = self._distribute(branches, kind, alts, ctx)
        return branches

    def _ref_targets(self, ctx: Ctx) -> list[Ctx]:
        """What the reference keywords of `ctx` point to (each one applies; the draft's
        inactive ones were dropped by `active`), in the dynamic scope of `ctx`."""
        s = ctx.schema
        out = []
        for kw in ("$ref", "$recursiveRef", "$dynamicRef"):
            if not isinstance(s.get(kw), str):
                continue
            try:
                target = (self.doc.resolve(s[kw], ctx.base, ctx.pointer) if kw == "$ref" else
                          self.doc.resolve_recursive(s[kw], ctx) if kw == "$recursiveRef" else
                          self.doc.resolve_dynamic(s[kw], ctx))
            except RefError as exc:
                self.issues.add(ctx.pointer, kw, f"{exc}; ignored", "unsupported")
                continue
            out.append(replace(target, scope=ctx.scope))
        return out

    def _distribute(self, branches: list[Branch], kind: str, alts: list[list[Ctx]],
                    ctx: Ctx, exclusive: bool = False) -> list[Branch]:
        if self._work > MAX_WORK:
            self.issues.add(ctx.pointer, kind.split()[0], "schema too complex to distribute "
                            "(work limit reached); keyword ignored")
            return branches
        groups: list[list[Branch]] = []
        total = 0
        for alt in alts:
            group: list[Branch] = []
            for b in branches:
                res = [b.clone()]
                for c in alt:
                    res = [nb for x in res for nb in self.apply(x, c)]
                    if total + len(group) + len(res) > MAX_BRANCHES:
                        self.issues.add(ctx.pointer, kind.split()[0], f"more than {MAX_BRANCHES} "
                                        "alternatives after distributing over sibling keywords; "
                                        "keyword ignored")
                        return branches
                group.extend(res)
            total += len(group)
            groups.append(group)
        if kind == "oneOf" and not exclusive and not self._pairwise_disjoint(groups):
            disjoint_alts = self._exclusive_alternatives(alts)
            if disjoint_alts is not None:
                return self._distribute(branches, kind, disjoint_alts, ctx, exclusive=True)
            self.issues.add(ctx.pointer, "oneOf", "branches not provably disjoint; treated as anyOf")
        return [b for g in groups for b in g]

    def _exclusive_alternatives(self, alts: list[list[Ctx]]) -> list[list[Ctx]] | None:
        """oneOf as a union of `alt_i ∧ not alt_j (j != i)`; None if some alternative cannot
        be negated or the expansion is too large."""
        if len(alts) > MAX_EXCLUSIVE:
            return None
        negs = []
        for alt in alts:
            neg: list[list[Ctx]] | None = [[]]
            for c in alt:
                sub = self.negate(c)
                neg = None if sub is None or neg is None else [a + x for a in neg for x in sub]
            if neg is None:
                return None
            negs.append(neg)
        out: list[list[Ctx]] = []
        for i, alt in enumerate(alts):
            combos: list[list[Ctx]] = [[]]
            for j, neg in enumerate(negs):
                if j != i:
                    combos = [c + x for c in combos for x in neg]
                    if len(combos) > MAX_BRANCHES:
                        return None
            out += [alt + c for c in combos]
        return out if len(out) <= MAX_BRANCHES else None

    # ---- local keywords ------------------------------------------------------------------
    def _merge_local(self, b: Branch, ctx: Ctx) -> list[Branch]:
        s = ctx.schema
        if "type" in s:
            names = s["type"] if isinstance(s["type"], list) else [s["type"]]
            names = {n for n in names if isinstance(n, str)}
            if self.openapi_nullable and s.get("nullable") is True:
                names.add("null")
            b.types = intersect_types(b.types, normal_types(names))
        values = None
        if "const" in s:
            values = [s["const"]]
        elif isinstance(s.get("enum"), list):
            values = list(s["enum"])
            if self.openapi_nullable and s.get("nullable") is True:
                values.append(None)
        if values is not None:
            if b.finite is None:
                b.finite = values
            else:
                keys = {json_key(v) for v in values}
                b.finite = [v for v in b.finite if json_key(v) in keys]
        if not b.types or b.finite == []:
            return []
        self._merge_numbers(b, ctx)
        self._merge_strings(b, ctx)
        self._merge_object(b, ctx)
        self._merge_array(b, ctx)
        if _simple_not(s.get("not")):
            n = s["not"]
            if "const" in n or "enum" in n:
                b.excluded += [n["const"]] if "const" in n else list(n.get("enum") or [])
                b.exclusion_ptrs.append(ctx.pointer + "/not")
            elif "type" in n:
                b.fraction = True
            else:
                b.not_strings.append(({k: n[k] for k in STRING_FRAGMENT if k in n},
                                      ctx.pointer + "/not"))
        for kw in ("unevaluatedProperties", "unevaluatedItems"):
            if kw in s and s[kw] is not True and s[kw] != {}:
                self.issues.add(ctx.pointer, kw, "not supported; ignored", "unsupported")
        return [b]

    def _merge_numbers(self, b: Branch, ctx: Ctx) -> None:
        new = _numbers_of(ctx.schema)
        if not new:
            return
        b.num_ptr = b.num_ptr or ctx.pointer
        lo_old, lo_new = _lower(b.num), _lower(new)
        if lo_new and (lo_old is None or (lo_new[0], lo_new[1]) > (lo_old[0], lo_old[1])):
            b.num.pop("minimum", None), b.num.pop("exclusiveMinimum", None)
            b.num["exclusiveMinimum" if lo_new[1] else "minimum"] = lo_new[0]
        hi_old, hi_new = _upper(b.num), _upper(new)
        if hi_new and (hi_old is None or (hi_new[0], not hi_new[1]) < (hi_old[0], not hi_old[1])):
            b.num.pop("maximum", None), b.num.pop("exclusiveMaximum", None)
            b.num["exclusiveMaximum" if hi_new[1] else "maximum"] = hi_new[0]
        if "multipleOf" in new:
            old = b.num.get("multipleOf")
            m = new["multipleOf"]
            if old is None or old == m:
                b.num["multipleOf"] = m
            else:
                fo, fm = Fraction(old), Fraction(m)
                lcm = (Fraction(math.lcm(fo.numerator, fm.numerator),
                                math.gcd(fo.denominator, fm.denominator)))
                b.num["multipleOf"] = int(lcm) if lcm.denominator == 1 else float(lcm)
                if float(lcm) != float(Fraction(b.num["multipleOf"])):
                    self.issues.add(ctx.pointer, "multipleOf", "combined multipleOf not exact")

    def _merge_strings(self, b: Branch, ctx: Ctx) -> None:
        s = ctx.schema
        frag = {k: s[k] for k in ("minLength", "maxLength", "pattern", "format") if k in s}
        if "format" in frag and frag["format"] not in self.asserted_formats:
            self.issues.add(ctx.pointer, "format", f"format {frag.pop('format')!r} is not asserted "
                            f"by the draft-{self.draft} validator; annotation only", "ignored")
        if frag:
            b.strings.append((frag, ctx.pointer))

    def _merge_object(self, b: Branch, ctx: Ctx) -> None:
        s = ctx.schema
        if any(k in s for k in ("properties", "patternProperties", "additionalProperties",
                                "required", "propertyNames", "minProperties", "maxProperties")):
            b.obj_ptr = b.obj_ptr or ctx.pointer
        if isinstance(s.get("required"), list):
            b.required += [k for k in s["required"] if k not in b.required]
        if (lo := _count(s.get("minProperties"))) is not None:
            b.min_props = max(b.min_props, lo)
        if (hi := _count(s.get("maxProperties"))) is not None:
            b.max_props = hi if b.max_props is None else min(b.max_props, hi)
        if "propertyNames" in s:
            b.names = b.names + (child(ctx, "propertyNames"),)
        props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
        pats = s.get("patternProperties") if isinstance(s.get("patternProperties"), dict) else {}
        if not props and not pats and "additionalProperties" not in s:
            return
        new_props = {k: (child(ctx, "properties", k),) for k in props}
        new_pats = {p: (child(ctx, "patternProperties", p),) for p in pats}
        new_add = (child(ctx, "additionalProperties"),) if "additionalProperties" in s else None
        if not b.props and not b.patterns and b.additional is None:
            b.props, b.patterns, b.additional = new_props, new_pats, new_add
            return
        other = Branch(props=new_props, patterns=new_pats, additional=new_add)
        names = list(b.props) + [k for k in new_props if k not in b.props]
        merged = {k: b.prop_conj(k, self.matches) + other.prop_conj(k, self.matches) for k in names}
        if (b.patterns and new_add) or (new_pats and b.additional):
            self.issues.add(ctx.pointer, "patternProperties", "patternProperties combined with "
                            "additionalProperties of another allOf branch; the other branch's "
                            "additionalProperties is not applied to pattern-matched names")
        for p, cs in new_pats.items():
            b.patterns[p] = b.patterns.get(p, ()) + cs
        b.props = merged
        if new_add is not None or b.additional is not None:
            b.additional = (b.additional or ()) + (new_add or ())

    def _merge_array(self, b: Branch, ctx: Ctx) -> None:
        s = ctx.schema
        if any(k in s for k in ("items", "prefixItems", "additionalItems", "minItems", "maxItems",
                                "contains", "uniqueItems")):
            b.arr_ptr = b.arr_ptr or ctx.pointer
        if (lo := _count(s.get("minItems"))) is not None:
            b.min_items = max(b.min_items, lo)
        if (hi := _count(s.get("maxItems"))) is not None:
            b.max_items = hi if b.max_items is None else min(b.max_items, hi)
        if s.get("uniqueItems") is True:
            b.unique = True
        if "contains" in s:
            if b.contains is not None:
                self.issues.add(ctx.pointer, "contains", "several contains keywords in one "
                                "conjunction; only the first is enforced")
            else:
                b.contains = (child(ctx, "contains"),)
                if self.draft not in ("4", "6", "7"):
                    if (lo := _count(s.get("minContains"))) is not None:
                        b.min_contains = lo
                    if (hi := _count(s.get("maxContains"))) is not None:
                        b.max_contains = hi
        items = s.get("items")
        prefix: list[Conj] = []
        tail: Conj | None = None
        if isinstance(s.get("prefixItems"), list) and self.draft == "2020-12":
            prefix = [(child(ctx, "prefixItems", i),) for i in range(len(s["prefixItems"]))]
            tail = (child(ctx, "items"),) if "items" in s else None
        elif isinstance(items, list):
            prefix = [(child(ctx, "items", i),) for i in range(len(items))]
            tail = (child(ctx, "additionalItems"),) if "additionalItems" in s else None
        elif "items" in s:
            tail = (child(ctx, "items"),)
        if not prefix and tail is None:
            return
        if not b.prefix and b.tail is None:
            b.prefix, b.tail = prefix, tail
            return
        other = Branch(prefix=prefix, tail=tail)
        n = max(len(b.prefix), len(prefix))
        merged = [b.item_conj(i) + other.item_conj(i) for i in range(n)]
        b.tail = None if b.tail is None and tail is None else (b.tail or ()) + (tail or ())
        b.prefix = merged

    # ---- disjunctive keywords ------------------------------------------------------------
    def _factors(self, ctx: Ctx) -> list[tuple[str, list[list[Ctx]]]]:
        s = ctx.schema
        out: list[tuple[str, list[list[Ctx]]]] = []
        for kind in ("anyOf", "oneOf"):
            if isinstance(s.get(kind), list):
                out.append((kind, [[child(ctx, kind, i)] for i in range(len(s[kind]))]))
        if "not" in s and not _simple_not(s["not"]):
            alts = self.negate(child(ctx, "not"))
            if alts is None:
                self.issues.add(ctx.pointer, "not", "negation not expressible; ignored")
            else:
                out.append(("not", alts))
        if "if" in s and ("then" in s or "else" in s):
            cond = child(ctx, "if")
            then = [child(ctx, "then")] if "then" in s else []
            other = [child(ctx, "else")] if "else" in s else []
            neg = self.negate(cond)
            if neg is None:
                self.issues.add(ctx.pointer, "if", "condition cannot be negated structurally; "
                                "then/else applied as a union")
                out.append(("if", [[cond] + then, other]))
            else:
                out.append(("if", [[cond] + then] + [alt + other for alt in neg]))
        deps: list[tuple[str, Any, str]] = []
        if self.draft in ("4", "6", "7") and isinstance(s.get("dependencies"), dict):
            deps += [(k, v, "dependencies") for k, v in s["dependencies"].items()]
        for kw in ("dependentRequired", "dependentSchemas"):
            if self.draft not in ("4", "6", "7") and isinstance(s.get(kw), dict):
                deps += [(k, v, kw) for k, v in s[kw].items()]
        for name, dep, kw in deps:
            absent = synthetic({"properties": {name: False}}, ctx)
            if isinstance(dep, list):
                present = [synthetic({"required": [name] + [d for d in dep if d != name]}, ctx)]
            else:
                present = [synthetic({"required": [name]}, ctx), child(ctx, kw, name)]
            out.append((kw, [[absent], present]))
        return out

    # ---- negation --------------------------------------------------------------------------
    def negate(self, ctx: Ctx, depth: int = 0) -> list[list[Ctx]] | None:
        """Alternatives (each a conjunction) whose union is `not ctx`; None if unsupported."""
        ctx = self.active(ctx)
        s = ctx.schema
        if s is True or s == {}:
            return []
        if s is False:
            return [[]]
        if not isinstance(s, dict) or depth > 6:
            return None
        targets = self._ref_targets(ctx)
        out: list[list[Ctx]] = []
        for target in targets:
            sub = self.negate(target, depth + 1)
            if sub is None:
                return None
            out += sub
        if targets and self.draft in ("4", "6", "7"):
            return out
        syn = lambda schema: synthetic(schema, ctx)  # noqa: E731
        def non(t: str) -> list[Ctx]:
            comp = complement_types(frozenset({t}))
            return [syn({"type": sorted(comp)})] if comp else []
        def bound(kw: str, value: Any) -> dict[str, Any]:
            if self.draft == "4" and kw.startswith("exclusive"):
                return {("minimum" if "Min" in kw else "maximum"): value, kw: True}
            return {kw: value}
        nums = _numbers_of(s)
        lo, hi = _lower(nums), _upper(nums)
        if lo or hi:
            out.append(non("number"))
        if lo:
            out.append([syn(dict(type="number", **bound("maximum" if lo[1] else "exclusiveMaximum", lo[0])))])
        if hi:
            out.append([syn(dict(type="number", **bound("minimum" if hi[1] else "exclusiveMinimum", hi[0])))])
        for kw, value in s.items():
            if kw in ANNOTATIONS or kw in ("$ref", "$recursiveRef", "$dynamicRef", "then", "else",
                                           "minContains", "maxContains", "additionalItems"):
                continue
            alts: list[list[Ctx]] | None
            if kw == "type":
                names = normal_types(set(value if isinstance(value, list) else [value]))
                fraction = "integer" in names  # complement holds the non-integer numbers
                comp = complement_types(names | {"number"} if fraction else names)
                alts = ([[syn({"type": sorted(comp)})]] if comp else []) + (
                    [[syn({"type": "number", "not": {"type": "integer"}})]] if fraction else [])
            elif kw in ("const", "enum"):
                alts = [[syn({"not": {kw: value}})]]
            elif kw == "required" and isinstance(value, list):
                alts = [[syn({"type": "object", "properties": {k: False}})] for k in value]
            elif kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                alts = []  # handled once below from the merged bounds
            elif kw in ("minLength", "maxLength", "minItems", "maxItems", "minProperties",
                        "maxProperties") and (count := _count(value)) is not None:
                t = {"L": "string", "I": "array", "P": "object"}[kw[3]]
                other = ("max" if kw.startswith("min") else "min") + kw[3:]
                limit = count - 1 if kw.startswith("min") else count + 1
                alts = [non(t)] + ([[syn({"type": t, other: limit})]] if limit >= 0 else [])
                if kw.startswith("min") and count == 0:
                    alts = []
            elif kw in ("pattern", "format"):
                alts = [non("string"), [syn({"type": "string", "not": {kw: value}})]]
            elif kw == "properties" and isinstance(value, dict) and not any(
                    k in s for k in ("patternProperties", "additionalProperties")):
                alts = [[syn({"type": "object", "required": [k], "properties": {k: {"not": v}}})]
                        for k, v in value.items() if v is not True and v != {}]
            elif (kw == "items" and not isinstance(value, list) and "prefixItems" not in s
                  and "contains" not in self.inactive):
                alts = [[syn({"type": "array", "contains": {"not": value}})]]
            elif kw == "contains" and "minContains" not in s and "maxContains" not in s:
                alts = [non("array"), [syn({"type": "array", "items": {"not": value}})]]
            elif kw == "uniqueItems" and value is False:
                alts = []
            elif kw == "anyOf" and isinstance(value, list):
                alts = [[]]
                for i in range(len(value)):
                    sub = self.negate(child(ctx, "anyOf", i), depth + 1)
                    if sub is None or len(alts) * max(len(sub), 1) > MAX_BRANCHES:
                        alts = None
                        break
                    alts = [a + x for a in alts for x in sub]
            elif kw == "allOf" and isinstance(value, list):
                alts = []
                for i in range(len(value)):
                    sub = self.negate(child(ctx, "allOf", i), depth + 1)
                    if sub is None:
                        alts = None
                        break
                    alts += sub
            elif kw == "not":
                alts = [[child(ctx, "not")]]
            else:
                alts = None if kw in KNOWN else []  # unknown keywords constrain nothing
            if alts is None:
                return None
            out += alts
        return out

    # ---- oneOf disjointness ----------------------------------------------------------------
    def _pairwise_disjoint(self, groups: list[list[Branch]]) -> bool:
        final = [[f for f in (self.finalize(b) for b in g) if f is not None] for g in groups]
        for i in range(len(final)):
            for j in range(i + 1, len(final)):
                if not all(self.disjoint(x, y) for x in final[i] for y in final[j]):
                    return False
        return True

    def disjoint(self, a: Branch, b: Branch, depth: int = 0) -> bool:
        """Whether no JSON value satisfies both branches (sound, incomplete)."""
        if a.finite is not None and b.finite is not None:
            return not ({json_key(v) for v in a.finite} & {json_key(v) for v in b.finite})
        for x, y in ((a, b), (b, a)):
            if x.finite is not None and all(not all(self.validate(v, c) for c in y.parts) for v in x.finite):
                return True
        common = intersect_types(a.types, b.types)
        return all(self._disjoint_in(t, a, b, depth) for t in common)

    def _disjoint_in(self, t: str, a: Branch, b: Branch, depth: int) -> bool:
        if t in ("number", "integer"):
            if t == "integer" and (a.fraction or b.fraction):
                return True
            lo_a, hi_a, lo_b, hi_b = _lower(a.num), _upper(a.num), _lower(b.num), _upper(b.num)
            return _before(hi_a, lo_b) or _before(hi_b, lo_a)
        if t != "object" or depth > 3:
            return False
        for x, y in ((a, b), (b, a)):
            for k in x.required:
                if not self.expand(y.prop_conj(k, self.matches)) and self._declares(y, k):
                    return True
        for k in set(a.required) & set(b.required):
            xa = self.expand(a.prop_conj(k, self.matches))
            xb = self.expand(b.prop_conj(k, self.matches))
            if all(self.disjoint(p, q, depth + 1) for p in xa for q in xb):
                return True
        return False

    def _declares(self, b: Branch, name: str) -> bool:
        return (name in b.props or any(self.matches(p, name) for p in b.patterns)
                or b.additional is not None)



def _before(hi: tuple[Any, bool] | None, lo: tuple[Any, bool] | None) -> bool:
    """Whether every number <= hi is < every number >= lo."""
    if hi is None or lo is None:
        return False
    return hi[0] < lo[0] or (hi[0] == lo[0] and (hi[1] or lo[1]))



STRING_FRAGMENT = ("pattern", "format", "minLength", "maxLength")


def _simple_not(n: Any) -> bool:
    """`not` of only const/enum, of only string keywords, or of `type: integer`: kept as an
    exclusion (the last one as `Branch.fraction`)."""
    if not isinstance(n, dict):
        return False
    keys = {k for k in n if k not in ANNOTATIONS}
    return bool(keys) and (keys <= {"const"} or keys <= {"enum"} or keys <= set(STRING_FRAGMENT)
                           or keys == {"type"} and n["type"] in ("integer", ["integer"]))
