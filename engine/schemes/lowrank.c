/* Low-rank attention, SCHEMES.md §8: `linformer` and `nystrom`, both non-causal.
 *
 * linformer: the keys and values projected along the tokens, K̄ = E k, V̄ = F v with
 * E, F [kproj, ≥ Nk] (a projection longer than the keys uses its first Nk columns, as the
 * reference implementations slice it), then exact softmax attention of q over the kproj
 * projected keys: two products (E, F bound whole) and one flash dispatch; O(N·kproj).
 *
 * nystrom: m landmarks, the segment means of q and of k (see segment_means), and
 *   O = softmax(q K̃ᵀ s) · pinv(softmax(Q̃ K̃ᵀ s)) · softmax(Q̃ kᵀ s) v
 * with the pseudo-inverse by six steps of Z ← ¼Z(13I − ÃZ(15I − ÃZ(7I − ÃZ))) from
 * Z₀ = Ãᵀ / (max column sum · max row sum). The last factor is one flash dispatch (no m × N
 * buffer); the first a product and a row softmax (Nq × m); the inverse works on m × m.
 * With m ≥ Nq or m ≥ Nk it is exact softmax attention (one flash dispatch). */
#include "lowering/flash.h"
#include "lowering/matmul.h"
#include "graph/op.h"
#include "graph/params.h"
#include "common/random.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_PROJ_K, ROLE_PROJ_V };

enum { PINV_STEPS = 6, MAX_PINV_LANDMARKS = 1024 };

typedef struct lowrank_params {
    uint32_t batch, heads, nq, nk, d, dv;
    uint32_t rank;       /* kproj (linformer) or landmarks (nystrom) */
    uint32_t proj_width; /* linformer: the projections' second axis (≥ Nk) */
    bool drawn;          /* linformer: E, F from the seed */
    uint32_t seed;
    float scale;
} lowrank_params;

static const vka_input_info linformer_roles[] = {
    VKA_IN_Q,
    VKA_IN_K,
    VKA_IN_V,
    VKA_IN_OPTIONAL("proj_k", VKA_INPUT_LEARNED, "Kp=256,Nk", "E, the keys' projection (else drawn from seed)"),
    VKA_IN_OPTIONAL("proj_v", VKA_INPUT_LEARNED, "Kp=256,Nk", "F, the values' projection (else drawn from seed)"),
    {0},
};
static const vka_input_info nystrom_roles[] = {VKA_IN_Q, VKA_IN_K, VKA_IN_V, {0}};
/* Only 0: causal=1 is refused by name (the low-rank factors mix every position). */
#define NO_CAUSAL                                                                                                      \
    {                                                                                                                  \
        "causal", VKA_PARAM_BOOL, "no causal form: the factors mix every position", "0", NULL, 0, 0, NULL              \
    }
static const vka_param_info linformer_params[] = {
    VKA_PARAM_SCALE,
    {"kproj", VKA_PARAM_INT, "projected length k", NULL, "proj_k's rows, else 256", 1, 1u << 16, NULL},
    VKA_PARAM_SEED("draws the projections when none are given"),
    NO_CAUSAL,
    {0},
};
static const vka_param_info nystrom_params[] = {
    VKA_PARAM_SCALE,
    {"landmarks", VKA_PARAM_INT, "segment means m", "64", NULL, 1, 4096, NULL},
    NO_CAUSAL,
    {0},
};

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},           {ROLE_K, 1, "heads", ROLE_Q, 1},
    {ROLE_V, 0, "batch", ROLE_Q, 0},           {ROLE_V, 1, "heads", ROLE_Q, 1},
    {ROLE_K, 3, "head dim", ROLE_Q, 3},        {ROLE_V, 2, "tokens", ROLE_K, 2},
    {ROLE_PROJ_V, 0, "kproj", ROLE_PROJ_K, 0}, {ROLE_PROJ_V, 1, "length", ROLE_PROJ_K, 1},
};

/* q, k, v, the scale, and a clear refusal of causal=1 (the projections and the landmarks
 * mix every position: research/schemes.md §7.5, §7.6). */
