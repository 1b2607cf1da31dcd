/* Building-block references in double: element-wise, dense, layer norm, concatenation,
 * head split and merge. */
#include "ref.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static double apply(vka_ref_unary f, double x, double y)
{
    switch (f) {
    case VKA_REF_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case VKA_REF_RELU: return x > 0 ? x : 0.0;
    case VKA_REF_SOFTPLUS: return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x)));
    case VKA_REF_SQRT_SOFTPLUS: return sqrt((x > 0 ? x : 0.0) + log1p(exp(-fabs(x))));
    case VKA_REF_ADD: return x + y;
    }
    return x;
}

void vka_ref_elementwise(vka_ref_unary f, const double *x, const double *y, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = apply(f, x[i], y ? y[i] : 0.0);
}

void vka_ref_dense(const double *x, const double *w, const double *bias, size_t rows, uint32_t in, uint32_t out,
                   double *y)
{
    for (size_t r = 0; r < rows; r++)
        for (uint32_t o = 0; o < out; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (uint32_t i = 0; i < in; i++)
                sum += x[r * in + i] * w[(size_t)i * out + o];
            y[r * out + o] = sum;
        }
}

void vka_ref_dense_out_in(const double *x, const double *w, const double *bias, size_t rows, uint32_t in, uint32_t out,
                          double *y)
{
    for (size_t r = 0; r < rows; r++)
        for (uint32_t o = 0; o < out; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (uint32_t i = 0; i < in; i++)
                sum += x[r * in + i] * w[(size_t)o * in + i];
            y[r * out + o] = sum;
        }
}

void vka_ref_layernorm(const double *x, const double *weight, const double *bias, size_t rows, uint32_t width,
                       double eps, double *y)
{
    for (size_t r = 0; r < rows; r++) {
        const double *row = x + r * width;
        double mean = 0, var = 0;
        for (uint32_t i = 0; i < width; i++)
            mean += row[i];
        mean /= width;
        for (uint32_t i = 0; i < width; i++)
            var += (row[i] - mean) * (row[i] - mean);
        double inv = 1.0 / sqrt(var / width + eps);
        for (uint32_t i = 0; i < width; i++)
            y[r * width + i] = (row[i] - mean) * inv * (weight ? weight[i] : 1.0) + (bias ? bias[i] : 0.0);
    }
}

void vka_ref_concat_rows(const double *a, const double *b, size_t slices, uint32_t rows_a, uint32_t rows_b,
                         uint32_t width, double *out)
{
    for (size_t s = 0; s < slices; s++) {
        double *o = out + s * (size_t)(rows_a + rows_b) * width;
        memcpy(o, a + s * (size_t)rows_a * width, (size_t)rows_a * width * sizeof *o);
        memcpy(o + (size_t)rows_a * width, b + s * (size_t)rows_b * width, (size_t)rows_b * width * sizeof *o);
    }
}

void vka_ref_heads(const double *x, uint32_t batch, uint32_t heads, uint32_t tokens, uint32_t head_width, bool split,
                   double *y)
{
    size_t width = (size_t)heads * head_width;
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t h = 0; h < heads; h++)
            for (uint32_t n = 0; n < tokens; n++)
                for (uint32_t d = 0; d < head_width; d++) {
                    size_t merged = ((size_t)b * tokens + n) * width + (size_t)h * head_width + d;
                    size_t apart = (((size_t)b * heads + h) * tokens + n) * head_width + d;
                    if (split)
                        y[apart] = x[merged];
                    else
                        y[merged] = x[apart];
                }
}
