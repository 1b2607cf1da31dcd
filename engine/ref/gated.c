/* The gated recurrent forms (SCHEMES.md §10) by their recurrences, in double: per
 * [batch, query head] a state S (D × Dv) from 0, each token t < kv_len updating it
 *   gla        S ← diag(exp g_t) S + k_t v_tᵀ
 *   retention  S ← γ_h S + k_t v_tᵀ
 *   deltanet   S ← exp(g_t) (S − β_t k_t (k_tᵀ S)) + β_t k_t v_tᵀ   (q, k L2-normalised)
 * and o_t = scale · Sᵀ q_t. Query head h reads k/v head h / (H / Hkv). */
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* x / |x| into out (0 stays 0). */
static void normalised(const double *x, uint32_t d, double *out)
{
    double sum = 0;
    for (uint32_t i = 0; i < d; i++)
        sum += x[i] * x[i];
    double inv = sum > 0 ? 1.0 / sqrt(sum) : 0.0;
    for (uint32_t i = 0; i < d; i++)
        out[i] = x[i] * inv;
}

static void update(const vka_ref_gated *g, size_t slice, uint32_t h, uint32_t t, const double *k, const double *v,
                   double *S, double *u)
{
    const uint32_t d = g->d, dv = g->dv;
    if (g->kind == VKA_REF_DELTANET) {
        double alpha = g->gates ? exp(g->gates[slice * g->n + t]) : 1.0, beta = g->beta[slice * g->n + t];
        for (uint32_t c = 0; c < dv; c++) {
            u[c] = 0;
            for (uint32_t i = 0; i < d; i++)
                u[c] += k[i] * S[(size_t)i * dv + c];
        }
        for (uint32_t i = 0; i < d; i++)
            for (uint32_t c = 0; c < dv; c++) {
                double *s = &S[(size_t)i * dv + c];
                *s = alpha * (*s - beta * k[i] * u[c]) + beta * k[i] * v[c];
            }
        return;
    }
    for (uint32_t i = 0; i < d; i++) {
        double alpha = g->kind == VKA_REF_GLA ? exp(g->gates[(slice * g->n + t) * d + i]) : (double)g->gamma[h];
        for (uint32_t c = 0; c < dv; c++)
            S[(size_t)i * dv + c] = alpha * S[(size_t)i * dv + c] + k[i] * v[c];
    }
}

bool vka_ref_gated_run(const vka_ref_gated *g)
{
    const uint32_t d = g->d, dv = g->dv;
    uint32_t kv_heads = g->kv_heads ? g->kv_heads : g->heads;
    double *S = malloc((size_t)d * dv * sizeof *S), *u = malloc(dv * sizeof *u);
    double *q = malloc(d * sizeof *q), *k = malloc(d * sizeof *k);
    bool ok = S && u && q && k;
    for (uint32_t b = 0; ok && b < g->batch; b++) {
        int32_t kvl = g->kv_len ? g->kv_len[b] : (int32_t)g->n;
        for (uint32_t h = 0; h < g->heads; h++) {
            size_t slice = (size_t)b * g->heads + h;
            size_t kv_slice = (size_t)b * kv_heads + h / (g->heads / kv_heads);
            memset(S, 0, (size_t)d * dv * sizeof *S);
            for (uint32_t t = 0; t < g->n; t++) {
                const double *qt = g->q + (slice * g->n + t) * d, *kt = g->k + (kv_slice * g->n + t) * d;
                const double *vt = g->v + (kv_slice * g->n + t) * dv;
                if (g->l2norm) {
                    normalised(qt, d, q);
                    normalised(kt, d, k);
                } else {
                    memcpy(q, qt, d * sizeof *q);
                    memcpy(k, kt, d * sizeof *k);
                }
                if ((int64_t)t < kvl)
                    update(g, slice, h, t, k, vt, S, u);
                double *out = g->out + (slice * g->n + t) * dv;
                for (uint32_t c = 0; c < dv; c++) {
                    double o = 0;
                    for (uint32_t i = 0; i < d; i++)
                        o += q[i] * S[(size_t)i * dv + c];
                    out[c] = o * g->scale;
                }
            }
        }
    }
    free(S);
    free(u);
    free(q);
    free(k);
    return ok;
}