static vka_result build_attention(vka_op_build *b, lowrank_params *p)
{
    bool causal = false;
    vka_result r;
    if ((r = vka_expect_qkv(b)) || (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))) ||
        (r = vka_param_scale(b->params, "scale", b->inputs[ROLE_Q]->dims[3], &p->scale)) ||
        (r = vka_param_bool(b->params, "causal", &causal)))
        return r;
    if (causal)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED,
                        "%s has no causal form: its low-rank factors mix every position (causal=1 refused)", b->op);
    const uint32_t *q = b->inputs[ROLE_Q]->dims;
    p->batch = q[0];
    p->heads = q[1];
    p->nq = q[2];
    p->d = q[3];
    p->nk = b->inputs[ROLE_K]->dims[2];
    p->dv = b->inputs[ROLE_V]->dims[3];
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

static vka_result build_linformer(vka_op_build *b)
{
    lowrank_params *p = b->parsed;
    vka_result r = build_attention(b, p);
    const vka_graph_tensor *e = b->inputs[ROLE_PROJ_K], *f = b->inputs[ROLE_PROJ_V];
    if (r == VKA_SUCCESS && !e != !f)
        r = vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                     "%s: give both proj_k and proj_v, or neither (drawn from seed)", b->op);
    if (r == VKA_SUCCESS && e)
        r = vka_expect_tensor(b, ROLE_PROJ_K, 2, VKA_DTYPE_F32, "[kproj, length ≥ keys]");
    if (r == VKA_SUCCESS && f)
        r = vka_expect_tensor(b, ROLE_PROJ_V, 2, VKA_DTYPE_F32, "[kproj, length ≥ keys]");
    if (r != VKA_SUCCESS || (r = vka_param_int_or(b->params, "kproj", e ? e->dims[0] : 256, &p->rank)) ||
        (r = vka_param_int(b->params, "seed", &p->seed)))
        return r;
    p->drawn = e == NULL;
    p->proj_width = e ? e->dims[1] : p->nk;
    if (e && p->rank != e->dims[0])
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: kproj=%u but proj_k has %u rows", b->op, p->rank,
                        e->dims[0]);
    if (p->proj_width < p->nk)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: the projections cover %u tokens (axis 1) but there are %u keys; they must cover them all",
                        b->op, p->proj_width, p->nk);
    return VKA_SUCCESS;
}

static vka_result build_nystrom(vka_op_build *b)
{
    lowrank_params *p = b->parsed;
    vka_result r = build_attention(b, p);
    return r == VKA_SUCCESS ? vka_param_int(b->params, "landmarks", &p->rank) : r;
}

/* ------------------------------------------------------------------ linformer */

/* args: rows, columns. N(0, 1/rows): a projected key sums `columns` keys. */
static vka_result draw_projection(uint64_t seed, const uint32_t args[4], float *out)
{
    vka_random_gaussian(seed, (size_t)args[0] * args[1], 1.0 / sqrt((double)args[0]), out);
    return VKA_SUCCESS;
}

/* out (rank × width per slice) = P[:, :N] x: the tokens of x projected by P, bound whole. */
static vka_result project_tokens(vka_lowering *lw, const lowrank_params *p, uint32_t projection, uint32_t x,
                                 uint32_t width, uint32_t out)
{
    return vka_lower_matmul(lw, &(vka_matmul_desc){.a = projection,
                                                   .b = x,
                                                   .c = out,
                                                   .slices = p->batch * p->heads,
                                                   .m = p->rank,
                                                   .n = width,
                                                   .k = p->nk,
                                                   .alpha = 1.0f,
                                                   .a_whole = true,
                                                   .lda = vka_div_up(p->proj_width, 4)});
}

