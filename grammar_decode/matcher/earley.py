"""An incremental Earley recogniser over terminal ids (general CFGs, ambiguity allowed).

Each lexeme the lexer completes is a *set* of terminals (several terminals may match the same
lexeme); scanning advances every item waiting on any of them.

Earley sets are immutable and canonical. An item's origin is the ``EarleySet`` it started in
rather than a chart position, and a set's future (its scans, its lexer context, whether it
accepts) depends only on its *waiting* items and its accepting flag: completed items were
fully used when the set was closed. Sets are interned per grammar by exactly that content,
so parses that reach the same future share one object, whatever their position or history,
and everything cached per set (scans, contexts, masks) is shared too. A parse is just its
last set; copying or rolling back one is keeping a reference.

*Frames.* ``frame_of(s)`` is ``s`` with every earlier origin replaced by ``BOTTOM`` (an empty
set standing for whatever lies below): it expects the same terminals, and scanning from it
(``scan_frame``) builds the same items as scanning from ``s``, origins aside, until an item
whose origin is ``BOTTOM`` completes (a *pop*: the real parse would continue in that origin).
Sets at different nesting depths or positions usually share their frame, so what is computed
on a frame before any pop (the matcher's multi-lexeme token walks) is shared between them.

*Items are ints*: ``(origin uid << shift) | dotted rule``, uid 0 meaning "this set" (the
predicted items every set shares) and 1 ``BOTTOM``. Advancing an item is adding 1. A set keeps
the sets its items start in alive (``origins``); the grammar finds them by uid through weak
references. Ints instead of (rule, set) tuples leave the cyclic GC fewer objects to traverse
(after a cold pass of the SQL corpus 30k tracked objects instead of 66k, Go 82k instead of
131k; a third fewer collections) and made SQL steps ~12% cheaper. For the same reason kernels
and intern keys are sorted tuples of ints (untracked after their first collection; a
frozenset is traversed at every one) and sets share one frozenset per distinct expected
terminal set: the references the GC traverses after a cold Go pass fell from 89k to 1k for
those, and the tracked objects from 63k to 54k.

The intern table holds sets weakly, so it is as large as the number of live sets (held by
matchers and by the bounded caches of the matcher module); a set built again after it was
dropped is an equal but distinct object, which only loses sharing.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

from grammar_decode.errors import GrammarCompileError
from grammar_decode.grammar.ir import Grammar

try:
    import cython
except ImportError:  # pure Python without Cython installed: its decorators do nothing
    from grammar_decode import cython_shim as cython

if TYPE_CHECKING:
    from collections.abc import Iterable

    from grammar_decode.matcher.lexer import ContextLexer

_START = "$start"


class EarleyGrammar:
    """Grammar tables for the recogniser: dotted rules are ints, terminals are ints."""

    def __init__(self, grammar: Grammar, terminal_ids: dict[str, int]) -> None:
        self.terminal_ids = terminal_ids
        nonterminals = [_START] + sorted(grammar.rules)
        self.nt_ids = {name: i for i, name in enumerate(nonterminals)}
        rules: list[tuple[int, tuple[int, ...]]] = [(0, (self._sym(grammar.start, grammar),))]
        for name in sorted(grammar.rules):
            for alt in grammar.rules[name]:
                rules.append((self.nt_ids[name], tuple(self._sym(s, grammar) for s in alt)))
        # dotted rule d = offset[r] + dot; next_sym[d] is the symbol after the dot or None
        self.rule_offset: list[int] = []
        self.dr_next: list[int | None] = []  # >= 0 nonterminal, < 0 terminal -(t+1)
        self.dr_lhs: list[int] = []
        for lhs, rhs in rules:
            self.rule_offset.append(len(self.dr_next))
            for dot in range(len(rhs) + 1):
                self.dr_next.append(rhs[dot] if dot < len(rhs) else None)
                self.dr_lhs.append(lhs)
        self.predict: list[list[int]] = [[] for _ in nonterminals]
        for r, (lhs, _) in enumerate(rules):
            self.predict[lhs].append(self.rule_offset[r])
        self.nullable = self._nullable(rules, len(nonterminals))
        self.n_nonterminals = len(nonterminals)
        # item = (origin uid << shift) | dotted rule; nonterminal ids fit below 1 << shift too
        self.shift = max(len(self.dr_next), len(nonterminals)).bit_length()
        self.rule_mask = (1 << self.shift) - 1
        self.bottom_base = _BOTTOM_UID << self.shift
        self.own_items, self.predicts = self._predictions(rules)
        self._predicted_parts: dict[int, Part] = {}
        # one frozenset per distinct expected-terminal set: sets share it (fewer GC objects)
        self._expected: dict[frozenset[int], frozenset[int]] = {}
        # uid -> weak reference to the live set (the sets themselves are interned on their
        # predicted part, ``Part.interned``)
        self.by_uid: dict[int, _KeyedRef] = {}
        self._uids = itertools.count(_BOTTOM_UID + 1)
        by_uid = self.by_uid

        def forget(ref: _KeyedRef) -> None:
            table = ref.table
            if table.get(ref.key) is ref:
                del table[ref.key]
            by_uid.pop(ref.uid, None)

        self._forget = forget
        self.cascades: dict[int, Cascade] = {}  # see ``_cascade``
        self.completed_sets: dict[int, Step] = {}  # see ``_single_seed``

    def clear_caches(self) -> None:
        """Forget the cached completions and the sets they lead to (kept alive by them)."""
        self.cascades.clear()
        self.completed_sets.clear()

    def _predictions(self, rules: list[tuple[int, tuple[int, ...]]]
                     ) -> tuple[list[tuple[Item, ...]], list[int]]:
        """Per nonterminal: the waiting items a set predicts for it (each rule, its dot past
        every nullable prefix, origin uid 0: the set itself), and every nonterminal predicted
        with it (an ``id_mask``)."""
        own: list[list[Item]] = [[] for _ in range(self.n_nonterminals)]
        calls: list[set[int]] = [set() for _ in range(self.n_nonterminals)]
        for r, (lhs, rhs) in enumerate(rules):
            for dot, sym in enumerate(rhs):
                own[lhs].append(self.rule_offset[r] + dot)
                if sym >= 0:
                    calls[lhs].add(sym)
                if not (sym >= 0 and self.nullable[sym]):
                    break
        predicts = []
        for a in range(self.n_nonterminals):
            seen, todo = {a}, [a]
            while todo:
                for b in calls[todo.pop()] - seen:
                    seen.add(b)
                    todo.append(b)
            predicts.append(id_mask(seen))
        return [tuple(items) for items in own], predicts

    def predicted_part(self, predicted: int) -> Part:
        """The items a set predicts for the nonterminals ``predicted`` (an ``id_mask``);
        cached (forgotten all at once past 4096 entries; sets keep their part alive)."""
        found = self._predicted_parts.get(predicted)
        if found is None:
            waiting: dict[int, list[Item]] = {}
            for a in ids_in(predicted):
                for item in self.own_items[a]:
                    waiting.setdefault(self.dr_next[item], []).append(item)
            if len(self._predicted_parts) >= 4096:
                self._predicted_parts.clear()
            found = Part(predicted,
                         {k: tuple(v) for k, v in waiting.items()})
            self._predicted_parts[predicted] = found
        return found

    def completion_chain(self, part: Part, lhs: int) -> Chain:
        """What completing ``lhs`` at a set with predicted part ``part`` does to that set's
        own (predicted) items: the dotted rules they advance to and wait at (past nullable
        symbols), every nonterminal completed there in turn (``lhs`` first), and the
        nonterminals the advanced items predict. The same for every set with that part, so
        cached on the part."""
        found = part.chains.get(lhs)
        if found is None:
            dr_next, dr_lhs, nullable = self.dr_next, self.dr_lhs, self.nullable
            completed, seen = [lhs], {lhs}
            advanced: dict[int, None] = {}
            i = 0
            while i < len(completed):
                for wdr in part.own.get(completed[i], ()):
                    d = wdr + 1
                    while True:
                        sym = dr_next[d]
                        if sym is None:
                            if dr_lhs[d] not in seen:
                                seen.add(dr_lhs[d])
                                completed.append(dr_lhs[d])
                            break
                        advanced[d] = None
                        if sym >= 0 and nullable[sym]:
                            d += 1
                            continue
                        break
                i += 1
            predicted = 0
            for d in advanced:
                if dr_next[d] >= 0:
                    predicted |= self.predicts[dr_next[d]]
            found = part.chains[lhs] = (tuple(advanced), tuple(completed), predicted)
        return found

    def intern(self, table: dict, key: tuple, found: EarleySet) -> None:
        """Give ``found`` a uid and record it under ``key`` in ``table`` (one of its part's
        ``interned``) and under its uid until it is dropped (one shared callback: a closure
        per set would be three more objects for the GC)."""
        found.uid = uid = next(self._uids)
        found.base = uid << self.shift
        ref = _KeyedRef(found, self._forget)
        ref.table, ref.key, ref.uid = table, key, uid
        table[key] = self.by_uid[uid] = ref

    def item_origin(self, item: Item) -> EarleySet | None:
        """The set an item started in (None: the set holding it, for predicted items)."""
        uid = item >> self.shift
        return None if uid == 0 else BOTTOM if uid == _BOTTOM_UID else self.by_uid[uid]()

    def item_rule(self, item: Item) -> int:
        """An item's dotted rule."""
        return item & self.rule_mask

    def interned_set(self, part: Part, kind: int, key: tuple) -> EarleySet | None:
        """The live set recorded under ``key`` in ``part.interned[kind]``, if any."""
        ref = part.interned[kind].get(key)
        return None if ref is None else ref()

    def _sym(self, name: str, grammar: Grammar) -> int:
        if name in self.terminal_ids:
            return -(self.terminal_ids[name] + 1)
        if name in self.nt_ids:
            return self.nt_ids[name]
        raise GrammarCompileError(f"grammar uses undefined symbol {name!r}")

    @staticmethod
    def _nullable(rules: list[tuple[int, tuple[int, ...]]], n: int) -> list[bool]:
        nullable = [False] * n
        changed = True
        while changed:
            changed = False
            for lhs, rhs in rules:
                if not nullable[lhs] and all(s >= 0 and nullable[s] for s in rhs):
                    nullable[lhs] = changed = True
        return nullable


