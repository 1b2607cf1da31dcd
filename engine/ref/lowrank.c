/* The double-precision Linformer and Nyströmformer, written from SCHEMES.md §8. */
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* out (m × w) = a (m × k, row stride lda) b (k × w). */
static void product(const double *a, size_t lda, const double *b, uint32_t m, uint32_t k, uint32_t w, double *out)
{
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t c = 0; c < w; c++) {
            double s = 0;
            for (uint32_t j = 0; j < k; j++)
                s += a[i * lda + j] * b[(size_t)j * w + c];
            out[(size_t)i * w + c] = s;
        }
}

/* Exact softmax attention of one slice: q (nq × d) over k (nk × d), v (nk × dv). */
static bool attend(const double *q, const double *k, const double *v, uint32_t nq, uint32_t nk, uint32_t d, uint32_t dv,
                   double scale, double *out)
{
    return vka_ref_softmax_attention(&(vka_ref_attention){.batch = 1,
                                                          .heads = 1,
                                                          .nq = nq,
                                                          .nk = nk,
                                                          .d = d,
                                                          .dv = dv,
                                                          .q = q,
                                                          .k = k,
                                                          .v = v,
                                                          .scale = scale,
                                                          .out = out});
}

bool vka_ref_linformer(const vka_ref_lowrank_problem *p)
{
    double *keys = malloc((size_t)p->rank * p->d * sizeof *keys),
           *values = malloc((size_t)p->rank * p->dv * sizeof *values);
    bool ok = keys && values;
    for (size_t s = 0; ok && s < (size_t)p->batch * p->heads; s++) {
        product(p->proj_k, p->proj_width, p->k + s * p->nk * p->d, p->rank, p->nk, p->d, keys);
        product(p->proj_v, p->proj_width, p->v + s * p->nk * p->dv, p->rank, p->nk, p->dv, values);
        ok = attend(p->q + s * p->nq * p->d, keys, values, p->nq, p->rank, p->d, p->dv, p->scale,
                    p->out + s * p->nq * p->dv);
    }
    free(keys);
    free(values);
    return ok;
}

void vka_ref_segments(uint32_t n, uint32_t m, uint32_t *first)
{
    for (uint32_t s = 0; s <= m; s++)
        first[s] = (uint32_t)((uint64_t)s * n / m);
}

/* The m segment means of x (n × w). */
static void segment_means(const double *x, uint32_t n, uint32_t m, uint32_t w, const uint32_t *first, double *out)
{
    for (uint32_t s = 0; s < m; s++)
        for (uint32_t c = 0; c < w; c++) {
            double sum = 0;
            for (uint32_t t = first[s]; t < first[s + 1]; t++)
                sum += x[(size_t)t * w + c];
            out[(size_t)s * w + c] = sum / (first[s + 1] - first[s]);
        }
    (void)n;
}

/* Row softmax of a (rows × cols) scores · scale, in place. */
static void softmax_rows(double *a, uint32_t rows, uint32_t cols, double scale)
{
    for (uint32_t i = 0; i < rows; i++) {
        double *r = a + (size_t)i * cols, top = -INFINITY, total = 0;
        for (uint32_t j = 0; j < cols; j++)
            top = fmax(top, r[j] * scale);
        for (uint32_t j = 0; j < cols; j++)
            total += (r[j] = exp(r[j] * scale - top));
        for (uint32_t j = 0; j < cols; j++)
            r[j] /= total;
    }
}

/* scores (rows × cols) = a (rows × d) bᵀ (cols × d). */
static void scores(const double *a, const double *b, uint32_t rows, uint32_t cols, uint32_t d, double *out)
{
    for (uint32_t i = 0; i < rows; i++)
        for (uint32_t j = 0; j < cols; j++) {
            double s = 0;
            for (uint32_t c = 0; c < d; c++)
                s += a[(size_t)i * d + c] * b[(size_t)j * d + c];
            out[(size_t)i * cols + j] = s;
        }
}