static vka_result lower_linformer(vka_lowering *lw, const vka_op_node *node)
{
    const lowrank_params *p = node->params;
    uint32_t e = vka_lower_input(lw, node, ROLE_PROJ_K), f = vka_lower_input(lw, node, ROLE_PROJ_V), keys, values,
             counts, dims[2] = {p->rank, p->proj_width};
    vka_result r = VKA_SUCCESS;
    if (p->drawn) {
        r = vka_lower_drawn_constant(lw, "proj_k", 2, dims, draw_projection, (uint32_t[4]){p->rank, p->nk}, p->seed,
                                     &e);
        if (r == VKA_SUCCESS)
            r = vka_lower_drawn_constant(lw, "proj_v", 2, dims, draw_projection, (uint32_t[4]){p->rank, p->nk},
                                         p->seed + 1, &f);
        /* [rank, N] each, the size of a head's keys: held in the result's type */
        if (r == VKA_SUCCESS && vka_lower_storage_dtype(lw, node) == VKA_DTYPE_F16 &&
            !(r = vka_lower_store_as(lw, e, VKA_DTYPE_F16)))
            r = vka_lower_store_as(lw, f, VKA_DTYPE_F16);
    }
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "keys", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, p->rank, p->d},
                                   &keys);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "values", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, p->rank, p->dv},
                                   &values);
    if (r == VKA_SUCCESS)
        r = vka_lower_key_counts(lw, "kv_len", p->batch, p->rank, &counts);
    if (r == VKA_SUCCESS)
        r = project_tokens(lw, p, e, vka_lower_input(lw, node, ROLE_K), p->d, keys);
    if (r == VKA_SUCCESS)
        r = project_tokens(lw, p, f, vka_lower_input(lw, node, ROLE_V), p->dv, values);
    if (r == VKA_SUCCESS)
        r = vka_lower_flash(lw, &(vka_flash_desc){.q = vka_lower_input(lw, node, ROLE_Q),
                                                  .k = keys,
                                                  .v = values,
                                                  .out = vka_lower_result(lw, node),
                                                  .kv_len = counts,
                                                  .batch = p->batch,
                                                  .heads = p->heads,
                                                  .nq = p->nq,
                                                  .nk = p->rank,
                                                  .d = p->d,
                                                  .dv = p->dv,
                                                  .scale = p->scale});
    return r;
}

static vka_result reference_linformer(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in,
                                      vka_ref_view *out)
{
    const lowrank_params *p = node->params;
    size_t count = (size_t)p->rank * p->proj_width;
    double *drawn[2] = {NULL, NULL};
    float *f = p->drawn ? malloc(count * sizeof *f) : NULL;
    bool ok = !p->drawn || f;
    for (int i = 0; ok && p->drawn && i < 2; i++) {
        draw_projection(p->seed + (uint32_t)i, (uint32_t[4]){p->rank, p->nk}, f);
        ok = (drawn[i] = malloc(count * sizeof *drawn[i])) != NULL;
        for (size_t j = 0; ok && j < count; j++)
            drawn[i][j] = f[j];
    }
    free(f);
    ok = ok && vka_ref_linformer(&(vka_ref_lowrank_problem){.batch = p->batch,
                                                            .heads = p->heads,
                                                            .nq = p->nq,
                                                            .nk = p->nk,
                                                            .d = p->d,
                                                            .dv = p->dv,
                                                            .rank = p->rank,
                                                            .proj_width = p->proj_width,
                                                            .proj_k = p->drawn ? drawn[0] : in[ROLE_PROJ_K].data,
                                                            .proj_v = p->drawn ? drawn[1] : in[ROLE_PROJ_V].data,
                                                            .scale = p->scale,
                                                            .q = in[ROLE_Q].data,
                                                            .k = in[ROLE_K].data,
                                                            .v = in[ROLE_V].data,
                                                            .out = out->data});
    free(drawn[0]);
    free(drawn[1]);
    return ok ? VKA_SUCCESS : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the reference");
}

/* The two projections and the attention over kproj keys. */
static double flops_linformer(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const lowrank_params *p = node->params;
    return 2.0 * p->batch * p->heads * p->rank * ((double)p->nk * (p->d + p->dv) + (double)p->nq * (p->d + p->dv));
}

