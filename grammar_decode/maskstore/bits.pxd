# Cython declarations for the compiled build of bits.py (see grammar_decode/accel.py): the
# bit loops over typed memory views. The .py file stays the truth and runs without a build.

cimport cython


@cython.locals(i=Py_ssize_t)
cdef void _read_bits(const unsigned char[::1] packed, const int[::1] ids,
                     unsigned char[::1] found) except *
@cython.locals(i=Py_ssize_t)
cdef void _write_bits(unsigned char[::1] packed, const int[::1] ids) except *
