/* See model_oracle.h. Plain loops; sizes are test-sized. */
#include "model_oracle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void oracle_dense(const double *x, size_t rows, uint32_t in, const float *w, const float *b, uint32_t out, double *y)
{
    for (size_t r = 0; r < rows; r++)
        for (uint32_t o = 0; o < out; o++) {
            double sum = b ? b[o] : 0.0;
            for (uint32_t i = 0; i < in; i++)
                sum += x[r * in + i] * w[(size_t)i * out + o];
            y[r * out + o] = sum;
        }
}

void oracle_layernorm(const double *x, size_t rows, uint32_t width, const float *w, const float *b, double *y)
{
    for (size_t r = 0; r < rows; r++) {
        double mean = 0, var = 0;
        for (uint32_t i = 0; i < width; i++)
            mean += x[r * width + i] / width;
        for (uint32_t i = 0; i < width; i++)
            var += (x[r * width + i] - mean) * (x[r * width + i] - mean) / width;
        for (uint32_t i = 0; i < width; i++)
            y[r * width + i] = (x[r * width + i] - mean) / sqrt(var + 1e-5) * w[i] + (b ? b[i] : 0.0);
    }
}

void oracle_relu(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0 ? x[i] : 0;
}

/* Softmax attention of each head (features [h·dh, (h+1)·dh)) of q over k, v. */
static void heads_attention(const double *q, uint32_t nq, const double *k, const double *v, uint32_t nk, uint32_t width,
                            uint32_t heads, double scale, double *out)
{
    uint32_t dh = width / heads;
    double *s = malloc(nk * sizeof *s);
    for (uint32_t h = 0; h < heads; h++)
        for (uint32_t i = 0; i < nq; i++) {
            double top = -INFINITY, total = 0;
            for (uint32_t j = 0; j < nk; j++) {
                double dot = 0;
                for (uint32_t c = 0; c < dh; c++)
                    dot += q[(size_t)i * width + h * dh + c] * k[(size_t)j * width + h * dh + c];
                s[j] = dot * scale;
                top = fmax(top, s[j]);
            }
            for (uint32_t j = 0; j < nk; j++)
                total += (s[j] = exp(s[j] - top));
            for (uint32_t c = 0; c < dh; c++) {
                double sum = 0;
                for (uint32_t j = 0; j < nk; j++)
                    sum += s[j] * v[(size_t)j * width + h * dh + c];
                out[(size_t)i * width + h * dh + c] = sum / total;
            }
        }
    free(s);
}

/* q = xq Wq + bq, k and v from xkv, the heads' attention into attended (nq × width). */
static void project_and_attend(const oracle_mha *m, const double *xq, uint32_t nq, const double *xkv, uint32_t nk,
                               double scale, double *q, double *attended)
{
    double *k = malloc((size_t)nk * m->width * sizeof *k), *v = malloc((size_t)nk * m->width * sizeof *v);
    oracle_dense(xq, nq, m->in_q, m->wq, m->bq, m->width, q);
    oracle_dense(xkv, nk, m->in_kv, m->wk, m->bk, m->width, k);
    oracle_dense(xkv, nk, m->in_kv, m->wv, m->bv, m->width, v);
    heads_attention(q, nq, k, v, nk, m->width, m->heads, scale, attended);
    free(k);
    free(v);
}

void oracle_mha_run(const oracle_mha *m, const double *xq, uint32_t nq, const double *xkv, uint32_t nk, double *out)
{
    double *q = malloc((size_t)nq * m->width * sizeof *q), *a = malloc((size_t)nq * m->width * sizeof *a);
    double scale = m->scale != 0 ? m->scale : 1.0 / sqrt((double)(m->width / m->heads));
    if (!xkv) {
        xkv = xq;
        nk = nq;
    }
    project_and_attend(m, xq, nq, xkv, nk, scale, q, m->wo ? a : out);
    if (m->wo)
        oracle_dense(a, nq, m->width, m->wo, m->bo, m->out, out);
    free(q);
    free(a);
}

void oracle_mab_run(const oracle_mab *m, const double *x, uint32_t nx, const double *y, uint32_t ny, double *out)
{
    const oracle_mha *a = &m->attention;
    size_t n = (size_t)nx * a->width;
    double *q = malloc(n * sizeof *q), *h = malloc(n * sizeof *h), *ff = malloc(n * sizeof *ff);
    double scale = a->scale != 0 ? a->scale : 1.0 / sqrt((double)a->width); /* the model width */
    project_and_attend(a, x, nx, y ? y : x, y ? ny : nx, scale, q, h);
    for (size_t i = 0; i < n; i++)
        h[i] += q[i]; /* the residual on the projected queries */
    if (m->ln0_w)
        oracle_layernorm(h, nx, a->width, m->ln0_w, m->ln0_b, h);
    oracle_dense(h, nx, a->width, m->wo, m->bo, a->width, ff);
    oracle_relu(ff, n);
    for (size_t i = 0; i < n; i++)
        out[i] = h[i] + ff[i];
    if (m->ln1_w)
        oracle_layernorm(out, nx, a->width, m->ln1_w, m->ln1_b, out);
    free(q);
    free(h);
    free(ff);
}

void oracle_layer_run(const oracle_layer *l, double *x, uint32_t n, const double *context, uint32_t nc)
{
    size_t size = (size_t)n * l->width;
    double *hq = malloc(size * sizeof *hq), *a = malloc(size * sizeof *a), *h2 = malloc(size * sizeof *h2);
    double *hc = context ? malloc((size_t)nc * l->width * sizeof *hc) : NULL;
    double *ff = malloc((size_t)n * l->ff * sizeof *ff);
    oracle_layernorm(x, n, l->width, l->n1_w, l->n1_b, hq);
    if (context)
        oracle_layernorm(context, nc, l->width, l->n1_w, l->n1_b, hc);
    oracle_mha_run(&l->attention, hq, n, hc, nc, a);
    for (size_t i = 0; i < size; i++)
        x[i] = (l->residual_normalized ? hq[i] : x[i]) + a[i];
    oracle_layernorm(x, n, l->width, l->n2_w, l->n2_b, h2);
    oracle_dense(h2, n, l->width, l->fc1_w, l->fc1_b, l->ff, ff);
    oracle_relu(ff, (size_t)n * l->ff);
    oracle_dense(ff, n, l->ff, l->fc2_w, l->fc2_b, l->width, a);
    for (size_t i = 0; i < size; i++)
        x[i] = (l->residual_normalized ? h2[i] : x[i]) + a[i];
    free(hq);
    free(a);
    free(h2);
    free(hc);
    free(ff);
}
