# Cython declarations for the compiled build of remainders.py (see grammar_decode/accel.py):
# remainder sets and their outcomes become extension types, so the matcher (which cimports
# them) reads outcomes and calls the cached lookups at C level. The .py file stays the truth.

cdef class RemainderSet:
    cdef public object tokens, offsets, _content, _key
    cdef public dict _outcomes, _startable, _settled
    cpdef bytes pairs_key(self)
    cpdef tuple content(self, object vocab)
    cpdef Outcome outcome(self, object lexer, object vocab, object next_bytes)
    cpdef tuple settled(self, object lexer, object vocab, object next_bytes)
    cpdef object startable(self, Openings after, object vocab)


cdef class Outcome:
    cdef public object valid, packed
    cdef public list children


cdef class Openings:
    cdef public object uid, table
