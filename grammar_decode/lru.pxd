# Cython declarations for the compiled build of lru.py (see grammar_decode/accel.py): the
# memo becomes an extension type, its counters C integers. The .py file stays the truth.

cimport cython

cdef object _MISSING

cdef class LRU:
    cdef public Py_ssize_t budget, total
    cdef object _data, _lock, _acquire, _release, _lookup, _move_to_end
    cdef dict _costs
    cpdef object get(self, object key, object default=*)
    @cython.locals(costs=dict, total=Py_ssize_t)
    cpdef put(self, object key, object value, Py_ssize_t cost=*)
