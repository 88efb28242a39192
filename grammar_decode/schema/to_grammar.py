"""Emit Lark grammar text from normalized schema branches.

Every value language becomes a rule; identical subschemas (same content and base URI) share
one rule, and recursive `$ref`s become recursive rules. Objects list declared properties in
schema order with a linear chain of "how many members so far" states, so commas are exact for
any mix of required/optional members and min/maxProperties; other members (patternProperties,
additionalProperties) come after them, with key terminals made disjoint by top-level lookaheads.
Arrays use the same state idea for prefixItems, min/maxItems and contains/min/maxContains.

Whitespace: "compact" emits none (the canonical form); "flexible" allows one optional
whitespace run after every token and at the start, each run being at most one newline plus 20
spaces/tabs, so generation cannot loop on whitespace.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Sequence

from grammar_decode.grammar.ebnf import EbnfExpander
from grammar_decode.grammar.ir import Grammar, TerminalSpec

from . import chunks
from .canonical import dump_value
from .keywords import allows
from .normalize import Branch, Conj, IssueLog, Normalizer, split_range
from .refs import Ctx

WS_REGEX = r"\r?\n[ \t]{0,20}|[ \t]{1,20}"  # one run: a newline + indentation, or spaces
NEVER_REGEX = r"[^\s\S]"  # matches nothing: the terminal of an empty language
MAX_STATES = 4000
NEVER_HEAD = "(?!)"  # a lookahead that always fails: the terminal builders' empty language
MAX_UNIQUE_DOMAIN = 6
MAX_EXCLUDED_NUMBERS = 64  # `not` enum/const numbers cut out of a number range


def _lark_regex(regex: str) -> str:
    """`regex` as a Lark /.../ literal: slashes, raw newlines and quotes escaped (Lark's own
    unescaping would turn a backslash before a quote into a bare quote)."""
    out, i = [], 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\" and i + 1 < len(regex):
            out.append("\\x22" if regex[i + 1] == '"' else regex[i:i + 2])
            i += 2
            continue
        out.append({"/": "\\/", "\n": "\\n", "\r": "\\r", "\"": "\\x22"}.get(ch, ch))
        i += 1
    return "/" + "".join(out) + "/"


def split_lookaheads(regex: str) -> tuple[list[str], str]:
    """Leading top-level lookahead groups of a regex, and the rest."""
    heads: list[str] = []
    while regex.startswith(("(?=", "(?!")):
        depth, i, in_class = 0, 0, False
        while i < len(regex):
            ch = regex[i]
            if ch == "\\":
                i += 2
                continue
            if in_class:
                in_class = ch != "]"
            elif ch == "[":
                in_class = True
                if regex[i + 1:i + 2] == "]":
                    i += 1
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        heads.append(regex[:i + 1])
        regex = regex[i + 1:]
    return heads, regex


def seq(*parts: str | None) -> str | None:
    """Concatenation; None (empty language) absorbs, "" (epsilon) vanishes."""
    if any(p is None for p in parts):
        return None
    return " ".join(p for p in parts if p)


def alt(parts: Sequence[str | None]) -> str | None:
    """Union; None branches dropped, an epsilon branch makes the rest optional."""
    seen: list[str] = []
    for p in parts:
        if p is not None and p not in seen:
            seen.append(p)
    if not seen:
        return None
    nullable = "" in seen
    rest = [p for p in seen if p]
    if not rest:
        return ""
    body = rest[0] if len(rest) == 1 else " | ".join(rest)
    if nullable:
        return f"({body})?"
    return body if len(rest) == 1 else f"({body})"


class GrammarBuilder:
    """Builds the Lark rules and terminals for one schema document."""

    def __init__(self, norm: Normalizer, issues: IssueLog, whitespace: str = "compact") -> None:
        if whitespace not in ("compact", "flexible"):
            raise ValueError(f"whitespace must be 'compact' or 'flexible', got {whitespace!r}")
        from grammar_decode.schema.numbers import number_regex_with_issues
        from grammar_decode.schema.strings import counted_string, string_regex_with_issues
        self._string_regex, self._number_regex = string_regex_with_issues, number_regex_with_issues
        self._counted_string = counted_string
        self.notes: list[Any] = []  # "ignored" annotations reported by the terminal builders
        self.norm = norm
        self.issues = issues
        self.flexible = whitespace == "flexible"
        self.rules: dict[str, str] = {}
        self.terminals: dict[str, str] = {}  # regex -> terminal name
        self._memo: dict[tuple, str | None] = {}
        self._hash: dict[int, str] = {}
        self._aux: dict[tuple, str | None] = {}
        self._never_used = False
        # counted strings that can hold >= CHUNK units are rules decided at the end: chunk
        # chains or one terminal (see grammar_decode.schema.chunks)
        self._counted: dict[tuple, str] = {}   # (unit, lo, hi) -> rule name
        self._whole: dict[str, str] = {}       # that rule -> its single-terminal regex
        self._wanted: set[str] = set()         # those worth chunking
        self._chain: dict[tuple, str] = {}     # (unit, size, chain symbol) -> rule name
        self._long: set[str] = set()           # other value string terminals of >= CHUNK units
        self._groups: list[list[str]] = []     # alternatives that may start with one lexeme

    # ---- output ----------------------------------------------------------------------------
    def start_body(self, root: Conj) -> str:
        """Body of the start rule (builds every rule on the first call)."""
        top = self.value(root)
        if top is None:
            self._never_used = True
            top = "_NEVER"
        self._emit_counted()
        return f"{'_WS? ' if self.flexible else ''}{top}"

    def _terminal_regexes(self) -> list[tuple[str, str]]:
        out = [(name, rx) for rx, name in self.terminals.items()]
        if self.flexible:
            out.append(("_WS", WS_REGEX))
        if self._never_used:
            out.append(("_NEVER", NEVER_REGEX))
        return out

    def grammar(self, root: Conj) -> str:
        """Lark grammar text (start rule `start`)."""
        lines = [f"start: {self.start_body(root)}"]
        lines += [f"{name}: {body}" for name, body in self.rules.items()]
        lines += [f"{name}: {_lark_regex(rx)}" for name, rx in self._terminal_regexes()]
        return "\n".join(lines) + "\n"

    def grammar_ir(self, root: Conj) -> Grammar:
        """The same grammar as IR, built directly (no Lark text printed and parsed back)."""
        expander = EbnfExpander()
        rules = {"start": expander.expand(self.start_body(root))}
        rules.update((name, expander.expand(body)) for name, body in self.rules.items())
        rules.update(expander.helpers)
        used = {s for alts in rules.values() for alt in alts for s in alt}
        terminals = {name: TerminalSpec(name, rx) for name, rx in self._terminal_regexes()
                     if name in used}
        return Grammar("start", {k: tuple(v) for k, v in rules.items()}, terminals)

    def term(self, regex: str, prefix: str = "T") -> str:
        """Name of the terminal for `regex`."""
        name = self.terminals.get(regex)
        if name is None:
            name = f"{prefix}{len(self.terminals)}"
            self.terminals[regex] = name
        return name

    def tok(self, regex: str, prefix: str = "T") -> str:
        """Reference to the terminal for `regex` (followed by optional whitespace if flexible)."""
        return self.ws(self.term(regex, prefix))

    def ws(self, ref: str) -> str:
        """`ref` followed by optional whitespace if flexible."""
        return f"{ref} _WS?" if self.flexible else ref

    def lit(self, text: str) -> str:
        name = self.term(re.escape(text), "L" if len(text) > 1 else "P")
        if text.startswith('"') and len(json.loads(text)) >= chunks.CHUNK:
            self._long.add(name)
        return self.ws(name)

    def rule(self, body: str | None, prefix: str = "r") -> str | None:
        """Name a non-trivial body as a rule (None and "" pass through)."""
        if not body:
            return body
        name = f"{prefix}{len(self.rules)}"
        self.rules[name] = body
        return name

    def reserve(self, prefix: str) -> str:
        """A rule name to refer to before its body is known (recursion)."""
        name = f"{prefix}{len(self.rules)}"
        self.rules[name] = ""
        return name

    def finish(self, name: str, body: str | None) -> str | None:
        """Set a reserved rule's body; None (empty language) if it derives nothing."""
        if body:
            self.rules[name] = body
            return name
        if body == "":
            raise ValueError(f"internal error: rule {name} would only derive the empty string")
        self._never_used = True
        self.rules[name] = "_NEVER"
        return None

    # ---- values ----------------------------------------------------------------------------
    def _simplify(self, conj: Conj) -> Conj:
        """Drop always-true parts and repeats, so equal conjunctions share one rule."""
        seen: set[tuple] = set()
        out = []
        for c in conj:
            k = self._ctx_key(c)
            if k not in seen and c.schema is not True and c.schema != {}:
                seen.add(k)
                out.append(c)
        return tuple(out)

    def _ctx_key(self, ctx: Ctx) -> tuple:
        if ctx.tag:
            return ctx.key
        h = self._hash.get(id(ctx.schema))
        if h is None:
            dumped = json.dumps(ctx.schema, default=str)  # key order matters (property order)
            h = hashlib.sha1(dumped.encode()).hexdigest()
            self._hash[id(ctx.schema)] = h
        return (ctx.base, ctx.scope, h)

    def value(self, conj: Conj) -> str | None:
        """Rule name for the values of a conjunction (None: no value satisfies it)."""
        conj = self._simplify(conj)
        key = tuple(self._ctx_key(c) for c in conj)
        if key in self._memo:
            return self._memo[key]
        name = self._memo[key] = self.reserve("v")
        branches = [self.branch(b) for b in self.norm.expand(conj)]
        # branches' scalars end where the value ends, so a longest match between them never
        # changes what follows; only their arrays and objects can diverge
        self.group([nested for _, nested in branches])
        result = self.finish(name, alt([whole for whole, _ in branches]))
        self._memo[key] = result
        return result

    def branch(self, b: Branch) -> tuple[str | None, str | None]:
        """(the values of a branch, its array and object values)."""
        if b.finite is not None:
            return alt([self.lit(dump_value(v)) for v in b.finite]), None
        excluded = {dump_value(v) for v in b.excluded}
        parts: list[str | None] = []
        for lit in ("null", "true", "false"):
            kind = "null" if lit == "null" else "boolean"
            if allows(b.types, kind) and lit not in excluded:
                parts.append(self.lit(lit))
        others = [v for v in b.excluded if isinstance(v, (list, dict))]
        if others and any(allows(b.types, t) for t in ("array", "object")):
            for p in b.exclusion_ptrs:
                self.issues.add(p, "not", "excluding arrays or objects is not enforced")
        if "number" in b.types or "integer" in b.types and not b.fraction:
            parts.extend(self.number_terminals(b, integer="number" not in b.types))
        if "string" in b.types:
            parts.append(self.string_value(b))
        nested = [self.array(b) if "array" in b.types else None,
                  self.object(b) if "object" in b.types else None]
        return alt(parts + nested), alt(nested)

    # ---- terminals -------------------------------------------------------------------------
    def _record(self, issues: list[Any]) -> None:
        for issue in issues:
            if issue.status == "ignored":
                self.notes.append(issue)
            else:
                self.issues.add(issue.pointer, issue.keyword, issue.detail, issue.status)

    def number_terminals(self, b: Branch, integer: bool) -> list[str]:
        """Number terminal of a branch. Numbers excluded by `not` const/enum split the range
        into open intervals, one regex each (exact: a bound compares the parsed value)."""
        pieces = split_range(b.num, b.excluded)
        if len(pieces) > MAX_EXCLUDED_NUMBERS + 1:
            for p in b.exclusion_ptrs:
                self.issues.add(p, "not", f"more than {MAX_EXCLUDED_NUMBERS} excluded numbers; "
                                "not excluded")
            pieces = [b.num]
        regexes = []
        non_integer = None if not b.fraction else "float" if self.norm.draft == "4" else "fraction"
        for piece in pieces:
            frag = dict(piece, type="integer" if integer else "number")
            rx, issues = self._number_regex(frag, b.num_ptr, integer, approximate=True,
                                            non_integer=non_integer)
            self._record(issues)
            if not rx.startswith(NEVER_HEAD):
                regexes.append(rx)
        if not regexes:
            return []
        return [self.tok(regexes[0] if len(regexes) == 1 else "(?:" + "|".join(regexes) + ")",
                         "N")]

    def string_rx(self, frag: dict[str, Any], pointer: str) -> tuple[list[str], str]:
        """Regex of the canonical lexemes satisfying string keywords, split as (top-level
        lookaheads after the opening quote, rest of the lexeme after them)."""
        rx, issues = self._string_regex(dict(frag, type="string"), pointer, approximate=True)
        self._record(issues)
        if not rx.startswith('"'):
            raise ValueError(f"string regex for {pointer or '/'} does not start with a quote: {rx}")
        return split_lookaheads(rx[1:])

    @staticmethod
    def _string_fragments(b: Branch) -> tuple[dict[str, Any], str, list[tuple[dict[str, Any], str]]]:
        """A branch's string keywords: (merged fragment, its pointer, conflicting extras)."""
        main: dict[str, Any] = {}
        extra: list[tuple[dict[str, Any], str]] = []
        ptr = b.strings[0][1] if b.strings else ""
        for frag, fptr in b.strings:
            for k, v in frag.items():
                if k == "minLength":
                    main[k] = max(main.get(k, 0), v)
                elif k == "maxLength":
                    main[k] = min(main.get(k, v), v)
                elif k not in main:
                    main[k] = v
                elif main[k] != v:
                    extra.append(({k: v}, fptr))
        return main, ptr, extra

    def string_value(self, b: Branch) -> str | None:
        """Grammar for the string values of a branch: one terminal, or a rule for a counted
        string that can hold CHUNK or more units (see _emit_counted)."""
        rx = self.string_terminal(b)
        if rx is None:
            return None
        main, ptr, extra = self._string_fragments(b)
        plain = not extra and not b.not_strings and not any(isinstance(v, str) for v in b.excluded)
        counted = self._counted_string(main, ptr) if plain else None
        if counted is not None and (counted.hi is None or counted.hi >= chunks.CHUNK):
            key = (counted.unit, counted.lo, counted.hi)
            if key not in self._counted:
                self._counted[key] = name = self.reserve("c")
                self._whole[name] = rx
                if chunks.worth_chunking(counted.lo, counted.hi):
                    self._wanted.add(name)
            return self.ws(self._counted[key])
        name = self.term(rx, "S")
        bound = main.get("maxLength")
        if counted is None and (bound is None or bound >= chunks.CHUNK):
            self._long.add(name)
        return self.ws(name)

    def _emit_counted(self) -> None:
        """Bodies of the counted-string rules: chunk chains where chunks.choose_chunked says
        so, else their single terminal, inlined."""
        counted, self._counted = self._counted, {}  # once, even if called again
        if not counted:
            return
        chunked = chunks.choose_chunked(self.rules, self._groups, set(self._whole),
                                        self._wanted, self._long)
        whole: dict[str, str] = {}
        for (unit, lo, hi), name in counted.items():
            if name in chunked:
                self.rules[name] = self._chunk_chain(unit, lo, hi)
            else:
                whole[name] = self.term(self._whole[name], "S")
        if whole:  # last: rule names are numbered by len(self.rules)
            names = re.compile(r"\b(?:" + "|".join(whole) + r")\b")
            self.rules = {k: names.sub(lambda m: whole[m.group()], v)
                          for k, v in self.rules.items() if k not in whole}

    def _chunk_chain(self, unit: str, lo: int, hi: int | None) -> str:
        """`"` unit{lo,hi} `"` over chunk terminals (see chunks.chain_grammar)."""
        size = chunks.CHUNK
        top, rules = chunks.chain_grammar(lo, hi, size)

        def emit(sym: chunks.Sym) -> str:
            if sym[0] in ("full", "last"):
                return self.term(chunks.terminal_regex(sym, unit, size), "C")
            name = self._chain.get((unit, size, sym))
            if name is None:
                name = self._chain[(unit, size, sym)] = self.reserve("c")
                self.finish(name, alt([seq(*map(emit, option)) for option in rules[sym]]))
            return name

        body = alt([seq(*map(emit, option)) for option in top])
        if not body:
            raise ValueError(f"internal error: empty chunk chain for {lo}..{hi}")
        return body

    def group(self, alternatives: Sequence[str | None]) -> None:
        """Record alternatives that may start with the same lexeme (see chunks.choose_chunked)."""
        present = [a for a in dict.fromkeys(alternatives) if a]
        if len(present) > 1:
            self._groups.append(present)

    def string_terminal(self, b: Branch) -> str | None:
        """Regex of the string values of a branch: every fragment intersected (lookaheads),
        `not` fragments and excluded values as one negative lookahead."""
        main, ptr, extra = self._string_fragments(b)
        heads, body = self.string_rx(main, ptr)
        if NEVER_HEAD in heads:
            return None
        for frag, fptr in extra:
            h, rest = self.string_rx(frag, fptr)
            heads += h + [f"(?={rest})"]
        negs = [re.escape(dump_value(v)[1:]) for v in b.excluded if isinstance(v, str)]
        for frag, fptr in b.not_strings:
            h, rest = self.string_rx(frag, fptr)
            if h:
                self.issues.add(fptr, "not", "negation of a string constraint that needs "
                                "lookaheads is not expressible; ignored")
            else:
                negs.append(rest)
        if negs:
            heads.insert(0, "(?!" + "|".join(negs) + ")")
        return '"' + "".join(heads) + body

    def string_language(self, conj: Conj, pointer: str) -> tuple[list[str], str] | None:
        """All strings satisfying `conj` (propertyNames) as (lookaheads, rest); None = any."""
        if not conj:
            return None
        branches = [b for b in self.norm.expand(conj) if "string" in b.types]
        if len(branches) == 1 and branches[0].finite is None:
            rx = self.string_terminal(branches[0])
            return split_lookaheads(rx[1:]) if rx is not None else ([NEVER_HEAD], '"')
        if branches and all(b.finite is not None for b in branches):
            lits = [re.escape(dump_value(v)[1:]) for b in branches for v in b.finite
                    if isinstance(v, str)]
            return ([], "(?:" + "|".join(lits) + ")") if lits else ([NEVER_HEAD], '"')
        if not branches:
            return ([NEVER_HEAD], '"')
        self.issues.add(pointer, "propertyNames", "alternatives of string constraints; not enforced")
        return None

    # ---- objects ---------------------------------------------------------------------------
    def object(self, b: Branch) -> str | None:
        names = list(b.props) + [k for k in b.required if k not in b.props]
        names_lang = self.string_language(b.names, b.obj_ptr + "/propertyNames")
        members: list[tuple[str, str, bool]] = []
        for name in names:
            ok = all(self.norm.validate(name, c) for c in b.names)
            v = self.value(b.prop_conj(name, self.norm.matches)) if ok else None
            req = name in b.required
            if v is None:
                if req:
                    return None
                continue
            members.append((self.lit(dump_value(name)), v, req))
        extra = self._extra_members(b, names, names_lang)
        lo, hi = b.min_props, b.max_props
        n_req = sum(1 for m in members if m[2])
        if hi is not None and hi < n_req:
            return None
        if hi is not None and (len(members) + 1) * (hi + 1) > MAX_STATES:
            self.issues.add(b.obj_ptr, "maxProperties", "too large to count exactly; not enforced")
            hi = None
        cap = hi if hi is not None else max(lo, 1)
        comma, colon, close = self.lit(","), self.lit(":"), self.lit("}")
        states: dict[tuple[int, int], str | None] = {}

        def state(i: int, c: int) -> str | None:
            if (i, c) in states:
                return states[(i, c)]
            if i == len(members):
                body = seq(self._tail(extra, c, max(0, lo - c), None if hi is None else hi - c), close)
            else:
                key, v, req = members[i]
                nxt = c + 1 if hi is not None else min(c + 1, cap)
                take = None if hi is not None and c + 1 > hi else seq(
                    comma if c else "", key, colon, v, state(i + 1, nxt))
                body = alt([take, None if req else state(i + 1, c)])
            states[(i, c)] = self.rule(body, "o")
            return states[(i, c)]

        for i in range(len(members), -1, -1):  # deepest first: keeps the recursion shallow
            for c in range(min(i, cap), -1, -1):
                state(i, c)
        return seq(self.lit("{"), state(0, 0))

    def _tail(self, extra: str | None, count: int, lo: int, hi: int | None) -> str | None:
        """`lo..hi` more members drawn from `extra`, after `count` members already emitted."""
        if hi is not None and hi < lo:
            return None
        if extra is None or hi == 0:
            return "" if lo == 0 else None
        sep = self.lit(",")
        if count:
            return self.repeat(seq(sep, extra), lo, hi)
        rest = self.repeat(seq(sep, extra), max(lo - 1, 0), None if hi is None else hi - 1)
        first = seq(extra, rest)
        return first if lo > 0 else alt([first, ""])

    def _extra_members(self, b: Branch, declared: list[str],
                       names: tuple[list[str], str] | None) -> str | None:
        """Alternation of `KEY ":" VALUE` for keys other than the declared ones: one class per
        set of matching patterns (keys matching several patterns get all their schemas), then
        the additional keys (matching no pattern); declared names are excluded everywhere."""
        colon = self.lit(":")
        ptr = b.obj_ptr
        excl = ["(?:" + "|".join(re.escape(dump_value(n)[1:]) for n in declared) + ")"] if declared else []
        names_heads = [] if names is None else names[0] + [f"(?={names[1]})"]
        pats = list(b.patterns.items())
        prx = [self.string_rx({"pattern": p}, f"{ptr}/patternProperties") for p, _ in pats]
        overlapping = len(pats) > 3 or any(heads for heads, _ in prx)
        for (p, _), (heads, _) in zip(pats, prx):
            if heads:
                self.issues.add(f"{ptr}/patternProperties", "patternProperties", f"names matching "
                                f"{p!r} cannot be excluded from other key classes; overlaps not exact")
        if len(pats) <= 3:
            subsets = [[i for i in range(len(pats)) if m >> i & 1] for m in range(1, 1 << len(pats))]
        else:
            self.issues.add(f"{ptr}/patternProperties", "patternProperties", "more than 3 patterns: "
                            "names matching several patterns get only one pattern's schema")
            subsets = [[i] for i in range(len(pats))]
        alts: list[str | None] = []
        for sub in subsets:
            outside = [prx[i][1] for i in range(len(pats)) if i not in sub and not prx[i][0]]
            heads = ["(?!" + "|".join(excl + outside) + ")"] if excl or outside else []
            heads += names_heads
            for i in sub[1:]:
                heads += prx[i][0] + [f"(?={prx[i][1]})"]
            heads += prx[sub[0]][0]
            v = self.value(tuple(c for i in sub for c in pats[i][1]))
            alts.append(seq(self.tok('"' + "".join(heads) + prx[sub[0]][1], "K"), colon, v))
        if b.additional is None or self.norm.expand(b.additional):
            neg = excl + [rest for heads, rest in prx if not heads]
            heads = ["(?!" + "|".join(neg) + ")"] if neg else []
            name_heads, body = names if names is not None else self.string_rx({}, ptr)
            v = self.value(b.additional or ())
            alts.append(seq(self.tok('"' + "".join(heads + name_heads) + body, "K"), colon, v))
        if overlapping:
            self.group(alts)
        body = alt(alts)
        return self.rule(body, "m") if body and "|" in body else body

    # ---- arrays ----------------------------------------------------------------------------
    def array(self, b: Branch) -> str | None:
        lo, hi, k = b.min_items, b.max_items, len(b.prefix)
        if b.unique and not (hi is not None and hi <= 1):
            domain = self._finite_domain(b)
            if domain is not None:
                return self._unique_array(b, domain)
            self.issues.add(b.arr_ptr, "uniqueItems", "duplicates are not excluded: items are "
                            f"not from a finite set of at most {MAX_UNIQUE_DOMAIN} values")
        min_c, max_c = (b.min_contains, b.max_contains) if b.contains is not None else (0, None)
        miss_alts: list[list[Ctx]] | None = None
        if b.contains is not None and max_c is not None:
            miss_alts = self.norm.negate(b.contains[0])
            if miss_alts is None:
                self.issues.add(b.arr_ptr, "maxContains", "contains cannot be negated; not enforced")
                max_c = None
        top = hi if hi is not None else max(k, lo, 1)
        if (top + 1) * ((max_c if max_c is not None else min_c) + 1) > MAX_STATES:
            self.issues.add(b.arr_ptr, "maxItems", "too large to count exactly; not enforced")
            hi, top = None, max(k, lo, 1)
        comma, close = self.lit(","), self.lit("]")
        states: dict[tuple[int, int], str | None] = {}

        def element(n: int, hit: bool) -> str | None:
            conj = b.item_conj(n)
            if b.contains is None or (not hit and miss_alts is None):
                return self.value(conj)
            if hit:
                return self.value(conj + b.contains)
            misses = [self.value(conj + tuple(a)) for a in miss_alts]
            self.group(misses)
            return alt(misses)

        def state(n: int, c: int) -> str | None:
            if (n, c) in states:
                return states[(n, c)]
            name = states[(n, c)] = self.reserve("a")
            end = close if n >= lo and c >= min_c else None
            opts: list[str | None] = [end]
            if hi is None or n + 1 <= hi:
                nxt = n + 1 if hi is not None or n + 1 <= top else top
                sep = comma if n else ""
                if b.contains is None:
                    opts.append(seq(sep, element(n, False), state(nxt, c)))
                else:
                    ch = c + 1 if max_c is not None else min(c + 1, max(min_c, 1))
                    if max_c is None or ch <= max_c:
                        opts.append(seq(sep, element(n, True), state(nxt, ch)))
                        self.group([element(n, True), element(n, False)])
                    opts.append(seq(sep, element(n, False), state(nxt, c)))
            return self.finish(name, alt(opts))

        for n in range(top, -1, -1):  # deepest first: keeps the recursion shallow
            c_top = 0 if b.contains is None else max_c if max_c is not None else max(min_c, 1)
            for c in range(min(n, c_top), -1, -1):
                state(n, c)
        return seq(self.lit("["), state(0, 0))

    def _finite_domain(self, b: Branch) -> list[Any] | None:
        if b.prefix or b.contains is not None:
            return None
        branches = self.norm.expand(b.tail or ())
        if not branches or any(x.finite is None for x in branches):
            return None
        values: dict[str, Any] = {}
        for x in branches:
            for v in x.finite:
                values.setdefault(dump_value(v), v)
        return list(values.values()) if len(values) <= MAX_UNIQUE_DOMAIN else None

    def _unique_array(self, b: Branch, domain: list[Any]) -> str | None:
        """Arrays of distinct values from a small finite domain: states are used-value sets."""
        lo, hi = b.min_items, b.max_items
        lits = [self.lit(dump_value(v)) for v in domain]
        comma, close = self.lit(","), self.lit("]")
        states: dict[int, str | None] = {}

        def state(used: int) -> str | None:
            if used in states:
                return states[used]
            n = bin(used).count("1")
            opts: list[str | None] = [close if n >= lo else None]
            if hi is None or n < hi:
                for i, lit in enumerate(lits):
                    if not used >> i & 1:
                        opts.append(seq(comma if n else "", lit, state(used | 1 << i)))
            states[used] = self.rule(alt(opts), "u")
            return states[used]

        return seq(self.lit("["), state(0))

    # ---- counted repetition ------------------------------------------------------------------
    def repeat(self, x: str | None, lo: int, hi: int | None) -> str | None:
        """`x` repeated lo..hi times (hi None: unbounded), with linear-size helper rules."""
        if lo == 0 and hi == 0:
            return ""
        if x is None:
            return "" if lo == 0 else None
        key = (x, lo, hi)
        if key in self._aux:
            return self._aux[key]
        unit = x if " " not in x else self.rule(x, "x")
        fixed = seq(*([unit] * lo)) if lo <= 3 else self._chain(unit, lo)
        if hi is None:
            rest = f"{unit}*"
        else:
            rest = ""
            for _ in range(hi - lo):  # nested optionals: (x (x (x)?)?)?
                rest = self.rule(f"({unit} {rest})?" if rest else f"({unit})?", "x")
        out = seq(fixed, rest)
        self._aux[key] = out
        return out

    def _chain(self, unit: str, n: int) -> str:
        name = self.rule(unit, "x")
        for _ in range(n - 1):
            name = self.rule(f"{unit} {name}", "x")
        return name
