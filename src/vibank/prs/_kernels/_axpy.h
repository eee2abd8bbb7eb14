/* q[0:n] += d[0:n] * step for every LD value type (int8, int16, float32, float64) and state
 * precision (float32, float64): the inner loop of the E-step, which streams the LD matrix.
 *
 * On x86-64 Linux with GCC each function is compiled twice, for x86-64-v3 (AVX2 + FMA) and for
 * the baseline, and the loader picks the variant the CPU supports (GCC target_clones), so one
 * build runs everywhere and uses the wide vector units where they exist. Results may differ in
 * the last bit between the two variants (fused multiply-add); on one machine they are fixed.
 */
#ifndef VIBANK_AXPY_H
#define VIBANK_AXPY_H

#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VIBANK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VIBANK_CLONES
#endif

#define VIBANK_AXPY(NAME, DT, QT)                                                    \
    static VIBANK_CLONES void NAME(QT *restrict q, const DT *restrict d, ptrdiff_t n, QT step) \
    {                                                                                 \
        for (ptrdiff_t t = 0; t < n; t++)                                             \
            q[t] += (QT)d[t] * step;                                                  \
    }

VIBANK_AXPY(vibank_axpy_i8_f32, signed char, float)
VIBANK_AXPY(vibank_axpy_i16_f32, short, float)
VIBANK_AXPY(vibank_axpy_f32_f32, float, float)
VIBANK_AXPY(vibank_axpy_f64_f32, double, float)
VIBANK_AXPY(vibank_axpy_i8_f64, signed char, double)
VIBANK_AXPY(vibank_axpy_i16_f64, short, double)
VIBANK_AXPY(vibank_axpy_f32_f64, float, double)
VIBANK_AXPY(vibank_axpy_f64_f64, double, double)

#endif