VKA_OP_CLASS(linformer) = {
    .name = "linformer",
    .summary = "softmax(q (E k)ᵀ·scale) (F v): keys and values projected to kproj along the tokens "
               "(proj_k, proj_v [kproj, ≥ Nk], or drawn from seed); non-causal",
    .inputs = linformer_roles,
    .output_shape = "B,H,Nq,Dv",
    .rows_independent = true,
    .params = linformer_params,
    .params_size = sizeof(lowrank_params),
    .build = build_linformer,
    .lower = lower_linformer,
    .reference = reference_linformer,
    .flops = flops_linformer,
};

/* ------------------------------------------------------------------ nystrom */

/* The averaging matrix [m, n] whose product with x gives its m segment means
 * (vka_ref_segments: segment s starts at ⌊s·n/m⌋). */
static vka_result segment_means_matrix(vka_lowering *lw, const char *name, uint32_t m, uint32_t n, uint32_t *out)
{
    float *avg = calloc((size_t)m * n, sizeof *avg);
    uint32_t *first = malloc((m + 1) * sizeof *first);
    vka_result r = avg && first ? VKA_SUCCESS
                                : vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY,
                                           "out of host memory building the landmarks");
    if (r == VKA_SUCCESS) {
        vka_ref_segments(n, m, first);
        for (uint32_t s = 0; s < m; s++)
            for (uint32_t t = first[s]; t < first[s + 1]; t++)
                avg[(size_t)s * n + t] = 1.0f / (float)(first[s + 1] - first[s]);
        r = vka_lower_constant(lw, name, VKA_DTYPE_F32, 2, (uint32_t[]){m, n}, avg, out);
    }
    free(avg);
    free(first);
    return r;
}

typedef struct nystrom_plan {
    const lowrank_params *p;
    uint32_t slices, m;
} nystrom_plan;

/* c = alpha·a·op(b) + diagonal·I over the slices (m × m unless said). */
static vka_result product(vka_lowering *lw, const nystrom_plan *np, uint32_t a, uint32_t b, uint32_t c, uint32_t rows,
                          uint32_t cols, uint32_t inner, bool trans_b, float alpha, float diagonal)
{
    return vka_lower_matmul(lw, &(vka_matmul_desc){.a = a,
                                                   .b = b,
                                                   .c = c,
                                                   .slices = np->slices,
                                                   .m = rows,
                                                   .n = cols,
                                                   .k = inner,
                                                   .alpha = alpha,
                                                   .trans_b = trans_b,
                                                   .diagonal = diagonal});
}

/* z ← pinv(a) by the iteration of SCHEMES.md §8, ping-ponging between z[0] and z[1];
 * *result is the one holding it. az, t, u: m × m scratch. */
static vka_result lower_pinv(vka_lowering *lw, const nystrom_plan *np, uint32_t a, const uint32_t z[2], uint32_t az,
                             uint32_t t, uint32_t u, uint32_t *result)
{
    uint32_t m = np->m;
    vka_result r = vka_lower_dispatch(
        lw, &(vka_dispatch_desc){.kernel = VKA_KERNEL_PINV_INIT,
                                 .spec.pinv_init = {.workgroup_size = 64},
                                 .push.pinv_init = {.m = m},
                                 .groups_x = 1,
                                 .groups_y = 1,
                                 .slices = np->slices,
                                 .bindings = {{.tensor = a, .access = VKA_READ, .whole = false},
                                              {.tensor = z[0], .access = VKA_WRITE, .whole = false}}});
    uint32_t current = 0;
    for (int step = 0; r == VKA_SUCCESS && step < PINV_STEPS; step++) {
        uint32_t zc = z[current], zn = z[1 - current];
        if ((r = product(lw, np, a, zc, az, m, m, m, false, 1.0f, 0.0f)) ||  /* AZ */
            (r = product(lw, np, a, zc, t, m, m, m, false, -1.0f, 7.0f)) ||  /* 7I − AZ */
            (r = product(lw, np, az, t, u, m, m, m, false, -1.0f, 15.0f)) || /* 15I − AZ(7I − AZ) */
            (r = product(lw, np, az, u, t, m, m, m, false, -1.0f, 13.0f)) || /* 13I − AZ(…) */
            (r = product(lw, np, zc, t, zn, m, m, m, false, 0.25f, 0.0f)))   /* ¼ Z(…) */
            break;
        current = 1 - current;
    }
    *result = z[current];
    return r;
}

