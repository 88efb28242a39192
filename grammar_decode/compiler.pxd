# Cython declarations for the compiled build of compiler.py (see grammar_decode/accel.py):
# CompiledGrammar becomes an extension type, so the matcher (which cimports it) reads its
# memos and calls its per-set methods at C level. The .py file stays the truth.

# cimported under other names: the .py imports the Python-level names of the same types
from grammar_decode._accel.earley cimport EarleyGrammar as CEarleyGrammar
from grammar_decode._accel.earley cimport EarleySet as CEarleySet
from grammar_decode._accel.lru cimport LRU as CLRU


cdef class CompiledGrammar:
    cdef public object vocab, grammar, schema_issues, _cache_path, _follow, _ignored_lexer
    cdef public object _lock, next_bytes_of
    cdef public Py_ssize_t vocab_size, frame_table_bytes, lexeme_step_count
    cdef public str terminal_conflicts
    cdef public list terminals
    cdef public dict terminal_ids, _openings, _terminal_openings, _contexts, _lexemes
    cdef public dict _lexer_of_expected
    cdef public dict lexeme_steps
    cdef public dict crossing_children, frame_table
    cdef public frozenset ignored_ids, eos_token_ids
    cdef public CEarleyGrammar earley
    cdef public CEarleySet initial_set
    cdef public CLRU mask_memo, frame_memo, verdicts
    cdef public bint precomputing
    cdef public double compile_seconds
    cpdef forget_lexeme_steps(self)
    cpdef object context_for(self, CEarleySet earley_set)
    cpdef object lexer_for(self, frozenset expected)
    cpdef object store_for(self, object lexer)