class _KeyedRef(weakref.ref):
    """A weak reference that knows its intern table, its key there and its set's uid (set after
    construction: a subclass ``__new__``/``__init__`` taking them would be two Python-level
    calls per set, ~20% of building one)."""

    __slots__ = ("table", "key", "uid")


Item = int  # (origin uid << shift) | dotted rule; uid 0: this set, 1: BOTTOM
_BOTTOM_UID = 1
Chain = tuple  # (advanced dotted rules, completed nonterminals, predicted nonterminals)


def id_mask(ids: Iterable[int]) -> int:
    """A set of small ids (nonterminals, terminals) as an int with bit ``a`` set for each id
    ``a``: unions and hashes of a few machine words, and an int is never tracked by the cyclic
    GC (a frozenset of the predicted nonterminals was, in every cached completion)."""
    mask = 0
    for a in ids:
        mask |= 1 << a
    return mask


def ids_in(mask: int) -> list[int]:
    """The ids of an ``id_mask``, ascending."""
    ids = []
    while mask:
        low = mask & -mask
        ids.append(low.bit_length() - 1)
        mask ^= low
    return ids


class Part:
    """The items a set predicts (origin uid 0, by awaited symbol), shared by every set that
    predicts the same nonterminals, with its completion chains (``completion_chain``) and the
    expected terminals of the sets built on it (``_new_set``), and the live sets built on it.

    ``interned[kind]`` maps a set's key to a weak reference to it (``EarleyGrammar.intern``):
    kind 0 and 1 hold sets by kernel (without / with the accepting flag), 2 and 3 frames by
    kernel dotted rules (``frame_named``). A key is then the kernel tuple itself: no key
    object per set for the cyclic GC to visit, and a shorter hash."""

    __slots__ = ("predicted", "own", "terminals", "chains", "expected", "interned")

    def __init__(self, predicted: int, own: dict[int, tuple[Item, ...]]) -> None:
        # the nonterminals it predicts (an ``id_mask``; its name across processes)
        self.predicted = predicted
        self.own = own
        self.terminals = frozenset(-s - 1 for s in own if s < 0)
        self.chains: dict[int, Chain] = {}
        # terminals awaited by a set's earlier items (an ``id_mask``) -> the set's expected
        # terminals (shared)
        self.expected: dict[int, frozenset[int]] = {}
        self.interned: tuple[dict[tuple[Item, ...], _KeyedRef], ...] = ({}, {}, {}, {})


