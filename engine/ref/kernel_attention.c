/* Kernel (feature-map) attention in double precision, straight from the definitions:
 * no stabilisers, no chunking. Causal sums are running sums over keys in order (never
 * reconstructed by subtraction). */
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t vka_ref_feature_count(vka_ref_feature_map map, uint32_t d, uint32_t projections)
{
    switch (map) {
    case VKA_REF_ELU: return d;
    case VKA_REF_POSITIVE: return projections;
    default: return 2 * projections;
    }
}

void vka_ref_features(vka_ref_feature_map map, const double *x, uint32_t d, const double *projection, uint32_t m,
                      double *out)
{
    if (map == VKA_REF_ELU) {
        for (uint32_t c = 0; c < d; c++)
            out[c] = x[c] > 0 ? x[c] + 1.0 : exp(x[c]);
        return;
    }
    const double data_scale = pow((double)d, -0.25);
    double h = 0;
    for (uint32_t c = 0; c < d; c++)
        h += (x[c] * data_scale) * (x[c] * data_scale);
    h *= 0.5;
    for (uint32_t i = 0; i < m; i++) {
        double u = 0;
        for (uint32_t c = 0; c < d; c++)
            u += projection[(size_t)i * d + c] * x[c] * data_scale;
        switch (map) {
        case VKA_REF_POSITIVE: out[i] = exp(u - h) / sqrt((double)m); break;
        case VKA_REF_HYPERBOLIC:
            out[i] = exp(u - h) / sqrt(2.0 * m);
            out[m + i] = exp(-u - h) / sqrt(2.0 * m);
            break;
        default:
            out[i] = sin(u) * exp(h) / sqrt((double)m);
            out[m + i] = cos(u) * exp(h) / sqrt((double)m);
            break;
        }
    }
}

typedef struct head_sums {
    double *state; /* F × dv */
    double *norm;  /* F */
    double *phi_q, *phi_k;
} head_sums;

static void add_key(const vka_ref_kernel_problem *a, head_sums *s, const double *k, const double *v, uint32_t f)
{
    vka_ref_features(a->map, k, a->d, a->projection, a->projections, s->phi_k);
    for (uint32_t i = 0; i < f; i++) {
        s->norm[i] += s->phi_k[i];
        for (uint32_t c = 0; c < a->dv; c++)
            s->state[(size_t)i * a->dv + c] += s->phi_k[i] * v[c];
    }
}

static void answer(const vka_ref_kernel_problem *a, head_sums *s, const double *q, uint32_t f, double *out)
{
    vka_ref_features(a->map, q, a->d, a->projection, a->projections, s->phi_q);
    double den = a->eps;
    for (uint32_t i = 0; i < f; i++)
        den += s->phi_q[i] * s->norm[i];
    for (uint32_t c = 0; c < a->dv; c++) {
        double num = 0;
        for (uint32_t i = 0; i < f; i++)
            num += s->phi_q[i] * s->state[(size_t)i * a->dv + c];
        out[c] = den != 0 ? num / den : 0.0;
    }
}

static void one_head(const vka_ref_kernel_problem *a, head_sums *s, size_t slice, int32_t kv_len, uint32_t f)
{
    memset(s->state, 0, (size_t)f * a->dv * sizeof *s->state);
    memset(s->norm, 0, f * sizeof *s->norm);
    uint32_t kv_heads = a->kv_heads ? a->kv_heads : a->heads;
    size_t b = slice / a->heads, h = slice % a->heads, kv_slice = b * kv_heads + h / (a->heads / kv_heads);
    const double *k = a->k + kv_slice * a->nk * a->d, *v = a->v + kv_slice * a->nk * a->dv;
    uint32_t added = 0;
    for (uint32_t i = 0; i < a->nq; i++) {
        /* Queries see non-decreasing key counts: add keys as they become visible. */
        uint32_t visible = a->causal ? vka_ref_visible_keys(i, a->nq, a->nk, kv_len, true)
                                     : vka_ref_visible_keys(0, a->nq, a->nk, kv_len, false);
        for (; added < visible; added++)
            add_key(a, s, k + (size_t)added * a->d, v + (size_t)added * a->dv, f);
        answer(a, s, a->q + (slice * a->nq + i) * a->d, f, a->out + (slice * a->nq + i) * a->dv);
    }
}

bool vka_ref_kernel_attention(const vka_ref_kernel_problem *a)
{
    uint32_t f = vka_ref_feature_count(a->map, a->d, a->projections);
    head_sums s = {
        .state = malloc((size_t)f * a->dv * sizeof(double)),
        .norm = malloc(f * sizeof(double)),
        .phi_q = malloc(f * sizeof(double)),
        .phi_k = malloc(f * sizeof(double)),
    };
    bool ok = s.state && s.norm && s.phi_q && s.phi_k;
    for (uint32_t b = 0; ok && b < a->batch; b++)
        for (uint32_t h = 0; h < a->heads; h++)
            one_head(a, &s, (size_t)b * a->heads + h, a->kv_len ? a->kv_len[b] : (int32_t)a->nk, f);
    free(s.state);
    free(s.norm);
    free(s.phi_q);
    free(s.phi_k);
    return ok;
}
