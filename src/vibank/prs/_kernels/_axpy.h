/* q[0:n] += d[0:n] * step, and the dot product d[0:n] . x[0:n], for every LD value type (int8,
 * int16, float32, float64) and state precision (float32, float64): the inner loops of the
 * E-step, which stream the LD matrix (the upper-row sweep reads each row by a dot, then an axpy).
 *
 * On x86-64 Linux with GCC each function is compiled twice, for x86-64-v3 (AVX2 + FMA) and for
 * the baseline, and the loader picks the variant the CPU supports (GCC target_clones), so one
 * build runs everywhere and uses the wide vector units where they exist. Results may differ in
 * the last bit between the two variants (fused multiply-add); on one machine they are fixed.
 * The loop runs over 64-byte lines of d with one prefetch per line (below); the compiler
 * vectorises the inner loop, and q[t] gets the same single update as in a plain loop.
 */
#ifndef VIBANK_AXPY_H
#define VIBANK_AXPY_H

#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VIBANK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VIBANK_CLONES
#endif

/* Software prefetch, VIBANK_PREFETCH_BYTES ahead of the values being read, into L2
 * (prefetcht1). The band rows of one sweep lie back to back in memory, so prefetching past the
 * end of row j fetches the start of row j + 1 while variant j + 1's coordinate update (which
 * must wait for this axpy) runs: without it the stream stalls at every row. Measured on the
 * 2-vCPU EPYC VM under a load of 2, windowed 3 cM int16 LD (7.3 KB per row), one thread,
 * E-step best of 15: no prefetch 10.4-12.6 ms, 2 KB ahead (prefetchnta) 10.4 ms, 4 KB
 * (prefetcht2) 7.6-8.8 ms, 8-16 KB (prefetcht1/t2) 6.3-7.6 ms; prefetcht0 (into L1) was slower
 * than t1/t2 at every distance tried. A prefetch never faults, so one past the end of the data
 * is harmless. */
#ifndef VIBANK_PREFETCH_BYTES
#define VIBANK_PREFETCH_BYTES 16384
#endif

#define VIBANK_AXPY(NAME, DT, QT)                                                    \
    static VIBANK_CLONES void NAME(QT *restrict q, const DT *restrict d, ptrdiff_t n, QT step) \
    {                                                                                 \
        enum { LINE = 64 / sizeof(DT), AHEAD = VIBANK_PREFETCH_BYTES / sizeof(DT) };   \
        ptrdiff_t t = 0;                                                              \
        for (; t + LINE <= n; t += LINE) {                                            \
            __builtin_prefetch(d + t + AHEAD, 0, 2);                                  \
            for (ptrdiff_t u = 0; u < LINE; u++)                                      \
                q[t + u] += (QT)d[t + u] * step;                                      \
        }                                                                             \
        for (; t < n; t++)                                                            \
            q[t] += (QT)d[t] * step;                                                  \
    }

/* MAKE(name, LD value type, state type) for every pair the kernels take: vibank_<kind>_<ld>_<state> */
#define VIBANK_FOR_TYPES(MAKE, KIND)                                                 \
    MAKE(vibank_##KIND##_i8_f32, signed char, float)                                  \
    MAKE(vibank_##KIND##_i16_f32, short, float)                                       \
    MAKE(vibank_##KIND##_f32_f32, float, float)                                       \
    MAKE(vibank_##KIND##_f64_f32, double, float)                                      \
    MAKE(vibank_##KIND##_i8_f64, signed char, double)                                 \
    MAKE(vibank_##KIND##_i16_f64, short, double)                                      \
    MAKE(vibank_##KIND##_f32_f64, float, double)                                      \
    MAKE(vibank_##KIND##_f64_f64, double, double)

VIBANK_FOR_TYPES(VIBANK_AXPY, axpy)

/* d[0:n] . x[0:n] in the state precision QT. The sum runs in LINE partial sums, acc[u] over
 * the values u, u + LINE, u + 2 LINE, ..., added up in order at the end: independent sums the
 * compiler vectorises without reassociating anything, so the result is fixed by the code (up to
 * the fused multiply-add of the x86-64-v3 clone), whatever the CPU's vector width. */
#define VIBANK_DOT(NAME, DT, QT)                                                     \
    static VIBANK_CLONES QT NAME(const DT *restrict d, const QT *restrict x, ptrdiff_t n) \
    {                                                                                 \
        enum { LINE = 64 / sizeof(DT), AHEAD = VIBANK_PREFETCH_BYTES / sizeof(DT) };   \
        QT acc[LINE] = {0};                                                           \
        QT total = 0;                                                                 \
        ptrdiff_t t = 0;                                                              \
        for (; t + LINE <= n; t += LINE) {                                            \
            __builtin_prefetch(d + t + AHEAD, 0, 2);                                  \
            for (ptrdiff_t u = 0; u < LINE; u++)                                      \
                acc[u] += (QT)d[t + u] * x[t + u];                                    \
        }                                                                             \
        for (ptrdiff_t u = 0; u < LINE; u++)                                          \
            total += acc[u];                                                          \
        for (; t < n; t++)                                                            \
            total += (QT)d[t] * x[t];                                                 \
        return total;                                                                 \
    }

VIBANK_FOR_TYPES(VIBANK_DOT, dot)

#endif