static vka_result lower_exact(vka_lowering *lw, const vka_op_node *node, const lowrank_params *p)
{
    uint32_t counts;
    vka_result r = vka_lower_key_counts(lw, "kv_len", p->batch, p->nk, &counts);
    return r ? r
             : vka_lower_flash(lw, &(vka_flash_desc){.q = vka_lower_input(lw, node, ROLE_Q),
                                                     .k = vka_lower_input(lw, node, ROLE_K),
                                                     .v = vka_lower_input(lw, node, ROLE_V),
                                                     .out = vka_lower_result(lw, node),
                                                     .kv_len = counts,
                                                     .batch = p->batch,
                                                     .heads = p->heads,
                                                     .nq = p->nq,
                                                     .nk = p->nk,
                                                     .d = p->d,
                                                     .dv = p->dv,
                                                     .scale = p->scale});
}

static vka_result lower_nystrom(vka_lowering *lw, const vka_op_node *node)
{
    const lowrank_params *p = node->params;
    uint32_t m = p->rank;
    if (m >= p->nq || m >= p->nk)
        return lower_exact(lw, node, p);
    if (m > MAX_PINV_LANDMARKS)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_UNSUPPORTED,
                        "nystrom: %u landmarks; the pseudo-inverse supports at most %d (below the sequence length)", m,
                        MAX_PINV_LANDMARKS);
    nystrom_plan np = {.p = p, .slices = p->batch * p->heads, .m = m};
    uint32_t q = vka_lower_input(lw, node, ROLE_Q), k = vka_lower_input(lw, node, ROLE_K);
    uint32_t avg_q, avg_k, lq, lk, f, a, bv, z[2], az, t, u, w, zf, all_landmarks, all_keys;
    uint32_t mm[4] = {p->batch, p->heads, m, m};
    vka_result r;
    if ((r = segment_means_matrix(lw, "segments_q", m, p->nq, &avg_q)) ||
        (r = segment_means_matrix(lw, "segments_k", m, p->nk, &avg_k)) ||
        (r = vka_lower_key_counts(lw, "landmark_count", p->batch, m, &all_landmarks)) ||
        (r = vka_lower_key_counts(lw, "kv_len", p->batch, p->nk, &all_keys)) ||
        (r = vka_lower_intermediate(lw, "landmarks_q", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, m, p->d},
                                    &lq)) ||
        (r = vka_lower_intermediate(lw, "landmarks_k", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, m, p->d},
                                    &lk)) ||
        (r = vka_lower_intermediate(lw, "kernel_q", vka_lower_storage_dtype(lw, node), 4,
                                    (uint32_t[]){p->batch, p->heads, p->nq, m},
                                    &f)) || /* per query: the result's type */
        (r = vka_lower_intermediate(lw, "kernel_landmarks", VKA_DTYPE_F32, 4, mm, &a)) ||
        (r = vka_lower_intermediate(lw, "landmark_values", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, m, p->dv},
                                    &bv)) ||
        (r = vka_lower_intermediate(lw, "pinv_a", VKA_DTYPE_F32, 4, mm, &z[0])) ||
        (r = vka_lower_intermediate(lw, "pinv_b", VKA_DTYPE_F32, 4, mm, &z[1])) ||
        (r = vka_lower_intermediate(lw, "pinv_az", VKA_DTYPE_F32, 4, mm, &az)) ||
        (r = vka_lower_intermediate(lw, "pinv_t", VKA_DTYPE_F32, 4, mm, &t)) ||
        (r = vka_lower_intermediate(lw, "pinv_u", VKA_DTYPE_F32, 4, mm, &u)) ||
        (r = vka_lower_intermediate(lw, "mixed_values", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, m, p->dv},
                                    &w)))
        return r;
    /* Landmarks: segment means of q and k. */
    vka_matmul_desc mean = {.slices = np.slices, .m = m, .alpha = 1.0f, .a_whole = true};
    mean.a = avg_q, mean.b = q, mean.c = lq, mean.n = p->d, mean.k = p->nq;
    if ((r = vka_lower_matmul(lw, &mean)))
        return r;
    mean.a = avg_k, mean.b = k, mean.c = lk, mean.k = p->nk;
    if ((r = vka_lower_matmul(lw, &mean)) ||
        /* F̃ = softmax(q K̃ᵀ s) and Ã = softmax(Q̃ K̃ᵀ s), materialised (N × m, m × m) */
        (r = product(lw, &np, q, lk, f, p->nq, m, p->d, true, p->scale, 0.0f)) ||
        (r = vka_lower_row_softmax(lw, f, all_landmarks, p->batch, p->heads, p->nq, m, false, NULL)) ||
        (r = product(lw, &np, lq, lk, a, m, m, p->d, true, p->scale, 0.0f)) ||
        (r = vka_lower_row_softmax(lw, a, all_landmarks, p->batch, p->heads, m, m, false, NULL)) ||
        /* B̃ v = softmax(Q̃ kᵀ s) v by flash: no m × N buffer */
        (r = vka_lower_flash(lw, &(vka_flash_desc){.q = lq,
                                                   .k = k,
                                                   .v = vka_lower_input(lw, node, ROLE_V),
                                                   .out = bv,
                                                   .kv_len = all_keys,
                                                   .batch = p->batch,
                                                   .heads = p->heads,
                                                   .nq = m,
                                                   .nk = p->nk,
                                                   .d = p->d,
                                                   .dv = p->dv,
                                                   .scale = p->scale})) ||
        (r = lower_pinv(lw, &np, a, z, az, t, u, &zf)) ||
        (r = product(lw, &np, zf, bv, w, m, p->dv, m, false, 1.0f, 0.0f)))
        return r;
    return product(lw, &np, f, w, vka_lower_result(lw, node), p->nq, p->dv, m, false, 1.0f, 0.0f);
}