_FRAMES = 2  # the first kind of ``Part.interned`` that holds frames


@cython.no_gc
@cython.cclass
class EarleySet:
    """Items waiting at one lexeme position: its predicted part (shared) and its items from
    earlier origins, each indexed by the symbol they await, and the terminals they await.
    Canonical (compare with ``is``) and never changed once built; ``context`` is where the
    compiler caches the set's lexer context.

    A set refers only to older sets (its origins, its frame), its part and its context, none
    of which refers to a set but by weak reference, so sets form no reference cycle: the
    compiled build leaves them out of the cyclic GC (``cython.no_gc``; a cold Go pass makes
    ~1,700, each one more object for every young collection to visit). A frame is its own
    frame: ``is_frame``, not a reference to itself."""

    __slots__ = ("accepting", "expected_terminals", "context", "frame", "is_frame", "part",
                 "kernel", "inherited", "origins", "uid", "base", "__weakref__")

    def __init__(self, accepting: bool, expected_terminals: frozenset[int]) -> None:
        self.accepting = accepting
        self.expected_terminals = expected_terminals
        self.context: ContextLexer | None = None  # its grammar's lexer for it (compiler)
        self.frame: EarleySet | None = None  # None until ``frame_of`` asks, or for a frame
        self.is_frame = False
        self.part: Part | None = None  # its predicted items (None only for BOTTOM)
        self.kernel: tuple[Item, ...] = ()  # its items with an earlier origin, sorted
        # the same, by awaited symbol: an item alone, or a tuple of them
        self.inherited: dict[int, Item | tuple[Item, ...]] = {}
        # the sets those items start in (kept alive): a set alone, or a tuple of them
        self.origins: EarleySet | tuple[EarleySet, ...] = ()
        self.uid = _BOTTOM_UID  # set by ``EarleyGrammar.intern``
        self.base = 0  # uid << the grammar's shift

    def waiting_rules(self, g: EarleyGrammar) -> frozenset[int]:
        """The dotted rules of every waiting item (its predicted ones and its kernel's)."""
        own = () if self.part is None else self.part.own.values()
        mask = g.rule_mask
        return frozenset([dr for group in own for dr in group]
                         + [item & mask for item in self.kernel])


