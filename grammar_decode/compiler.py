"""compile_grammar: grammar text + tokenizer -> CompiledGrammar (terminal DFAs, parser tables,
contextual lexers and their token mask stores, cached in memory and on disk)."""

from __future__ import annotations

import atexit
import hashlib
import pickle
import threading
import time
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any

from grammar_decode.cache import cache_dir, read_checked, write_checked
from grammar_decode.errors import GrammarCompileError
from grammar_decode.grammar.factor import factor_grammar
from grammar_decode.grammar.follow import follow_terminals
from grammar_decode.grammar.ir import Grammar
from grammar_decode.grammar.lark_loader import load_grammar
from grammar_decode.grammar.prune import prune
from grammar_decode.lru import LRU
from grammar_decode.maskstore.remainders import Openings, terminal_openings
from grammar_decode.maskstore.store import ContextStore
from grammar_decode.matcher.earley import EarleyGrammar, EarleySet, initial_set
from grammar_decode.matcher.lexer import ContextLexer, LexTerminal
from grammar_decode.terminals.byte_dfa import ByteDFA
from grammar_decode.terminals.regex_dfa import compile_regex

CONFLICT_MODES = ("priority", "all")

# Mask stores depend only on (lexer content, vocabulary): shared by every grammar in a process.
_STORE_MEMORY: OrderedDict[str, ContextStore] = OrderedDict()
_STORE_MEMORY_LIMIT = 512  # stores are ~0.1-5 MB each at 151k tokens
_STORE_MEMORY_BYTES = 1 << 30  # and at most this much of them (they grow as states are built)
_STORE_LOCK = threading.Lock()
_DIRTY: weakref.WeakSet[ContextStore] = weakref.WeakSet()
STORE_FORMAT = 4  # part of every store's cache key: bump when ContextStore's content changes
# Per grammar: token sets of matcher states already seen (~19 KB each at 151k tokens).
MASK_MEMO_BYTES = 32 << 20
FRAME_MEMO_BYTES = 16 << 20
VERDICT_MEMO_BYTES = 16 << 20
MAX_OPENING_TERMINALS = 256  # see CompiledGrammar.next_bytes


def flush_mask_stores() -> int:
    """Write every mask store that gained states since it was loaded; returns how many."""
    written = 0
    for store in list(_DIRTY):
        if store.dirty and store.path is not None:
            payload = store.to_bytes()
            try:
                write_checked(store.path, payload)
            except OSError:
                continue  # a read-only cache folder only costs speed
            store.dirty = False
            written += 1
    return written


atexit.register(flush_mask_stores)


def _trim_store_memory() -> None:
    """Forget the least recently used stores past the count or byte limit (grammars that
    still use one keep it; it is only no longer shared). Call with ``_STORE_LOCK`` held."""
    while len(_STORE_MEMORY) > _STORE_MEMORY_LIMIT:
        _STORE_MEMORY.popitem(last=False)
    total = sum(store.nbytes() for store in _STORE_MEMORY.values())
    while total > _STORE_MEMORY_BYTES and len(_STORE_MEMORY) > 1:
        total -= _STORE_MEMORY.popitem(last=False)[1].nbytes()


def _as_vocabulary(tokenizer_or_vocab: Any):
    """A TokenVocabulary (or any object with its interface) for a tokenizer, cached on it."""
    if hasattr(tokenizer_or_vocab, "token_bytes") and hasattr(tokenizer_or_vocab, "byte_matrix"):
        return tokenizer_or_vocab
    from grammar_decode.vocab.vocabulary import TokenVocabulary

    cached = getattr(tokenizer_or_vocab, "_grammar_decode_vocab", None)
    if cached is not None:
        return cached
    vocab = TokenVocabulary.from_tokenizer(tokenizer_or_vocab)
    try:
        tokenizer_or_vocab._grammar_decode_vocab = vocab
    except AttributeError:
        pass
    return vocab


