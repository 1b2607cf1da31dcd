/* The sparse patterns of SCHEMES.md §7 as a dense mask over (i, j), and softmax attention
 * masked by it, in double: the definition the block-sparse kernel must equal. BigBird's
 * random blocks come from the same seeded draw the engine uses (engine/common/random.h), as
 * Performer's projections do. */
#include "ref.h"

#include "common/random.h"

#include <math.h>
#include <stdlib.h>

static bool bigbird_allows(const vka_ref_pattern_params *rule, uint32_t n, uint32_t i, uint32_t j)
{
    uint32_t b = rule->block, blocks = (n + b - 1) / b, qi = i / b, kj = j / b, chosen[64];
    if (qi == 0 || qi + 1 == blocks || kj == 0 || kj + 1 == blocks || (kj + 1 >= qi && kj <= qi + 1))
        return true;
    uint32_t drawn = vka_bigbird_random_blocks(rule->seed, blocks, qi, rule->random < 64 ? rule->random : 64, chosen);
    for (uint32_t t = 0; t < drawn; t++)
        if (chosen[t] == kj)
            return true;
    return false;
}

bool vka_ref_pattern_allows(vka_ref_pattern pattern, const vka_ref_pattern_params *rule, uint32_t n, uint32_t head,
                            uint32_t i, uint32_t j)
{
    int64_t d = (int64_t)i - (int64_t)j;
    switch (pattern) {
    case VKA_REF_PATTERN_LOCAL: return llabs(d) <= rule->window;
    case VKA_REF_PATTERN_LONGFORMER: return llabs(d) <= rule->window || i < rule->global || j < rule->global;
    case VKA_REF_PATTERN_BIGBIRD: return bigbird_allows(rule, n, i, j);
    case VKA_REF_PATTERN_STRIDED: return d >= 0 && (d < rule->stride || d % rule->stride == 0);
    case VKA_REF_PATTERN_FIXED:
        return d >= 0 && (j / rule->stride == i / rule->stride || j % rule->stride >= rule->stride - rule->summary);
    case VKA_REF_PATTERN_BLOCKWISE: {
        uint64_t bi = (uint64_t)i * rule->blocks / n, bj = (uint64_t)j * rule->blocks / n;
        return bj == (bi + head) % rule->blocks;
    }
    case VKA_REF_PATTERN_LAYOUT: {
        uint32_t h = rule->layout_heads > 1 ? head : 0;
        return rule->layout[((size_t)h * rule->layout_rows + i / rule->block) * rule->layout_cols + j / rule->block] !=
               0;
    }
    }
    return false;
}

/* Keys query i of head h sees (before kv_len), counted in closed form per row. */
static uint64_t row_keys(vka_ref_pattern pattern, const vka_ref_pattern_params *rule, uint32_t n, uint32_t h,
                         uint32_t i, bool causal)
{
    int64_t w = rule->window, s = rule->stride, lo = (int64_t)i - w < 0 ? 0 : (int64_t)i - w;
    int64_t hi = causal ? i : ((int64_t)i + w > (int64_t)n - 1 ? (int64_t)n - 1 : (int64_t)i + w);
    switch (pattern) {
    case VKA_REF_PATTERN_LOCAL: return (uint64_t)(hi - lo + 1);
    case VKA_REF_PATTERN_LONGFORMER:
        if (i < rule->global)
            return causal ? i + 1u : n;
        return (uint64_t)(hi - lo + 1) + (uint64_t)(lo < (int64_t)rule->global ? lo : (int64_t)rule->global);
    case VKA_REF_PATTERN_STRIDED: return (uint64_t)((int64_t)i + 1 < s ? (int64_t)i + 1 : s) + i / rule->stride;
    case VKA_REF_PATTERN_FIXED: return (uint64_t)(i % rule->stride + 1) + (uint64_t)(i / rule->stride) * rule->summary;
    case VKA_REF_PATTERN_BLOCKWISE: {
        uint64_t nb = rule->blocks, t = ((uint64_t)i * nb / n + h) % nb;
        return ((t + 1) * n + nb - 1) / nb - (t * n + nb - 1) / nb;
    }
    case VKA_REF_PATTERN_LAYOUT: {
        uint64_t keys = 0;
        for (uint32_t j = 0; j < n; j++)
            keys += vka_ref_pattern_allows(pattern, rule, n, h, i, j);
        return keys;
    }
    case VKA_REF_PATTERN_BIGBIRD: {
        uint32_t b = rule->block, blocks = (n + b - 1) / b, qi = i / b, chosen[64], keys = 0;
        if (qi == 0 || qi + 1 == blocks)
            return n;
        uint32_t drawn =
            vka_bigbird_random_blocks(rule->seed, blocks, qi, rule->random < 64 ? rule->random : 64, chosen);
        uint32_t own[5] = {qi - 1, qi, qi + 1, 0, blocks - 1};
        for (uint32_t t = 0; t < 5 + drawn; t++) {
            uint32_t blk = t < 5 ? own[t] : chosen[t - 5];
            bool repeated = false; /* the neighbours may be the first or last block */
            for (uint32_t u = 0; u < t && t < 5; u++)
                repeated = repeated || own[u] == blk;
            if (!repeated)
                keys += (blk + 1) * b > n ? n - blk * b : b;
        }
        return keys;
    }
    }
    return 0;
}