BOTTOM = EarleySet(False, frozenset())  # the unknown sets below a frame (see frame_of)


# What a scan leads to: the next set; that set in a 1-tuple when an item with origin
# ``BOTTOM`` completed (a pop: then the set misses what the real origin would add, and is
# only a lower bound); None when no item takes the lexeme. One object, cached as it is (a
# (set, popped) pair was one more tuple per cached completion for the cyclic GC to visit).
Step = object


def step_set(step: Step) -> EarleySet | None:
    """The next set of a ``Step``, whether it popped or not."""
    return step[0] if type(step) is tuple else step


def initial_set(g: EarleyGrammar) -> EarleySet:
    """The Earley set before any lexeme."""
    return step_set(_closure(g, [], g.predicts[0], g.nullable[0]))


def scan(g: EarleyGrammar, last: EarleySet, terminals: frozenset[int]) -> EarleySet | None:
    """The next Earley set after a lexeme matching any of ``terminals``; None if none fits."""
    return step_set(scan_frame(g, last, terminals))


def scan_frame(g: EarleyGrammar, last: EarleySet, terminals: frozenset[int]) -> Step:
    """``scan`` as a ``Step``: also telling whether an item with origin ``BOTTOM``
    completed."""
    if last.part is None:  # BOTTOM
        return None
    own, inherited, base = last.part.own, last.inherited, last.base + 1
    seeds: list[Item] = []
    for t in terminals:
        seeds.extend([base + dr for dr in own.get(-(t + 1), ())])
        _add_advanced(seeds, inherited.get(-(t + 1)))
    if not seeds:
        return None
    if len(seeds) == 1:
        return _single_seed(g, seeds[0])
    return _closure(g, seeds)


