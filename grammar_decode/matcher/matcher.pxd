# Cython declarations for the compiled build of matcher.py (see grammar_decode/accel.py): the
# token-set and judgment classes become extension types and the mask path's functions C
# functions. The .py file stays the truth and runs unchanged without a build.

cimport cython


cdef class _TokenSet:
    cdef public object packed
    cdef public tuple ids
    cdef public bint owned
    cpdef add(self, object packed, object ids, bint fresh=*)
    cpdef add_set(self, tuple other)
    cpdef add_filtered(self, tuple other, object keep)
    cpdef tuple freeze(self, Py_ssize_t size, bint apart=*)


cdef class _Judged:
    cdef public tuple tokens, pops
    cdef public Py_ssize_t nbytes


cdef class _Verdict:
    cdef public object rs, viable
    cdef public tuple tokens, content
    cpdef tuple tokens_of(self, object rs, tuple content)


cdef object _emit(object compiled, object s, object ctx, Py_ssize_t q)
cdef object _restart(object compiled, object s, object ctx, Py_ssize_t q, bytes data)
@cython.locals(q=Py_ssize_t, nq=Py_ssize_t)
cdef object _step(object compiled, tuple state, Py_ssize_t b)
@cython.locals(q=Py_ssize_t)
cdef bint _accepting(object compiled, tuple state) except -1
cdef object _contains(tuple tokens, object ids)
cdef Py_ssize_t _nbytes(tuple tokens) except -1
@cython.locals(key=tuple, found=tuple)
cdef tuple _mask(object compiled, tuple state)
@cython.locals(allowed=_TokenSet)
cdef tuple _compute_mask(object compiled, tuple state)
cdef tuple _judge_crossing(object compiled, object s, object ctx, Py_ssize_t q, object store,
                           object masks)
@cython.locals(kept=dict, found=list)
cdef list _children_of(object compiled, object children)
@cython.locals(children=list)
cdef list _startable_children(object compiled, object ctx, object store, object masks)
@cython.locals(judged=_Judged, tokens=_TokenSet, pops=list)
cdef tuple _judge(object compiled, object s, object key, object children)
@cython.locals(judged=_Judged, known=_Verdict)
cdef _Judged _judge_frame(object compiled, object frame, object key, object children)
cdef object _content_of(object compiled, object key)
@cython.locals(kept=_Verdict)
cdef _keep_verdict(object compiled, object at, object rs, tuple content, tuple tokens)
@cython.locals(tokens=_TokenSet, pops=list)
cdef _Judged _walk(object compiled, object frame, list children)
cdef _follow(object compiled, object here, tuple path, frozenset emitted, object rs,
             _TokenSet tokens, list pops)
@cython.locals(steps=dict, lexemes=dict, key=tuple)
cdef tuple _lexeme_step(object compiled, object s, frozenset emitted)
cdef object _emit_set(object compiled, object s, object ctx, frozenset emitted)
