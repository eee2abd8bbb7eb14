# cython: language_level=3
"""What the PRS kernels share: the LD value and index types and the neighbour update
q[:n] += d[:n] * step (vectorised C from ``_axpy.h``, chosen for the CPU at load time)."""

cdef extern from "_axpy.h" nogil:
    void vibank_axpy_i8_f32(float* q, const signed char* d, Py_ssize_t n, float step)
    void vibank_axpy_i16_f32(float* q, const short* d, Py_ssize_t n, float step)
    void vibank_axpy_f32_f32(float* q, const float* d, Py_ssize_t n, float step)
    void vibank_axpy_f64_f32(float* q, const double* d, Py_ssize_t n, float step)
    void vibank_axpy_i8_f64(double* q, const signed char* d, Py_ssize_t n, double step)
    void vibank_axpy_i16_f64(double* q, const short* d, Py_ssize_t n, double step)
    void vibank_axpy_f32_f64(double* q, const float* d, Py_ssize_t n, double step)
    void vibank_axpy_f64_f64(double* q, const double* d, Py_ssize_t n, double step)

ctypedef signed char int8

ctypedef fused ld_t:
    int8
    short
    float
    double

ctypedef fused index_t:
    int
    long long

ctypedef fused floating:
    float
    double


cdef inline void axpy(floating* q, const ld_t* d, Py_ssize_t n, floating step) noexcept nogil:
    """q[:n] += d[:n] * step."""
    if floating is float:
        if ld_t is int8:
            vibank_axpy_i8_f32(q, d, n, step)
        elif ld_t is short:
            vibank_axpy_i16_f32(q, d, n, step)
        elif ld_t is float:
            vibank_axpy_f32_f32(q, d, n, step)
        else:
            vibank_axpy_f64_f32(q, d, n, step)
    else:
        if ld_t is int8:
            vibank_axpy_i8_f64(q, d, n, step)
        elif ld_t is short:
            vibank_axpy_i16_f64(q, d, n, step)
        elif ld_t is float:
            vibank_axpy_f32_f64(q, d, n, step)
        else:
            vibank_axpy_f64_f64(q, d, n, step)