def _single_seed(g: EarleyGrammar, item: Item) -> Step:
    """The closure of one scanned item. When it completes a nonterminal at an earlier set,
    the next set is a function of that completion alone (origin base | nonterminal), so it is
    cached per grammar with the cascades: the lexemes that complete the same nonterminal at
    the same set (a name, a string, a number as an operand) lead to one set, found without
    closing again. That set is the completion's cascade made a set (its items are already
    sorted and distinct), so it is built from the cascade directly."""
    dr = item & g.rule_mask
    base = item - dr
    if g.dr_next[dr] is not None or base == g.bottom_base:
        return _closure(g, [item])
    completion = base | g.dr_lhs[dr]
    found = g.completed_sets.get(completion)
    if found is None:
        cascade = _cascade_of(g, completion, base, 0)
        if cascade is None:  # cascades turned off: closed in line
            found = _closure(g, [item])
        else:
            found = _interned(g, cascade[0], cascade[1], cascade[CASCADE_ITEMS:])
            if cascade[2]:
                found = (found,)
        _remember(g.completed_sets, completion, found)
    return found


def _add_advanced(items: list[Item], waiting: Item | tuple[Item, ...] | None) -> None:
    """Add the items of a group of ``EarleySet.inherited`` (an item alone, a tuple of them,
    or None for no group) to ``items``, each advanced past the symbol it awaits."""
    if waiting is None:
        return
    if type(waiting) is int:
        items.append(waiting + 1)
    else:
        items.extend([item + 1 for item in waiting])


def frame_of(g: EarleyGrammar, s: EarleySet) -> EarleySet:
    """``s`` with its earlier origins replaced by ``BOTTOM`` (canonical; cached on ``s``)."""
    if s.frame is None:
        if s.is_frame:
            return s
        # the predicted part and the kernel's dotted rules determine the frame; a kernel is
        # sorted, so when its first and last items share their origin (most kernels) their
        # dotted rules are already sorted and distinct
        mask, shift, kernel = g.rule_mask, g.shift, s.kernel
        if kernel and kernel[0] >> shift == kernel[-1] >> shift:
            rules = tuple([item & mask for item in kernel])
        else:
            rules = tuple(sorted({item & mask for item in kernel}))
        s.frame = frame_named(g, s.part, s.accepting, rules)
    return s.frame


def frame_named(g: EarleyGrammar, part: Part, accepting: bool, rules: tuple[int, ...]
                ) -> EarleySet:
    """The frame with predicted part ``part``, accepting flag ``accepting`` and the kernel
    dotted rules ``rules`` (sorted), from ``BOTTOM`` (canonical). With ``part`` found by its
    predicted nonterminals, this names a frame across processes (``frame_table``)."""
    kind = _FRAMES + accepting
    found = g.interned_set(part, kind, rules)
    if found is None:
        bottom = g.bottom_base
        found = _new_set(g, part.interned[kind], rules, part, accepting,
                         tuple([bottom | r for r in rules]))
        found.is_frame = True
    return found


def _closure(g: EarleyGrammar, seeds: list[Item], predicted: int = 0,
             accepting: bool = False) -> Step:
    """Close ``seeds`` (items with an earlier origin) under completion, as a ``Step``; the
    items predicted here are a cached function of the predicted nonterminals
    (``predicted_part``)."""
    kernel, predicted, accepting, popped = _derive(g, seeds, predicted, accepting)
    found = _interned(g, predicted, accepting, _sorted_distinct(kernel))
    return (found,) if popped else found


def _interned(g: EarleyGrammar, predicted: int, accepting: bool, kernel: tuple[Item, ...]
              ) -> EarleySet:
    """The set predicting ``predicted`` with the items from earlier origins ``kernel``
    (sorted, distinct): these, and the accepting flag, determine it (uids are never reused,
    so a key naming a dropped set matches no live one)."""
    part = g.predicted_part(predicted)
    found = g.interned_set(part, accepting, kernel)
    if found is None:
        found = _new_set(g, part.interned[accepting], kernel, part, accepting, kernel)
    return found