class CompiledGrammar:
    """A grammar bound to a vocabulary: everything the matcher needs, built once."""

    def __init__(self, grammar: Grammar, vocab: Any, *, terminal_conflicts: str = "priority",
                 cache: Path | str | None | bool = None) -> None:
        if terminal_conflicts not in CONFLICT_MODES:
            raise ValueError(f"terminal_conflicts must be one of {CONFLICT_MODES}")
        self.vocab = vocab
        self.vocab_size = int(vocab.size)  # read at every token-set merge: a plain attribute
        self.terminal_conflicts = terminal_conflicts
        self.schema_issues: list = []
        if cache is False:
            self._cache_path: Path | None = None
        else:
            self._cache_path = Path(cache) if cache else cache_dir("maskstore")
        started = time.perf_counter()
        dfas = self._compile_terminals(grammar)
        # the pruned grammar: alternatives that can never complete are gone
        self.grammar = grammar = prune(
            grammar, {name for name, dfa in dfas.items() if dfa.n_states == 0})
        self.terminals = [
            LexTerminal(i, spec.name, dfas[spec.name], spec.priority, spec.is_literal,
                        spec.ignored)
            for i, spec in enumerate(sorted(grammar.terminals.values(), key=lambda t: t.name))]
        self.terminal_ids = {t.name: t.id for t in self.terminals}
        self.ignored_ids = frozenset(t.id for t in self.terminals if t.ignored)
        self._follow: dict[str, frozenset[str]] | None = None  # see next_bytes
        self._openings: dict[frozenset[int], Openings] = {}
        self._terminal_openings: dict[int, tuple] = {}  # terminal id -> its part of a table
        self.earley = EarleyGrammar(factor_grammar(grammar), self.terminal_ids)
        self.initial_set = initial_set(self.earley)
        self._contexts: dict[frozenset[int], ContextLexer] = {}
        # the same by expected terminals alone: Earley sets share those frozensets, whose
        # hash is then computed once (a union with the ignored ones per call cost ~6k
        # instructions)
        self._lexer_of_expected: dict[frozenset[int], ContextLexer] = {}
        self._lexemes: dict[frozenset[int], frozenset[int]] = {}  # shared by the contexts
        self._ignored_lexer: ContextLexer | None = None  # see ignored_lexer
        self._lock = threading.Lock()
        # (Earley set uid, lexer state, backtrack point) -> allowed token set; see matcher._mask
        self.mask_memo = LRU(MASK_MEMO_BYTES)
        # emitted terminal set -> {Earley set uid: next set}; see matcher._lexeme_step
        self.lexeme_steps: dict[frozenset[int], dict[int, Any]] = {}
        self.lexeme_step_count = 0  # entries in those dicts
        # (lexer context, state) -> its crossing groups (parse-independent, like the stores);
        # see matcher._children_of
        self.crossing_children: dict[tuple, list] = {}
        self.frame_memo = LRU(FRAME_MEMO_BYTES)  # (frame, key) -> judged tokens; matcher._judge
        # the same, precomputed by warm() (kept by clear_parse_caches; bounded by warm)
        self.frame_table: dict[tuple, Any] = {}
        self.frame_table_bytes = 0
        # (Earley set uid, digest of remainder strings) -> matcher._Verdict; see matcher._judge
        self.verdicts = LRU(VERDICT_MEMO_BYTES)
        self.precomputing = False
        self.eos_token_ids = frozenset(vocab.eos_token_ids)
        # ``next_bytes`` bound once: the matcher passes it with every remainder outcome it reads
        # (binding it there made a method object per branch, ~90k per cold Go pass)
        self.next_bytes_of = self.next_bytes
        self.compile_seconds = time.perf_counter() - started

    @staticmethod
    def _compile_terminals(grammar: Grammar) -> dict[str, ByteDFA]:
        """Byte DFAs of every terminal (an empty DFA marks a terminal that matches nothing)."""
        out = {}
        for spec in grammar.terminals.values():
            try:
                dfa = compile_regex(spec.regex)
            except GrammarCompileError as exc:
                raise GrammarCompileError(f"terminal {spec.name}: {exc}") from exc
            if dfa.matches_empty():
                raise GrammarCompileError(
                    f"terminal {spec.name} matches the empty string: /{spec.regex}/")
            out[spec.name] = dfa
        return out

    def next_bytes(self, emitted: frozenset[int]) -> Openings:
        """How a lexeme right after a lexeme of the terminals ``emitted`` may begin, whatever
        the parse so far: a terminal that can follow one of them in the grammar (FOLLOW
        sets, computed on first use) or an ignored one; any terminal after an ignored
        lexeme. A token that ends such a lexeme and goes on otherwise is never viable, so
        the matcher drops it before any parser step. Past ``MAX_OPENING_TERMINALS`` possible
        terminals nothing is dropped (schema grammars have thousands of terminals). Cached
        per emitted set, and each terminal's part per terminal."""
        found = self._openings.get(emitted)
        if found is None:
            real = emitted - self.ignored_ids
            if real:
                if self._follow is None:
                    self._follow = follow_terminals(self.grammar)
                names = set().union(*[self._follow[self.terminals[t].name] for t in real])
                followers = {self.terminal_ids[n] for n in names} | self.ignored_ids
            else:
                followers = set(range(len(self.terminals)))
            if len(followers) > MAX_OPENING_TERMINALS:
                found = Openings(None)
            else:
                parts = self._terminal_openings
                for i in followers - parts.keys():
                    parts[i] = terminal_openings(self.terminals[i].dfa)
                found = Openings.union([parts[i] for i in sorted(followers)])
            self._openings[emitted] = found
        return found

    def context_for(self, earley_set: EarleySet) -> ContextLexer:
        """The contextual lexer for the terminals the parser can take after ``earley_set``."""
        lexer = earley_set.context  # the set is this grammar's (its EarleyGrammar is)
        if lexer is None:
            lexer = earley_set.context = self.lexer_for(earley_set.expected_terminals)
        return lexer

    @property
    def ignored_lexer(self) -> ContextLexer:
        """The lexer of the ignored terminals alone (built on first use)."""
        if self._ignored_lexer is None:
            self._ignored_lexer = self.lexer_for(frozenset())
        return self._ignored_lexer

    def lexer_for(self, expected: frozenset[int]) -> ContextLexer:
        """The contextual lexer of the terminals ``expected`` and the ignored ones (shared)."""
        lexer = self._lexer_of_expected.get(expected)
        if lexer is None:
            key = expected | self.ignored_ids
            with self._lock:
                lexer = self._contexts.get(key)
                if lexer is None:
                    lexer = ContextLexer([self.terminals[i] for i in sorted(key)],
                                         self.terminal_conflicts, self._lexemes)
                    self._contexts[key] = lexer
            self._lexer_of_expected[expected] = lexer
        return lexer

    def store_for(self, lexer: ContextLexer) -> ContextStore:
        """The token mask store of a context (memory, then disk cache, then built)."""
        store = getattr(lexer, "_store", None)
        if store is not None and store[0] is self.vocab:
            return store[1]
        key = hashlib.sha256(pickle.dumps((STORE_FORMAT, self.vocab.content_hash,
                                           lexer.cache_key()))).hexdigest()
        with _STORE_LOCK:
            result = _STORE_MEMORY.get(key)
            if result is not None:
                _STORE_MEMORY.move_to_end(key)
        if result is None:
            result = self._load_or_build(key, lexer)
            with _STORE_LOCK:
                _STORE_MEMORY[key] = result
                _trim_store_memory()
        elif result.path is None and self._cache_path is not None:
            # built in memory for a grammar without disk cache: persist it for this one
            result.path = self.cache_file(f"{key}.store")
            result.dirty = bool(result.states)
            _DIRTY.add(result)
        lexer._store = (self.vocab, result)
        return result

    def _load_or_build(self, key: str, lexer: ContextLexer) -> ContextStore:
        path = self.cache_file(f"{key}.store")
        if path is not None and path.exists():
            store = read_checked(path, ContextStore.from_bytes)
            if store is not None and store.n_states == lexer.n_states:
                store.path = path
                return store
        store = ContextStore(lexer.n_states, lexer.emit_positions)
        store.path = path
        _DIRTY.add(store)
        return store

    def cache_file(self, name: str) -> Path | None:
        """Where a disk-cache file of this vocabulary is kept (None without a disk cache)."""
        if self._cache_path is None:
            return None
        return self._cache_path / self.vocab.content_hash[:16] / name

    def forget_lexeme_steps(self) -> None:
        """Empty the lexeme-step cache (``matcher._lexeme_step``) and its entry count."""
        self.lexeme_steps.clear()
        self.lexeme_step_count = 0

    def clear_parse_caches(self) -> None:
        """Forget memoised masks, lexeme steps, cached completions and judgments (mask stores
        and warm()'s frame table are kept)."""
        self.mask_memo.clear()
        self.forget_lexeme_steps()
        self.earley.clear_caches()
        self.frame_memo.clear()
        self.verdicts.clear()

    def warm(self, max_contexts: int = 256, seconds: float = 5.0,
             frame_seconds: float = 15.0) -> int:
        """Build mask stores ahead of use within about ``seconds``: the start state of the
        contexts reachable in a few lexemes, then the lexer states one token leads to from
        there; then, within ``frame_seconds``, the parse-dependent part of those states'
        masks for one parse state per core (``matcher.explore_contexts``); then write the
        disk cache. Returns the number of contexts visited.

        The frame judgments (``frame_table``) are read from the disk cache first, when an
        earlier process kept them for this grammar and vocabulary, and written back when
        this call added to them (``matcher.frame_table``), so only the first process pays
        for them; ``frame_seconds=0`` judges none (a table on disk is still read). The
        default is ample: the shipped Go grammar's plan, the longest, takes ~5 s at Qwen2.5
        on this machine, and stopping it at 3 s left Go's cold-pass p99 at 1.1-1.3 ms instead
        of 0.75-1.0 ms; the other shipped grammars finish theirs within 3 s."""
        from grammar_decode.matcher import frame_table
        from grammar_decode.matcher.matcher import explore_contexts

        path = frame_table.table_path(self)
        if path is not None and not self.frame_table:
            frame_table.load(self, path)
        entries = len(self.frame_table)
        n = explore_contexts(self, max_contexts, seconds, frame_seconds)
        if path is not None and len(self.frame_table) != entries:
            try:
                frame_table.save(self, path)
            except OSError:
                pass  # a read-only cache folder only costs speed
        flush_mask_stores()
        return n

    def stats(self) -> dict[str, Any]:
        """Sizes for reports: terminals, rules, contexts built, store bytes."""
        stores = [getattr(c, "_store", (None, None))[1] for c in self._contexts.values()]
        stores = [s for s in stores if s is not None]
        return {
            "terminals": len(self.terminals),
            "rules": sum(len(v) for v in self.grammar.rules.values()),
            "contexts": len(self._contexts),
            "stores_built": len(stores),
            "store_bytes": sum(s.nbytes() for s in stores),
            "frame_table_entries": len(self.frame_table),
            "frame_table_bytes": self.frame_table_bytes,
            "lexer_states": sum(c.n_states for c in self._contexts.values()),
        }


def compile_grammar(grammar: str | Path | Grammar, tokenizer_or_vocab: Any, *,
                    start: str = "start", terminal_conflicts: str = "priority",
                    cache_dir: Path | str | None | bool = None) -> CompiledGrammar:
    """Compile Lark/GBNF grammar text (or a file path, or a Grammar) for a tokenizer.

    ``terminal_conflicts="priority"`` follows Lark's lexer (longest match, then priority, then
    string literals over patterns); ``"all"`` keeps every terminal matching the longest lexeme
    and lets the Earley parser try each. ``cache_dir=False`` disables the disk cache.
    """
    ir = grammar if isinstance(grammar, Grammar) else load_grammar(grammar, start=start)
    vocab = _as_vocabulary(tokenizer_or_vocab)
    return CompiledGrammar(ir, vocab, terminal_conflicts=terminal_conflicts, cache=cache_dir)
