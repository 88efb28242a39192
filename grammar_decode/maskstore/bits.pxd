# Cython declarations for the compiled build of bits.py (see grammar_decode/accel.py): the
# bit loops over raw buffers. The .py file stays the truth and runs without a build.

cimport cython


@cython.locals(i=Py_ssize_t, t=int)
cdef void _read_bits(const unsigned char* packed, Py_ssize_t n_packed, const int* ids,
                     Py_ssize_t n, unsigned char* found) except *
@cython.locals(i=Py_ssize_t, t=int)
cdef void _write_bits(unsigned char* packed, Py_ssize_t n_packed, const int* ids,
                      Py_ssize_t n) except *


# Raw access to small id arrays through numpy's array struct (fields only: no numpy C-API
# table is needed). Memory views cost ~2k instructions each to acquire; these cost a few.
from libc.string cimport memcpy

cdef extern from "numpy/arrayobject.h":
    ctypedef struct PyArrayObject:
        pass
    char* PyArray_BYTES(PyArrayObject*)
    int PyArray_NDIM(PyArrayObject*)
    Py_ssize_t* PyArray_DIMS(PyArrayObject*)
    int PyArray_TYPE(PyArrayObject*)
    int PyArray_FLAGS(PyArrayObject*)
    int NPY_INT32, NPY_BOOL, NPY_UINT8, NPY_ARRAY_C_CONTIGUOUS
    ctypedef class numpy.ndarray [object PyArrayObject, check_size ignore]:
        pass


cdef inline Py_ssize_t _typed_length(object array, int dtype):
    """Length of ``array`` if it is a 1-D contiguous ndarray of ``dtype``, else -1."""
    cdef PyArrayObject* a
    if type(array) is not ndarray:
        return -1
    a = <PyArrayObject*>array
    if (PyArray_NDIM(a) != 1 or PyArray_TYPE(a) != dtype
            or not (PyArray_FLAGS(a) & NPY_ARRAY_C_CONTIGUOUS)):
        return -1
    return PyArray_DIMS(a)[0]


cdef inline Py_ssize_t _int32_bytes(object array):
    """Bytes of a 1-D contiguous int32 array, else -1."""
    cdef Py_ssize_t n = _typed_length(array, NPY_INT32)
    return -1 if n < 0 else 4 * n


cdef inline Py_ssize_t _bool_length(object array):
    """Length of a 1-D contiguous bool array, else -1."""
    return _typed_length(array, NPY_BOOL)


cdef inline Py_ssize_t _uint8_length(object array):
    """Length of a 1-D contiguous uint8 array, else -1."""
    return _typed_length(array, NPY_UINT8)


cdef inline unsigned char* _bytes_of(object array):
    """The buffer of an array checked by ``_uint8_length`` (or made here)."""
    return <unsigned char*>PyArray_BYTES(<PyArrayObject*>array)


cdef inline const int* _ints_of(object array):
    """The buffer of an array checked by ``_int32_bytes``."""
    return <const int*>PyArray_BYTES(<PyArrayObject*>array)


cdef inline Py_ssize_t _copy_into(object out, Py_ssize_t at, object part):
    """Copy the int32 array ``part`` into ``out`` at byte ``at``; the next free byte."""
    cdef Py_ssize_t n = 4 * PyArray_DIMS(<PyArrayObject*>part)[0]
    memcpy(PyArray_BYTES(<PyArrayObject*>out) + at, PyArray_BYTES(<PyArrayObject*>part), n)
    return at + n


cdef inline Py_ssize_t _selected(object ids, object keep, object index, object out):
    """Count (``out`` None) or copy into ``out`` the ids whose class is kept."""
    cdef const int* i_ids = <const int*>PyArray_BYTES(<PyArrayObject*>ids)
    cdef const int* i_index = <const int*>PyArray_BYTES(<PyArrayObject*>index)
    cdef const char* kept = PyArray_BYTES(<PyArrayObject*>keep)
    cdef Py_ssize_t n_keep = PyArray_DIMS(<PyArrayObject*>keep)[0]
    cdef Py_ssize_t n = PyArray_DIMS(<PyArrayObject*>ids)[0], i, k = 0, c
    cdef int* o = NULL if out is None else <int*>PyArray_BYTES(<PyArrayObject*>out)
    for i in range(n):
        c = i_index[i]
        if c < 0 or c >= n_keep:
            raise IndexError(f"class {c} out of range of {n_keep} kept flags")
        if kept[c]:
            if o != NULL:
                o[k] = i_ids[i]
            k += 1
    return k


@cython.locals(total=Py_ssize_t, size=Py_ssize_t, at=Py_ssize_t)
cdef object _concat_int32(object parts)