def _sorted_distinct(items: list[Item]) -> tuple[Item, ...]:
    """``items`` sorted, without repeats (sorted in place; a kernel has a few dozen items at
    most, so one pass beats building a set)."""
    items.sort()
    previous = -1  # items are never negative
    for i in range(len(items)):
        current = items[i]  # a C integer in the compiled build: compared without objects
        if current == previous:  # a repeat: keep the items before, then the new ones
            distinct = items[:i]
            for item in items[i + 1:]:
                current = item
                if current != previous:
                    distinct.append(item)
                    previous = current
            return tuple(distinct)
        previous = current
    return tuple(items)


CASCADES_LIMIT = 1 << 16  # cached completions per grammar (forgotten all at once past it)
CASCADE_DEPTH = 64  # nested cascades computed at once; deeper completions are done in line


def _derive(g: EarleyGrammar, agenda: list[Item], predicted: int, accepting: bool,
            depth: int = 0) -> tuple[list[Item], int, bool, bool]:
    """What the items ``agenda`` (with earlier origins) put in the set being closed: its
    waiting items from earlier origins (duplicates allowed), the nonterminals predicted
    there (with ``predicted``), whether it accepts (or ``accepting``), and whether an item
    with origin ``BOTTOM`` completed. A completion at an earlier origin is ``_cascade``'s,
    ``depth`` cascades down; one not cached yet past ``CASCADE_DEPTH`` (right recursion
    nests origins as deep as the text is long) is done here, without recursion or caching."""
    popped = False
    # items met, and the completions applied as ~(origin base | nonterminal): one set, as
    # most agendas hold two or three items and making a set costs more than using it; made
    # only when something may come again: a completion with more items still to come (or
    # whose items come next, done in line), or a nullable symbol (most agendas are one
    # waiting item, often a completion). The items given are distinct, so an item met
    # before it was made is at worst done twice (its kernel entry is deduplicated by
    # ``_closure``)
    seen: set[int] | None = None
    kernel: list[Item] = []
    dr_next, dr_lhs, nullable, predicts = g.dr_next, g.dr_lhs, g.nullable, g.predicts
    mask, bottom = g.rule_mask, g.bottom_base
    while agenda:
        item = agenda.pop()
        if seen is not None:
            if item in seen:
                continue
            seen.add(item)
        dr = item & mask
        sym = dr_next[dr]
        if sym is None:
            base = item - dr
            if base == bottom:
                popped = True
                continue
            completion = base | dr_lhs[dr]
            if seen is not None:
                if ~completion in seen:
                    continue
                seen.add(~completion)
            elif agenda:
                seen = {item, ~completion}
            found = _cascade_of(g, completion, base, depth)
            if found is None:  # too deep to recurse: done here, uncached
                if seen is None:
                    seen = {item, ~completion}
                items, more, cascade_predicted, cascade_accepting = _completed_at(
                    g, completion, base)
                agenda.extend(more)
                kernel.extend(items)
                predicted |= cascade_predicted
                accepting = accepting or cascade_accepting
                continue
            kernel.extend(found[CASCADE_ITEMS:])
            predicted |= found[0]
            accepting = accepting or found[1]
            popped = popped or found[2]
            continue
        kernel.append(item)
        if sym >= 0:
            predicted |= predicts[sym]
            if nullable[sym]:  # a nonterminal completed here is nullable
                if seen is None:
                    seen = {item}
                agenda.append(item + 1)
    return kernel, predicted, accepting, popped


# (predicted nonterminals, accepting, popped, *waiting items sorted and distinct): _cascade.
# One flat tuple: the items in a tuple of their own were one more tracked object per cached
# completion (~1,900 per cold Go pass) for the cyclic GC.
Cascade = tuple
CASCADE_ITEMS = 3  # where a cascade's items begin


def _completed_at(g: EarleyGrammar, completion: int, base: int
                  ) -> tuple[list[Item], list[Item], int, bool]:
    """Completing a nonterminal at an earlier set (``completion`` = its base | nonterminal):
    that set's own items advanced past it, its items from earlier origins advanced (still to
    be closed), the nonterminals predicted, and whether ``$start`` completed."""
    origin = g.by_uid[base >> g.shift]()  # alive: the sets scanned from hold it
    lhs = completion - base
    advanced, completed, chain_predicted = (
        origin.part.chains.get(lhs) or g.completion_chain(origin.part, lhs))
    inherited = origin.inherited
    accepting = False
    agenda: list[Item] = []
    for b in completed:  # the origin's items from earlier origins waiting on them
        if b == 0:  # $start is on no right-hand side: only the initial set predicts it
            accepting = True
        _add_advanced(agenda, inherited.get(b))
    return [base | d for d in advanced], agenda, chain_predicted, accepting


