/* Hashing and clustering (SCHEMES.md §9) in double, straight from the definitions: the
 * Reformer's LSH attention with a plain stable sort per round, and clustered attention
 * with Lloyd's iterations over Hamming codes. The kernels' counting sort, blocked
 * reductions and radix selection are nowhere here. */
#include "ref.h"

#include "common/random.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t existing(const int32_t *kv_len, uint32_t b, uint32_t n)
{
    if (!kv_len)
        return n;
    return kv_len[b] < 0 ? 0 : ((uint32_t)kv_len[b] < n ? (uint32_t)kv_len[b] : n);
}

static double dot(const double *a, const double *b, uint32_t n)
{
    double s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

double *vka_ref_gaussian_or(const double *given, uint64_t seed, size_t count)
{
    double *values = malloc((count ? count : 1) * sizeof *values);
    float *drawn = given ? NULL : malloc((count ? count : 1) * sizeof *drawn);
    if (values && (given || drawn)) {
        if (drawn)
            vka_random_gaussian(seed, count, 1.0, drawn);
        for (size_t i = 0; i < count; i++)
            values[i] = drawn ? drawn[i] : given[i];
    } else {
        free(values);
        values = NULL;
    }
    free(drawn);
    return values;
}

/* ------------------------------------------------------------------------- reformer */

/* argmax over [x R, −x R] (the first of equal maxima); R is d × half. */
static uint32_t lsh_bucket(const double *x, const double *rotation, uint32_t d, uint32_t half)
{
    uint32_t best = 0;
    double top = -INFINITY;
    for (uint32_t t = 0; t < 2 * half; t++) {
        double s = 0;
        for (uint32_t i = 0; i < d; i++)
            s += x[i] * rotation[(size_t)i * half + t % half];
        s = t < half ? s : -s;
        if (s > top) {
            top = s;
            best = t;
        }
    }
    return best;
}

/* One round of one slice: every query's output and log-sum-exp (−∞: no key). */
static void reformer_round(const vka_ref_reformer_problem *a, const double *q, const double *keys, const double *v,
                           uint32_t limit, const double *rotation, uint32_t *bucket, uint32_t *order, double *o,
                           double *lse)
{
    uint32_t n = a->n, dv = a->dv;
    for (uint32_t j = 0; j < n; j++) /* tokens past kv_len: a bucket after all others */
        bucket[j] = j < limit ? lsh_bucket(q + (size_t)j * a->d, rotation, a->d, a->buckets / 2) : a->buckets;
    uint32_t placed = 0; /* stable: by bucket, then position */
    for (uint32_t b = 0; b <= a->buckets; b++)
        for (uint32_t j = 0; j < n; j++)
            if (bucket[j] == b)
                order[placed++] = j;
    for (uint32_t p = 0; p < n; p++) {
        uint32_t i = order[p], chunk = p / a->chunk;
        uint32_t first = chunk ? (chunk - 1) * a->chunk : 0,
                 end = (chunk + 1) * a->chunk < n ? (chunk + 1) * a->chunk : n;
        double *oi = o + (size_t)i * dv;
        memset(oi, 0, dv * sizeof *oi);
        lse[i] = -INFINITY;
        if (i >= limit)
            continue;
        bool other = false; /* the query sees itself only when it sees nothing else */
        for (uint32_t s = first; s < end; s++) {
            uint32_t j = order[s];
            other = other || (j != i && j < limit && (!a->causal || j <= i));
        }
        double top = -INFINITY, sum = 0;
        for (int pass = 0; pass < 2; pass++)
            for (uint32_t s = first; s < end; s++) {
                uint32_t j = order[s];
                if (j >= limit || (a->causal && j > i) || (other && j == i))
                    continue;
                double l = dot(q + (size_t)i * a->d, keys + (size_t)j * a->d, a->d) * a->scale;
                if (pass == 0) {
                    top = fmax(top, l);
                    continue;
                }
                double w = exp(l - top);
                sum += w;
                for (uint32_t c = 0; c < dv; c++)
                    oi[c] += w * v[(size_t)j * dv + c];
            }
        for (uint32_t c = 0; c < dv; c++)
            oi[c] /= sum;
        lse[i] = top + log(sum);
    }
}

bool vka_ref_reformer(const vka_ref_reformer_problem *a)
{
    uint32_t n = a->n, r = a->rounds, dv = a->dv;
    double *keys = malloc((size_t)n * a->d * sizeof *keys), *o = malloc((size_t)r * n * dv * sizeof *o),
           *lse = malloc((size_t)r * n * sizeof *lse);
    uint32_t *bucket = malloc((size_t)n * sizeof *bucket), *order = malloc((size_t)n * sizeof *order);
    bool ok = keys && o && lse && bucket && order;
    for (uint32_t b = 0; ok && b < a->batch; b++)
        for (uint32_t h = 0; h < a->heads; h++) {
            size_t slice = (size_t)b * a->heads + h, kv_heads = a->kv_heads ? a->kv_heads : a->heads;
            size_t v_slice = (size_t)b * kv_heads + h / (a->heads / kv_heads);
            const double *q = a->q + slice * n * a->d, *v = a->v + v_slice * n * dv;
            uint32_t limit = existing(a->kv_len, b, n);
            for (uint32_t j = 0; j < n; j++) { /* shared QK: the keys are the unit queries */
                double norm = sqrt(dot(q + (size_t)j * a->d, q + (size_t)j * a->d, a->d));
                for (uint32_t i = 0; i < a->d; i++)
                    keys[(size_t)j * a->d + i] = norm > 0 ? q[(size_t)j * a->d + i] / norm : 0;
            }
            for (uint32_t round = 0; round < r; round++)
                reformer_round(a, q, keys, v, limit, a->rotations + (size_t)round * a->d * (a->buckets / 2), bucket,
                               order, o + (size_t)round * n * dv, lse + (size_t)round * n);
            double *out = a->out + slice * n * dv;
            for (uint32_t i = 0; i < n; i++) { /* rounds weighted by their log-sum-exp */
                double top = -INFINITY, total = 0;
                for (uint32_t round = 0; round < r; round++)
                    top = fmax(top, lse[(size_t)round * n + i]);
                for (uint32_t round = 0; round < r && top > -INFINITY; round++)
                    total += exp(lse[(size_t)round * n + i] - top);
                for (uint32_t c = 0; c < dv; c++) {
                    double s = 0;
                    for (uint32_t round = 0; round < r && top > -INFINITY; round++)
                        s += exp(lse[(size_t)round * n + i] - top) / total * o[((size_t)round * n + i) * dv + c];
                    out[(size_t)i * dv + c] = s;
                }
            }
        }
    free(keys);
    free(o);
    free(lse);
    free(bucket);
    free(order);
    return ok;
}

/* ------------------------------------------------------------------------ clustered */

static uint64_t sign_code(const double *x, const double *planes, uint32_t d, uint32_t bits)
{
    uint64_t code = 0;
    for (uint32_t b = 0; b < bits; b++) {
        const double *w = planes + (size_t)b * (d + 1);
        if (dot(x, w, d) + w[d] > 0)
            code |= 1ull << b;
    }
    return code;
}

static uint32_t hamming(uint64_t a, uint64_t b)
{
    uint32_t n = 0;
    for (uint64_t x = a ^ b; x; x &= x - 1)
        n++;
    return n;
}

/* Lloyd in Hamming space: start from contiguous blocks of queries; each iteration sets a
 * cluster's code to its members' per-bit majority (an empty cluster keeps its code), then
 * moves every query to its nearest code, staying put on a tie. */
static void lloyd(const uint64_t *codes, uint32_t nq, uint32_t clusters, uint32_t iters, uint32_t bits,
                  uint32_t *assign, uint64_t *centre, uint32_t *count, uint32_t *bit_count)
{
    for (uint32_t i = 0; i < nq; i++)
        assign[i] = (uint32_t)((uint64_t)i * clusters / nq);
    memset(centre, 0, clusters * sizeof *centre);
    for (uint32_t it = 0; it < iters; it++) {
        memset(count, 0, clusters * sizeof *count);
        memset(bit_count, 0, (size_t)clusters * 64 * sizeof *bit_count);
        for (uint32_t i = 0; i < nq; i++) {
            count[assign[i]]++;
            for (uint32_t b = 0; b < bits; b++)
                bit_count[(size_t)assign[i] * 64 + b] += (uint32_t)(codes[i] >> b) & 1u;
        }
        for (uint32_t c = 0; c < clusters; c++) {
            if (!count[c])
                continue;
            centre[c] = 0;
            for (uint32_t b = 0; b < bits; b++)
                if (2 * bit_count[(size_t)c * 64 + b] > count[c])
                    centre[c] |= 1ull << b;
        }
        for (uint32_t i = 0; i < nq; i++) {
            uint32_t best = assign[i], best_distance = hamming(codes[i], centre[best]);
            for (uint32_t c = 0; c < clusters; c++) {
                uint32_t distance = hamming(codes[i], centre[c]);
                if (distance < best_distance) {
                    best = c;
                    best_distance = distance;
                }
            }
            assign[i] = best;
        }
    }
}

/* The keys of the `want` largest logits (ties: the lower index first). */
static void top_keys(const double *logits, uint32_t limit, uint32_t want, uint32_t *chosen)
{
    for (uint32_t t = 0; t < want; t++) {
        uint32_t best = UINT32_MAX;
        for (uint32_t j = 0; j < limit; j++) {
            bool taken = false;
            for (uint32_t u = 0; u < t && !taken; u++)
                taken = chosen[u] == j;
            if (!taken && (best == UINT32_MAX || logits[j] > logits[best]))
                best = j;
        }
        chosen[t] = best;
    }
}

typedef struct clustered_scratch {
    uint64_t *codes, *centre;
    uint32_t *assign, *count, *bit_count, *chosen;
    double *centroid, *logits, *weights;
} clustered_scratch;

/* One cluster's centroid attention, and (topk) each member's exact scores on its top keys. */
static void cluster_outputs(const vka_ref_clustered_problem *a, clustered_scratch *s, uint32_t c, const double *q,
                            const double *k, const double *v, uint32_t limit, double *out)
{
    uint32_t d = a->d, dv = a->dv;
    double top = -INFINITY, sum = 0;
    for (uint32_t j = 0; j < limit; j++) {
        s->logits[j] = dot(s->centroid, k + (size_t)j * d, d) * a->scale;
        top = fmax(top, s->logits[j]);
    }
    for (uint32_t j = 0; j < limit; j++)
        sum += (s->weights[j] = exp(s->logits[j] - top));
    for (uint32_t j = 0; j < limit; j++)
        s->weights[j] /= sum;
    uint32_t want = a->topk < limit ? a->topk : limit;
    top_keys(s->logits, limit, want, s->chosen);
    double mass = 0;
    for (uint32_t t = 0; t < want; t++)
        mass += s->weights[s->chosen[t]];
    for (uint32_t i = 0; i < a->nq; i++) {
        if (s->assign[i] != c)
            continue;
        double *oi = out + (size_t)i * dv;
        for (uint32_t col = 0; col < dv; col++) { /* the centroid's weights off the top keys */
            double acc = 0;
            for (uint32_t j = 0; j < limit; j++)
                acc += s->weights[j] * v[(size_t)j * dv + col];
            for (uint32_t t = 0; t < want; t++)
                acc -= s->weights[s->chosen[t]] * v[(size_t)s->chosen[t] * dv + col];
            oi[col] = acc;
        }
        double own_top = -INFINITY, own_sum = 0; /* on the top keys: the member's own softmax, scaled to their mass */
        for (uint32_t t = 0; t < want; t++)
            own_top = fmax(own_top, dot(q + (size_t)i * d, k + (size_t)s->chosen[t] * d, d) * a->scale);
        for (uint32_t t = 0; t < want; t++)
            own_sum += exp(dot(q + (size_t)i * d, k + (size_t)s->chosen[t] * d, d) * a->scale - own_top);
        for (uint32_t t = 0; t < want; t++) {
            double w =
                mass * exp(dot(q + (size_t)i * d, k + (size_t)s->chosen[t] * d, d) * a->scale - own_top) / own_sum;
            for (uint32_t col = 0; col < dv; col++)
                oi[col] += w * v[(size_t)s->chosen[t] * dv + col];
        }
    }
}

static void clustered_slice(const vka_ref_clustered_problem *a, clustered_scratch *s, const double *q, const double *k,
                            const double *v, uint32_t limit, double *out)
{
    for (uint32_t i = 0; i < a->nq; i++)
        s->codes[i] = sign_code(q + (size_t)i * a->d, a->planes, a->d, a->bits);
    lloyd(s->codes, a->nq, a->clusters, a->iters, a->bits, s->assign, s->centre, s->count, s->bit_count);
    memset(out, 0, (size_t)a->nq * a->dv * sizeof *out);
    for (uint32_t c = 0; c < a->clusters; c++) {
        uint32_t members = 0; /* the centroid: the mean of its members' queries */
        memset(s->centroid, 0, a->d * sizeof *s->centroid);
        for (uint32_t i = 0; i < a->nq; i++)
            if (s->assign[i] == c) {
                members++;
                for (uint32_t x = 0; x < a->d; x++)
                    s->centroid[x] += q[(size_t)i * a->d + x];
            }
        if (!members || !limit)
            continue;
        for (uint32_t x = 0; x < a->d; x++)
            s->centroid[x] /= members;
        cluster_outputs(a, s, c, q, k, v, limit, out);
    }
}

bool vka_ref_clustered(const vka_ref_clustered_problem *a)
{
    clustered_scratch s = {
        .codes = malloc((size_t)a->nq * sizeof *s.codes),
        .centre = malloc((size_t)a->clusters * sizeof *s.centre),
        .assign = malloc((size_t)a->nq * sizeof *s.assign),
        .count = malloc((size_t)a->clusters * sizeof *s.count),
        .bit_count = malloc((size_t)a->clusters * 64 * sizeof *s.bit_count),
        .chosen = malloc(((size_t)a->topk + 1) * sizeof *s.chosen),
        .centroid = malloc((size_t)a->d * sizeof *s.centroid),
        .logits = malloc(((size_t)a->nk + 1) * sizeof *s.logits),
        .weights = malloc(((size_t)a->nk + 1) * sizeof *s.weights),
    };
    bool ok =
        s.codes && s.centre && s.assign && s.count && s.bit_count && s.chosen && s.centroid && s.logits && s.weights;
    uint32_t kv_heads = a->kv_heads ? a->kv_heads : a->heads, group = a->heads / kv_heads;
    for (uint32_t b = 0; ok && b < a->batch; b++)
        for (uint32_t h = 0; h < a->heads; h++) {
            size_t slice = (size_t)b * a->heads + h, kv_slice = (size_t)b * kv_heads + h / group;
            clustered_slice(a, &s, a->q + slice * a->nq * a->d, a->k + kv_slice * a->nk * a->d,
                            a->v + kv_slice * a->nk * a->dv, existing(a->kv_len, b, a->nk),
                            a->out + slice * a->nq * a->dv);
        }
    free(s.codes);
    free(s.centre);
    free(s.assign);
    free(s.count);
    free(s.bit_count);
    free(s.chosen);
    free(s.centroid);
    free(s.logits);
    free(s.weights);
    return ok;
}
