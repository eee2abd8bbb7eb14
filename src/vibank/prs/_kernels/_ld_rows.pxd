# cython: language_level=3
"""What the PRS kernels share: the LD value and index types, the neighbour update
q[:n] += d[:n] * step and the row dot d[:n] . x[:n] (vectorised C from ``_axpy.h``, chosen for
the CPU at load time), and the row apply q_k += R_kj step over the neighbours k of j for both layouts of ``vibank.ld.LDRows``
(band rows: one axpy; CSR rows: a scatter)."""

cdef extern from "_axpy.h" nogil:
    void vibank_axpy_i8_f32(float* q, const signed char* d, Py_ssize_t n, float step)
    void vibank_axpy_i16_f32(float* q, const short* d, Py_ssize_t n, float step)
    void vibank_axpy_f32_f32(float* q, const float* d, Py_ssize_t n, float step)
    void vibank_axpy_f64_f32(float* q, const double* d, Py_ssize_t n, float step)
    void vibank_axpy_i8_f64(double* q, const signed char* d, Py_ssize_t n, double step)
    void vibank_axpy_i16_f64(double* q, const short* d, Py_ssize_t n, double step)
    void vibank_axpy_f32_f64(double* q, const float* d, Py_ssize_t n, double step)
    void vibank_axpy_f64_f64(double* q, const double* d, Py_ssize_t n, double step)
    float vibank_dot_i8_f32(const signed char* d, const float* x, Py_ssize_t n)
    float vibank_dot_i16_f32(const short* d, const float* x, Py_ssize_t n)
    float vibank_dot_f32_f32(const float* d, const float* x, Py_ssize_t n)
    float vibank_dot_f64_f32(const double* d, const float* x, Py_ssize_t n)
    double vibank_dot_i8_f64(const signed char* d, const double* x, Py_ssize_t n)
    double vibank_dot_i16_f64(const short* d, const double* x, Py_ssize_t n)
    double vibank_dot_f32_f64(const float* d, const double* x, Py_ssize_t n)
    double vibank_dot_f64_f64(const double* d, const double* x, Py_ssize_t n)

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


cdef inline double dot(const ld_t* d, const floating* x, Py_ssize_t n) noexcept nogil:
    """d[:n] . x[:n], summed in the precision of x."""
    if floating is float:
        if ld_t is int8:
            return vibank_dot_i8_f32(d, x, n)
        elif ld_t is short:
            return vibank_dot_i16_f32(d, x, n)
        elif ld_t is float:
            return vibank_dot_f32_f32(d, x, n)
        else:
            return vibank_dot_f64_f32(d, x, n)
    else:
        if ld_t is int8:
            return vibank_dot_i8_f64(d, x, n)
        elif ld_t is short:
            return vibank_dot_i16_f64(d, x, n)
        elif ld_t is float:
            return vibank_dot_f32_f64(d, x, n)
        else:
            return vibank_dot_f64_f64(d, x, n)


cdef inline void apply_row(Py_ssize_t j, double step, bint band, const ld_t[::1] ld_data,
                           const index_t[::1] ld_indices, const long long[::1] ld_first,
                           const long long[::1] ld_indptr, floating[::1] q) noexcept nogil:
    """q_k += R_kj step for the neighbours k of j, ``step`` already multiplied by the LD scale."""
    cdef Py_ssize_t t, start = ld_indptr[j], stop = ld_indptr[j + 1]
    if band:
        # q[first_j:first_j + len_j] += ld_data[start:stop] * step
        axpy(&q[ld_first[j]], &ld_data[start], stop - start, <floating> step)
    else:
        # q[ld_indices[start:stop]] += ld_data[start:stop] * step
        for t in range(start, stop):
            q[ld_indices[t]] += <floating> (ld_data[t] * step)