static vka_result reference_nystrom(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in,
                                    vka_ref_view *out)
{
    const lowrank_params *p = node->params;
    bool ok = vka_ref_nystrom(&(vka_ref_lowrank_problem){.batch = p->batch,
                                                         .heads = p->heads,
                                                         .nq = p->nq,
                                                         .nk = p->nk,
                                                         .d = p->d,
                                                         .dv = p->dv,
                                                         .rank = p->rank,
                                                         .scale = p->scale,
                                                         .q = in[ROLE_Q].data,
                                                         .k = in[ROLE_K].data,
                                                         .v = in[ROLE_V].data,
                                                         .out = out->data});
    return ok ? VKA_SUCCESS : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the reference");
}

/* The landmark attentions, the pseudo-inverse's products and the final two products. */
static double flops_nystrom(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const lowrank_params *p = node->params;
    double m = p->rank, per_slice;
    if (p->rank >= p->nq || p->rank >= p->nk)
        per_slice = 2.0 * p->nq * p->nk * (p->d + p->dv);
    else
        per_slice = 2.0 * m * (p->nq + p->nk) * p->d + 2.0 * m * p->nk * (p->d + p->dv) + 2.0 * m * m * p->d +
                    PINV_STEPS * 5 * 2.0 * m * m * m + 2.0 * m * m * p->dv + 2.0 * p->nq * m * p->dv;
    return per_slice * p->batch * p->heads;
}

VKA_OP_CLASS(nystrom) = {
    .name = "nystrom",
    .summary = "Nyströmformer: landmarks=m segment means, softmax(qK̃ᵀ)·pinv(softmax(Q̃K̃ᵀ))·softmax(Q̃kᵀ)v; "
               "exact when m ≥ N; non-causal",
    .inputs = nystrom_roles,
    .output_shape = "B,H,Nq,Dv",
    .rows_independent = false, /* the landmarks are means over all queries */
    .params = nystrom_params,
    .params_size = sizeof(lowrank_params),
    .build = build_nystrom,
    .lower = lower_nystrom,
    .reference = reference_nystrom,
    .flops = flops_nystrom,
};
