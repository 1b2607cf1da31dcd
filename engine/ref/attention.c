#include "ref.h"

#include <math.h>
#include <stdlib.h>

uint32_t vka_ref_visible_keys(uint32_t i, uint32_t nq, uint32_t nk, int32_t kv_len, bool causal)
{
    int64_t limit = kv_len < 0 ? 0 : kv_len;
    if (limit > nk)
        limit = nk;
    if (causal) {
        int64_t last = (int64_t)i + (int64_t)nk - (int64_t)nq; /* j <= i + (Nk − Nq) */
        if (last + 1 < limit)
            limit = last + 1 < 0 ? 0 : last + 1;
    }
    return (uint32_t)limit;
}

static uint32_t visible_keys(const vka_ref_attention *a, uint32_t i, int32_t kv_len)
{
    if (a->first_run)
        return (int64_t)i < kv_len ? i + 1 : 0;
    if (a->causal && a->top_left) /* j <= i: bottom-right's rule with as many keys as queries */
        return vka_ref_visible_keys(i, a->nq, a->nq, kv_len < (int64_t)a->nk ? kv_len : (int32_t)a->nk, true);
    return vka_ref_visible_keys(i, a->nq, a->nk, kv_len, a->causal);
}

/* Row i: O = Σ_j e^(l_j − m) v_j / (e^(sink − m) + Σ_j e^(l_j − m)), l_j the scaled (and
 * capped) logits of the visible keys, the sink term only with sinks. */
static void attend_row(const vka_ref_attention *a, const double *q, const double *k, const double *v, uint32_t visible,
                       const double *sink, const double *mask_row, double *scores, double *out)
{
    for (uint32_t c = 0; c < a->dv; c++)
        out[c] = 0.0;
    if (visible == 0)
        return; /* a query that sees no key outputs 0 */
    double max = sink ? *sink : -INFINITY;
    for (uint32_t j = 0; j < visible; j++) {
        double s = 0.0;
        for (uint32_t c = 0; c < a->d; c++)
            s += q[c] * k[(size_t)j * a->d + c];
        scores[j] = s * a->scale;
        if (a->softcap > 0)
            scores[j] = a->softcap * tanh(scores[j] / a->softcap);
        if (mask_row)
            scores[j] += mask_row[j];
        if (scores[j] > max)
            max = scores[j];
    }
    if (max == -INFINITY)
        return; /* every key masked (−inf) and no sink: 0 */
    double sum = sink ? exp(*sink - max) : 0.0;
    for (uint32_t j = 0; j < visible; j++) {
        scores[j] = exp(scores[j] - max);
        sum += scores[j];
    }
    for (uint32_t j = 0; j < visible; j++) {
        double p = scores[j] / sum;
        for (uint32_t c = 0; c < a->dv; c++)
            out[c] += p * v[(size_t)j * a->dv + c];
    }
}

bool vka_ref_softmax_attention(const vka_ref_attention *a)
{
    double *scores = malloc((a->nk ? a->nk : 1) * sizeof *scores);
    if (!scores)
        return false;
    for (uint32_t b = 0; b < a->batch; b++) {
        int32_t kv_len = a->kv_len ? a->kv_len[b] : (int32_t)a->nk;
        for (uint32_t h = 0; h < a->heads; h++) {
            size_t slice = (size_t)b * a->heads + h;
            uint32_t kv_heads = a->kv_heads ? a->kv_heads : a->heads;
            size_t kv_slice = (size_t)b * kv_heads + h / (a->heads / kv_heads);
            const double *k = a->k + kv_slice * a->nk * a->d;
            const double *v = a->v + kv_slice * a->nk * a->dv;
            for (uint32_t i = 0; i < a->nq; i++) {
                const double *q = a->q + (slice * a->nq + i) * a->d;
                double *out = a->out + (slice * a->nq + i) * a->dv;
                const double *mask_row = NULL;
                if (a->mask) {
                    size_t mslice = (size_t)(a->mask_batch > 1 ? b : 0) * a->mask_heads + (a->mask_heads > 1 ? h : 0);
                    mask_row = a->mask + (mslice * a->nq + i) * a->nk;
                }
                attend_row(a, q, k, v, visible_keys(a, i, kv_len), a->sinks ? &a->sinks[h] : NULL, mask_row, scores,
                           out);
            }
        }
    }
    free(scores);
    return true;
}