/* The iterative pseudo-inverse of SCHEMES.md §8 (m × m), into z. */
static void pinv(const double *a, uint32_t m, double *z, double *az, double *t, double *u)
{
    double col = 0, row = 0;
    for (uint32_t j = 0; j < m; j++) {
        double cs = 0, rs = 0;
        for (uint32_t i = 0; i < m; i++) {
            cs += fabs(a[(size_t)i * m + j]);
            rs += fabs(a[(size_t)j * m + i]);
        }
        col = fmax(col, cs);
        row = fmax(row, rs);
    }
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t j = 0; j < m; j++)
            z[(size_t)i * m + j] = a[(size_t)j * m + i] / (col * row);
    size_t mm = (size_t)m * m;
    for (int step = 0; step < 6; step++) {
        product(a, m, z, m, m, m, az); /* AZ */
        for (size_t i = 0; i < mm; i++)
            t[i] = (i % (m + 1) == 0 ? 7.0 : 0.0) - az[i]; /* 7I − AZ */
        product(az, m, t, m, m, m, u);
        for (size_t i = 0; i < mm; i++)
            t[i] = (i % (m + 1) == 0 ? 15.0 : 0.0) - u[i]; /* 15I − AZ(7I − AZ) */
        product(az, m, t, m, m, m, u);
        for (size_t i = 0; i < mm; i++)
            t[i] = (i % (m + 1) == 0 ? 13.0 : 0.0) - u[i];
        product(z, m, t, m, m, m, u);
        for (size_t i = 0; i < mm; i++)
            z[i] = 0.25 * u[i];
    }
}

bool vka_ref_nystrom(const vka_ref_lowrank_problem *p)
{
    uint32_t m = p->rank;
    if (m >= p->nq || m >= p->nk)
        return vka_ref_softmax_attention(&(vka_ref_attention){.batch = p->batch,
                                                              .heads = p->heads,
                                                              .nq = p->nq,
                                                              .nk = p->nk,
                                                              .d = p->d,
                                                              .dv = p->dv,
                                                              .q = p->q,
                                                              .k = p->k,
                                                              .v = p->v,
                                                              .scale = p->scale,
                                                              .out = p->out});
    size_t mm = (size_t)m * m;
    uint32_t *first_q = malloc((m + 1) * sizeof *first_q), *first_k = malloc((m + 1) * sizeof *first_k);
    double *lq = malloc((size_t)m * p->d * sizeof *lq), *lk = malloc((size_t)m * p->d * sizeof *lk);
    double *f = malloc((size_t)p->nq * m * sizeof *f), *a = malloc(mm * sizeof *a), *z = malloc(mm * sizeof *z);
    double *az = malloc(mm * sizeof *az), *t = malloc(mm * sizeof *t), *u = malloc(mm * sizeof *u);
    double *bv = malloc((size_t)m * p->dv * sizeof *bv), *w = malloc((size_t)m * p->dv * sizeof *w);
    bool ok = first_q && first_k && lq && lk && f && a && z && az && t && u && bv && w;
    if (ok) {
        vka_ref_segments(p->nq, m, first_q);
        vka_ref_segments(p->nk, m, first_k);
    }
    for (size_t s = 0; ok && s < (size_t)p->batch * p->heads; s++) {
        const double *q = p->q + s * p->nq * p->d, *k = p->k + s * p->nk * p->d, *v = p->v + s * p->nk * p->dv;
        segment_means(q, p->nq, m, p->d, first_q, lq);
        segment_means(k, p->nk, m, p->d, first_k, lk);
        scores(q, lk, p->nq, m, p->d, f); /* F̃ */
        softmax_rows(f, p->nq, m, p->scale);
        scores(lq, lk, m, m, p->d, a); /* Ã */
        softmax_rows(a, m, m, p->scale);
        ok = attend(lq, k, v, m, p->nk, p->d, p->dv, p->scale, bv); /* B̃ v */
        pinv(a, m, z, az, t, u);
        product(z, m, bv, m, m, p->dv, w);
        product(f, m, w, p->nq, m, p->dv, p->out + s * p->nq * p->dv);
    }
    free(first_q);
    free(first_k);
    free(lq);
    free(lk);
    free(f);
    free(a);
    free(z);
    free(az);
    free(t);
    free(u);
    free(bv);
    free(w);
    return ok;
}
