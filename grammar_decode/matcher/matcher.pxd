# Cython declarations for the compiled build of matcher.py (see grammar_decode/accel.py): the
# token-set and judgment classes become extension types and the mask path's functions C
# functions. The .py file stays the truth and runs unchanged without a build.

cimport cython

# cimported under other names: the .py imports the Python-level names of the same types
from grammar_decode._accel.compiler cimport CompiledGrammar as CCompiledGrammar
from grammar_decode._accel.earley cimport EarleySet as CEarleySet
from grammar_decode._accel.remainders cimport Outcome as COutcome
from grammar_decode._accel.remainders cimport RemainderSet as CRemainderSet


cdef class _TokenSet:
    cdef public object packed
    cdef public list ids
    cdef public bint owned
    cpdef add(self, object packed, object ids, bint fresh=*)
    cpdef add_set(self, tuple other)
    cpdef add_filtered(self, tuple other, object keep)
    @cython.locals(parts=list, n_ids=Py_ssize_t)
    cpdef tuple freeze(self, Py_ssize_t size, bint apart=*)


cdef class _Judged:
    cdef public tuple tokens, pops
    cdef public Py_ssize_t nbytes


cdef class _Verdict:
    cdef public object rs, viable
    cdef public tuple tokens, content
    cdef public Py_ssize_t nbytes
    cpdef tuple tokens_of(self, object rs, tuple content, Py_ssize_t size)


cdef object _emit(CCompiledGrammar compiled, CEarleySet s, object ctx, Py_ssize_t q)
cdef object _restart(CCompiledGrammar compiled, CEarleySet s, object ctx, Py_ssize_t q, bytes data)
@cython.locals(q=Py_ssize_t, nq=Py_ssize_t)
cdef object _step(CCompiledGrammar compiled, tuple state, Py_ssize_t b)
@cython.locals(q=Py_ssize_t)
cdef bint _accepting(CCompiledGrammar compiled, tuple state) except -1
cdef object _contains(tuple tokens, object ids, Py_ssize_t size)
@cython.locals(i=Py_ssize_t, total=Py_ssize_t)
cdef Py_ssize_t _nbytes(tuple tokens) except -1
@cython.locals(found=tuple, s=CEarleySet)
cdef tuple _mask(CCompiledGrammar compiled, tuple state)
@cython.locals(allowed=_TokenSet, s=CEarleySet)
cdef tuple _compute_mask(CCompiledGrammar compiled, tuple state)
cdef tuple _judge_crossing(CCompiledGrammar compiled, CEarleySet s, object ctx, Py_ssize_t q,
                           object store, object masks)
@cython.locals(kept=dict, found=list)
cdef list _children_of(CCompiledGrammar compiled, object children)
@cython.locals(children=list)
cdef list _startable_children(CCompiledGrammar compiled, object ctx, object store, object masks)
@cython.locals(judged=_Judged, tokens=_TokenSet, pops=list, frame=CEarleySet, here=CEarleySet,
               below=tuple, i=Py_ssize_t, path=tuple)
cdef tuple _judge(CCompiledGrammar compiled, CEarleySet s, object key, object children,
                  _TokenSet into=*)
@cython.locals(judged=_Judged, known=_Verdict)
cdef _Judged _judge_frame(CCompiledGrammar compiled, CEarleySet frame, object key, tuple named,
                          object children)
cdef object _content_of(CCompiledGrammar compiled, object key)
cdef object _table_key(object key)
cpdef table_put(CCompiledGrammar compiled, tuple key, object kept)
@cython.locals(kept=_Verdict)
cdef _keep_verdict(CCompiledGrammar compiled, CEarleySet at, object rs, tuple content, tuple tokens)
@cython.locals(tokens=_TokenSet, pops=list)
cdef _Judged _walk(CCompiledGrammar compiled, CEarleySet frame, list children)
@cython.locals(outcome=COutcome, valid=object, rest=CRemainderSet, i=Py_ssize_t)
cdef _follow(CCompiledGrammar compiled, CEarleySet here, tuple path, frozenset emitted,
             CRemainderSet rs, _TokenSet tokens, list pops)
@cython.locals(steps=dict)
cdef object _lexeme_step(CCompiledGrammar compiled, CEarleySet s, frozenset emitted)
cdef object _next_set(object step)
cdef object _emit_set(CCompiledGrammar compiled, CEarleySet s, object ctx, frozenset emitted)
