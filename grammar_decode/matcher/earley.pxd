# Cython declarations for the compiled build of earley.py (see grammar_decode/accel.py): the
# recogniser's classes become extension types and its internal functions C functions, so
# attribute reads and calls inside the closure skip Python's lookups. The .py file stays
# the truth and runs unchanged without a build.

cimport cython

cdef class EarleyGrammar:
    cdef public dict terminal_ids, nt_ids, _predicted_parts, _expected, by_uid
    cdef public dict cascades, completed_sets
    cpdef clear_caches(self)
    cdef public list rule_offset, dr_next, dr_lhs, predict, nullable, own_items, predicts
    cdef public Py_ssize_t n_nonterminals, shift, rule_mask, bottom_base
    cdef public object _uids, _forget
    cpdef Part predicted_part(self, object predicted)
    cpdef tuple completion_chain(self, Part part, Py_ssize_t lhs)
    cpdef intern(self, dict table, tuple key, EarleySet found)
    cpdef object interned_set(self, Part part, Py_ssize_t kind, tuple key)


cdef class Part:
    cdef public object predicted
    cdef public dict own, chains, expected
    cdef public frozenset terminals
    cdef public tuple interned


cdef class EarleySet:
    cdef public bint accepting, is_frame
    cdef public frozenset expected_terminals
    cdef public object context
    cdef public EarleySet frame
    cdef public Part part
    cdef public tuple kernel
    cdef public object origins
    cdef public dict inherited
    cdef public object uid, base
    cdef object __weakref__


@cython.locals(own=dict, inherited=dict, seeds=list, t=object)
cpdef object scan_frame(EarleyGrammar g, EarleySet last, frozenset terminals)
cdef _add_advanced(list items, object waiting)
@cython.locals(dr=Py_ssize_t, cascade=tuple, accepting=bint)
cdef object _single_seed(EarleyGrammar g, object item)
@cython.locals(kernel=tuple, rules=tuple)
cpdef EarleySet frame_of(EarleyGrammar g, EarleySet s)
@cython.locals(found=EarleySet, kind=Py_ssize_t)
cpdef EarleySet frame_named(EarleyGrammar g, Part part, bint accepting, tuple rules)
@cython.locals(kernel=list)
cpdef object _closure(EarleyGrammar g, list seeds, object predicted=*, bint accepting=*)
@cython.locals(part=Part, found=EarleySet)
cdef EarleySet _interned(EarleyGrammar g, object predicted, bint accepting, tuple kernel)
@cython.locals(distinct=list, previous=cython.longlong, current=cython.longlong,
               i=Py_ssize_t)
cdef tuple _sorted_distinct(list items)
@cython.locals(popped=bint, seen=set, kernel=list, dr_next=list,
               dr_lhs=list, nullable=list, predicts=list, found=tuple,
               items=object, more=list, cascade_popped=bint, cascade_accepting=bint)
cdef tuple _derive(EarleyGrammar g, list agenda, object predicted, bint accepting,
                   Py_ssize_t depth=*)
@cython.locals(origin=EarleySet, inherited=dict, agenda=list, accepting=bint)
cdef tuple _completed_at(EarleyGrammar g, object completion, object base)
@cython.locals(found=tuple)
cdef tuple _cascade_of(EarleyGrammar g, object completion, object base, Py_ssize_t depth)
@cython.locals(own=list, agenda=list, kernel=list, found=tuple)
cpdef tuple _cascade(EarleyGrammar g, object completion, object base, Py_ssize_t depth)
cdef _remember(dict cache, object completion, object found)
@cython.locals(dr_next=list, by_uid=dict, inherited=dict, expected=frozenset,
               found=EarleySet, origins=list, current=cython.longlong,
               uid=cython.longlong, previous=cython.longlong, mask=Py_ssize_t, shift=Py_ssize_t)
cdef EarleySet _new_set(EarleyGrammar g, dict table, tuple key, Part part, bint accepting,
                        tuple kernel)