def _cascade_of(g: EarleyGrammar, completion: int, base: int, depth: int) -> Cascade | None:
    """The cascade of ``completion`` (origin ``base``) for a closure ``depth`` cascades down:
    cached, else computed, unless that would nest deeper than ``CASCADE_DEPTH`` (None: the
    caller completes it in line)."""
    found = g.cascades.get(completion)
    if found is None and depth < CASCADE_DEPTH:
        found = _cascade(g, completion, base, depth + 1)
    return found


def _cascade(g: EarleyGrammar, completion: int, base: int, depth: int) -> Cascade:
    """What completing a nonterminal at an earlier set puts in the set being closed
    (``_derive``'s parts): that set's items advanced past it, and everything their own
    completions bring in turn, down to ``BOTTOM``. A function of (origin, nonterminal)
    alone, so cached per grammar by ``completion`` = origin base | nonterminal: every later
    position inside the same construct that completes it shares the climb (uids are never
    reused, so a dropped set's entries are never read again)."""
    own, agenda, chain_predicted, accepting = _completed_at(g, completion, base)
    kernel, predicted, accepting, popped = _derive(g, agenda, chain_predicted, accepting,
                                                   depth)
    found = (predicted, accepting, popped) + _sorted_distinct(kernel + own)
    _remember(g.cascades, completion, found)
    return found


def _remember(cache: dict, completion: int, found: Cascade | Step) -> None:
    """Keep ``found`` under ``completion`` in one of the per-grammar completion caches
    (``cascades``, ``completed_sets``), forgetting all of it first when it is full."""
    if len(cache) >= CASCADES_LIMIT:
        cache.clear()
    cache[completion] = found


def _new_set(g: EarleyGrammar, table: dict, key: tuple, part: Part, accepting: bool,
             kernel: tuple[Item, ...]) -> EarleySet:
    """Build the set of predicted part ``part`` and the items from earlier origins ``kernel``
    (distinct, sorted), indexed by awaited symbol, and intern it under ``key`` in ``table``.
    Keys and kernels are tuples of ints, which the cyclic GC stops tracking on its first
    visit (frozensets it traverses at every collection)."""
    dr_next, mask, shift, by_uid = g.dr_next, g.rule_mask, g.shift, g.by_uid
    # by awaited symbol, an item alone as itself, more as a tuple of ints: the cyclic GC
    # stops tracking tuples of ints (and then the dict) on its first visit, an int it never
    # tracks (most groups hold one item: a cold Go pass left ~9k one-item tuples for it)
    inherited: dict[int, Item | tuple[Item, ...]] = {}
    origins: list[EarleySet] = []
    waited = 0  # the terminals awaited (an ``id_mask``)
    previous = _BOTTOM_UID
    for item in kernel:  # sorted: the items of one origin are adjacent
        current = item  # a C integer in the compiled build (``item`` stays the object)
        sym = dr_next[current & mask]
        group = inherited.get(sym)
        if group is None:
            inherited[sym] = item
            if sym < 0:
                waited |= 1 << (-sym - 1)
        elif type(group) is int:
            inherited[sym] = (group, item)
        else:
            inherited[sym] = group + (item,)
        uid = current >> shift
        if uid != previous:
            previous = uid
            origins.append(by_uid[uid]())
    expected = part.expected.get(waited)
    if expected is None:  # per part: a union and a frozenset hash saved on most new sets
        expected = part.terminals.union(ids_in(waited))
        expected = part.expected[waited] = g._expected.setdefault(expected, expected)
    found = EarleySet(accepting, expected)
    found.part = part
    found.kernel = kernel
    found.inherited = inherited
    found.origins = origins[0] if len(origins) == 1 else tuple(origins)
    g.intern(table, key, found)
    return found