uint64_t vka_ref_pattern_pairs(vka_ref_pattern pattern, const vka_ref_pattern_params *rule, uint32_t first, uint32_t nq,
                               uint32_t n, uint32_t heads, bool causal)
{
    uint64_t pairs = 0;
    uint32_t sections =
        pattern == VKA_REF_PATTERN_BLOCKWISE || (pattern == VKA_REF_PATTERN_LAYOUT && rule->layout_heads > 1) ? heads
                                                                                                              : 1;
    for (uint32_t h = 0; h < sections; h++)
        for (uint32_t i = first; i < first + nq; i++)
            pairs += row_keys(pattern, rule, n, h, i, causal);
    return sections == heads ? pairs : pairs * heads;
}

bool vka_ref_pattern_attention(const vka_ref_pattern_problem *p)
{
    double *s = malloc(p->n * sizeof *s);
    if (!s)
        return false;
    for (uint32_t b = 0; b < p->batch; b++) {
        uint32_t keys = p->kv_len ? (uint32_t)p->kv_len[b] : p->n;
        for (uint32_t h = 0; h < p->heads; h++) {
            size_t slice = (size_t)b * p->heads + h;
            uint32_t kv_heads = p->kv_heads ? p->kv_heads : p->heads;
            size_t kv_slice = (size_t)b * kv_heads + h / (p->heads / kv_heads);
            const double *q = p->q + slice * p->nq * p->d, *k = p->k + kv_slice * p->n * p->d;
            const double *v = p->v + kv_slice * p->n * p->dv;
            const double *mask = NULL;
            if (p->mask) {
                size_t mslice = (size_t)(p->mask_batch > 1 ? b : 0) * p->mask_heads + (p->mask_heads > 1 ? h : 0);
                mask = p->mask + mslice * p->nq * p->n;
            }
            for (uint32_t row = 0; row < p->nq; row++) {
                uint32_t i = row + (p->top_left ? 0 : p->n - p->nq); /* its position */
                double top = -INFINITY, total = 0;
                for (uint32_t j = 0; j < p->n; j++) {
                    bool seen = j < keys && (!p->causal || j <= i) &&
                                vka_ref_pattern_allows(p->pattern, &p->rule, p->n, h, i, j);
                    double dot = 0;
                    for (uint32_t c = 0; seen && c < p->d; c++)
                        dot += q[(size_t)row * p->d + c] * k[(size_t)j * p->d + c];
                    double l = dot * p->scale;
                    s[j] = !seen ? -INFINITY : p->softcap > 0 ? p->softcap * tanh(l / p->softcap) : l;
                    if (seen && mask)
                        s[j] += mask[(size_t)row * p->n + j];
                    top = fmax(top, s[j]);
                }
                double *o = p->out + (slice * p->nq + row) * p->dv;
                for (uint32_t c = 0; c < p->dv; c++)
                    o[c] = 0;
                if (top == -INFINITY) /* no key: 0 */
                    continue;
                if (p->sinks) { /* the sink joins the normaliser, with no value */
                    top = fmax(top, p->sinks[h]);
                    total = exp(p->sinks[h] - top);
                }
                for (uint32_t j = 0; j < p->n; j++)
                    total += (s[j] = s[j] == -INFINITY ? 0 : exp(s[j] - top));
                for (uint32_t j = 0; j < p->n; j++)
                    for (uint32_t c = 0; s[j] != 0 && c < p->dv; c++)
                        o[c] += s[j] / total * v[(size_t)j * p->dv + c];
            }
        }
    }
    free(s);
    return true;
}
