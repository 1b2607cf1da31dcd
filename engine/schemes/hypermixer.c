/* `hypermixer` — HyperMixer token mixing, SCHEMES.md §5 (Mai et al. 2023). Two
 * hypernetworks, Linear(D→D, no bias) → GELU → Linear(D→p, bias), shared by the heads,
 * generate the mixing matrices from the tokens themselves:
 *
 *   Wk = MLP_k(k)  (Nk × p),   Wq = MLP_q(q)  (Nq × p),   O = Wq · GELU(Wkᵀ v)  (Nq × Dv)
 *
 * Lowered to matrix products only (the GELUs and biases are their epilogues), with the
 * tokens streamed in chunks of CHUNK_ROWS so that the generated matrices never exist
 * whole: per key chunk, hk = GELU(k W1), Wk = hk W2 + b, S += Wkᵀ v (the contraction
 * stops at kv_len: missing keys' rows of Wk take no part); GELU on the last chunk; then per
 * query chunk hq, Wq and O = Wq · GELU(S). Memory O(p·Dv + chunk·(D + p)) past the
 * inputs and output; no Nq × Nk buffer anywhere.
 *
 * Without weights, all six are drawn from `seed` (weights N(0, 1/fan_in), biases 0) with
 * the hidden size `p` (default 64): benchmarks and quick runs. Given weights are [in, out],
 * or PyTorch's [out, in] with weight_layout=out_in (read transposed in place, as `dense`). */
#include "lowering/matmul.h"
#include "graph/op.h"
#include "graph/params.h"
#include "common/random.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_K1, ROLE_K2, ROLE_K2_BIAS, ROLE_Q1, ROLE_Q2, ROLE_Q2_BIAS, ROLE_KV_LEN };

enum { CHUNK_ROWS = 2048, WEIGHT_COUNT = 6 };

typedef struct hypermixer_params {
    uint32_t batch, heads, nq, nk, d, dv, p;
    bool drawn;  /* weights from the seed */
    bool out_in; /* given weights stored [out, in] */
    uint32_t seed;
} hypermixer_params;

#define WEIGHT(ROLE, SHAPE, SUMMARY) VKA_IN_OPTIONAL(ROLE, VKA_INPUT_LEARNED, SHAPE, SUMMARY " (else drawn from seed)")
static const vka_input_info roles[] = {
    VKA_IN_Q,
    VKA_IN_K,
    VKA_IN_V,
    WEIGHT("mlp_k1", "D,D", "the keys' hypernetwork, layer 1 [in, out]"),
    WEIGHT("mlp_k2", "D,P=64", "the keys' hypernetwork, layer 2 [in, out]"),
    WEIGHT("mlp_k2_bias", "P", "its bias"),
    WEIGHT("mlp_q1", "D,D", "the queries' hypernetwork, layer 1 [in, out]"),
    WEIGHT("mlp_q2", "D,P", "the queries' hypernetwork, layer 2 [in, out]"),
    WEIGHT("mlp_q2_bias", "P", "its bias"),
    VKA_IN_KV_LEN,
    {0},
};
static const char *const layouts[] = {"in_out", "out_in", NULL};
static const vka_param_info params[] = {
    {"p", VKA_PARAM_INT, "the hypernetworks' hidden size", NULL, "the weights' (mlp_k2), else 64", 1, 4096, NULL},
    VKA_PARAM_SEED("draws the six weights when none are given"),
    {"weight_layout", VKA_PARAM_ENUM, "the weights stored [in, out], or [out, in] (PyTorch's Linear)", "in_out",
     .choices = layouts},
    {0},
};

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},      {ROLE_K, 1, "heads", ROLE_Q, 1},    {ROLE_V, 0, "batch", ROLE_Q, 0},
    {ROLE_V, 1, "heads", ROLE_Q, 1},      {ROLE_K, 3, "head dim", ROLE_Q, 3}, {ROLE_V, 2, "tokens", ROLE_K, 2},
    {ROLE_KV_LEN, 0, "batch", ROLE_Q, 0}, /* the weights' rules ([in, out]) from here */
    {ROLE_K1, 0, "in (D)", ROLE_Q, 3},    {ROLE_K1, 1, "out (D)", ROLE_Q, 3}, {ROLE_K2, 0, "in (D)", ROLE_Q, 3},
    {ROLE_K2_BIAS, 0, "p", ROLE_K2, 1},   {ROLE_Q1, 0, "in (D)", ROLE_Q, 3},  {ROLE_Q1, 1, "out (D)", ROLE_Q, 3},
    {ROLE_Q2, 0, "in (D)", ROLE_Q, 3},    {ROLE_Q2, 1, "p", ROLE_K2, 1},      {ROLE_Q2_BIAS, 0, "p", ROLE_K2, 1},
};
enum { SHARED_RULES = 7 };

/* The weights' rules when stored [out, in]. */
static const vka_axis_rule weight_rules_out_in[] = {
    {ROLE_K1, 1, "in (D)", ROLE_Q, 3},  {ROLE_K1, 0, "out (D)", ROLE_Q, 3}, {ROLE_K2, 1, "in (D)", ROLE_Q, 3},
    {ROLE_K2_BIAS, 0, "p", ROLE_K2, 0}, {ROLE_Q1, 1, "in (D)", ROLE_Q, 3},  {ROLE_Q1, 0, "out (D)", ROLE_Q, 3},
    {ROLE_Q2, 1, "in (D)", ROLE_Q, 3},  {ROLE_Q2, 0, "p", ROLE_K2, 0},      {ROLE_Q2_BIAS, 0, "p", ROLE_K2, 0},
};

static vka_result check_weights(vka_op_build *b, hypermixer_params *p)
{
    uint32_t given = 0;
    for (int role = ROLE_K1; role <= ROLE_Q2_BIAS; role++)
        given += b->inputs[role] != NULL;
    p->drawn = given == 0;
    if (p->drawn)
        return VKA_SUCCESS;
    if (given != WEIGHT_COUNT)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: give all six hypernetwork weights (mlp_k1, mlp_k2, mlp_k2_bias, mlp_q1, mlp_q2, "
                        "mlp_q2_bias) or none (drawn from seed); %u given",
                        b->op, given);
    vka_result r;
    for (int role = ROLE_K1; role <= ROLE_Q2_BIAS; role++) {
        bool bias = role == ROLE_K2_BIAS || role == ROLE_Q2_BIAS;
        if ((r = vka_expect_tensor(b, role, bias ? 1 : 2, VKA_DTYPE_F32,
                                   bias        ? "[p]"
                                   : p->out_in ? "[out, in]"
                                               : "[in, out]")))
            return r;
    }
    return VKA_SUCCESS;
}

static vka_result build(vka_op_build *b)
{
    hypermixer_params *p = b->parsed;
    int layout;
    vka_result r;
    if ((r = vka_param_enum(b->params, "weight_layout", &layout)))
        return r;
    p->out_in = layout == 1;
    const vka_axis_rule *rules = axis_rules;
    size_t rule_count = VKA_ARRAY_LEN(axis_rules);
    if (p->out_in)
        rule_count = SHARED_RULES;
    if ((r = vka_expect_qkv(b)) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (r = check_weights(b, p)) || (r = vka_expect_axes(b, rules, rule_count)) ||
        (p->out_in && !p->drawn && (r = vka_expect_axes(b, weight_rules_out_in, VKA_ARRAY_LEN(weight_rules_out_in)))))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *k = b->inputs[ROLE_K]->dims, *v = b->inputs[ROLE_V]->dims;
    uint32_t given_p = p->drawn ? 0 : b->inputs[ROLE_K2]->dims[p->out_in ? 0 : 1];
    if ((r = vka_param_int_or(b->params, "p", given_p ? given_p : 64, &p->p)) ||
        (r = vka_param_int(b->params, "seed", &p->seed)))
        return r;
    if (given_p && p->p != given_p)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: p=%u but the weights' hidden size (mlp_k2) is %u", b->op,
                        p->p, given_p);
    p->batch = q[0];
    p->heads = q[1];
    p->nq = q[2];
    p->nk = k[2];
    p->d = q[3];
    p->dv = v[3];
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL;
    b->int_range[ROLE_KV_LEN].min = 0;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->nk;
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ weights from the seed */

/* Weight number i (0…5, in role order) of a D → D → p pair of MLPs. */
static void weight_shape(uint32_t i, uint32_t d, uint32_t p, uint32_t *rank, uint32_t dims[2])
{
    uint32_t layer = i % 3; /* first layer, second layer, bias */
    *rank = layer == 2 ? 1 : 2;
    dims[0] = layer == 2 ? p : d;
    dims[1] = layer == 0 ? d : p;
}

/* args: index, D, p. Weights N(0, 1/fan_in), biases zero. */
static vka_result draw_weight(uint64_t seed, const uint32_t args[4], float *out)
{
    uint32_t rank, dims[2];
    weight_shape(args[0], args[1], args[2], &rank, dims);
    if (rank == 1)
        memset(out, 0, dims[0] * sizeof *out);
    else
        vka_random_gaussian(seed * WEIGHT_COUNT + args[0], (size_t)dims[0] * dims[1], 1.0 / sqrt((double)dims[0]), out);
    return VKA_SUCCESS;
}

static vka_result weight_tensors(vka_lowering *lw, const vka_op_node *node, const hypermixer_params *p,
                                 uint32_t w[WEIGHT_COUNT])
{
    static const char *const names[WEIGHT_COUNT] = {"mlp_k1", "mlp_k2", "mlp_k2_bias",
                                                    "mlp_q1", "mlp_q2", "mlp_q2_bias"};
    vka_result r = VKA_SUCCESS;
    for (uint32_t i = 0; r == VKA_SUCCESS && i < WEIGHT_COUNT; i++) {
        w[i] = vka_lower_input(lw, node, ROLE_K1 + (int)i);
        if (p->drawn) {
            uint32_t rank, dims[2];
            weight_shape(i, p->d, p->p, &rank, dims);
            r = vka_lower_drawn_constant(lw, names[i], rank, dims, draw_weight, (uint32_t[4]){i, p->d, p->p}, p->seed,
                                         &w[i]);
        }
    }
    return r;
}

/* ------------------------------------------------------------------ lowering */

typedef struct chunk_plan {
    const hypermixer_params *p;
    uint32_t slices, rows;   /* rows per chunk */
    uint32_t hidden, mixing; /* [B, H, rows, D] and [B, H, rows, p] scratch */
    const uint32_t *w;       /* the six weights */
    bool trans_w;            /* stored [out, in] */
} chunk_plan;

/* hidden = GELU(x[c0…] W1), mixing = hidden W2 + b for `rows` tokens of x from c0: one
 * hypernetwork over one chunk (side 0: keys, 3: queries — the index of its first weight). */
static vka_result lower_hypernetwork(vka_lowering *lw, const chunk_plan *cp, uint32_t x, uint32_t side, uint32_t c0,
                                     uint32_t rows)
{
    const hypermixer_params *p = cp->p;
    uint32_t d4 = vka_div_up(p->d, 4);
    vka_result r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = x,
                                                           .b = cp->w[side],
                                                           .c = cp->hidden,
                                                           .slices = cp->slices,
                                                           .m = rows,
                                                           .n = p->d,
                                                           .k = p->d,
                                                           .alpha = 1.0f,
                                                           .b_whole = true,
                                                           .trans_b = cp->trans_w,
                                                           .a_offset = c0 * d4,
                                                           .activation = VKA_ACTIVATION_GELU});
    if (r == VKA_SUCCESS)
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = cp->hidden,
                                                    .b = cp->w[side + 1],
                                                    .c = cp->mixing,
                                                    .slices = cp->slices,
                                                    .m = rows,
                                                    .n = p->p,
                                                    .k = p->d,
                                                    .alpha = 1.0f,
                                                    .b_whole = true,
                                                    .trans_b = cp->trans_w,
                                                    .bias = cp->w[side + 2]});
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const hypermixer_params *p = node->params;
    uint32_t w[WEIGHT_COUNT], mixed, rows = VKA_MIN(CHUNK_ROWS, VKA_MAX(p->nq, p->nk));
    chunk_plan cp = {.p = p, .slices = p->batch * p->heads, .rows = rows, .w = w, .trans_w = p->out_in && !p->drawn};
    uint32_t kv_len = vka_lower_input(lw, node, ROLE_KV_LEN), v = vka_lower_input(lw, node, ROLE_V);
    vka_result r = weight_tensors(lw, node, p, w);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "hidden", vka_lower_storage_dtype(lw, node), 4,
                                   (uint32_t[]){p->batch, p->heads, rows, p->d}, &cp.hidden);
    if (r == VKA_SUCCESS) /* per-token rows in the result's type; `mixed`, a sum over keys, stays f32 */
        r = vka_lower_intermediate(lw, "mixing", vka_lower_storage_dtype(lw, node), 4,
                                   (uint32_t[]){p->batch, p->heads, rows, p->p}, &cp.mixing);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "mixed", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, p->p, p->dv},
                                   &mixed);
    /* mixed = GELU(Σ over key chunks of Wkᵀ v). */
    for (uint32_t c0 = 0; r == VKA_SUCCESS && c0 < p->nk; c0 += rows) {
        uint32_t n = VKA_MIN(rows, p->nk - c0);
        bool last = c0 + n == p->nk;
        r = lower_hypernetwork(lw, &cp, vka_lower_input(lw, node, ROLE_K), 0, c0, n);
        if (r == VKA_SUCCESS)
            r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = cp.mixing,
                                                        .b = v,
                                                        .c = mixed,
                                                        .slices = cp.slices,
                                                        .m = p->p,
                                                        .n = p->dv,
                                                        .k = n,
                                                        .alpha = 1.0f,
                                                        .trans_a = true,
                                                        .b_offset = c0 * vka_div_up(p->dv, 4),
                                                        .accumulate = c0 > 0,
                                                        .activation = last ? VKA_ACTIVATION_GELU : VKA_ACTIVATION_NONE,
                                                        .key_counts = kv_len,
                                                        .heads = p->heads,
                                                        .k_base = c0});
    }
    /* O = Wq · mixed, chunk by chunk of queries. */
    for (uint32_t c0 = 0; r == VKA_SUCCESS && c0 < p->nq; c0 += rows) {
        uint32_t n = VKA_MIN(rows, p->nq - c0);
        r = lower_hypernetwork(lw, &cp, vka_lower_input(lw, node, ROLE_Q), 3, c0, n);
        if (r == VKA_SUCCESS)
            r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = cp.mixing,
                                                        .b = mixed,
                                                        .c = vka_lower_result(lw, node),
                                                        .slices = cp.slices,
                                                        .m = n,
                                                        .n = p->dv,
                                                        .k = p->p,
                                                        .alpha = 1.0f,
                                                        .c_offset = c0 * vka_div_up(p->dv, 4)});
    }
    return r;
}

/* ------------------------------------------------------------------ reference, flops */

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const hypermixer_params *p = node->params;
    size_t sizes[WEIGHT_COUNT];
    const double *w[WEIGHT_COUNT];
    double *drawn[WEIGHT_COUNT] = {0};
    bool ok = true;
    for (uint32_t i = 0; i < WEIGHT_COUNT; i++) {
        uint32_t rank, dims[2];
        weight_shape(i, p->d, p->p, &rank, dims);
        sizes[i] = rank == 1 ? dims[0] : (size_t)dims[0] * dims[1];
        w[i] = in[ROLE_K1 + i].data;
        if (!p->drawn && p->out_in && rank == 2) { /* [out, in] → [in, out] */
            drawn[i] = malloc(sizes[i] * sizeof *drawn[i]);
            ok = ok && drawn[i];
            for (uint32_t r = 0; drawn[i] && r < dims[0]; r++)
                for (uint32_t c = 0; c < dims[1]; c++)
                    drawn[i][(size_t)r * dims[1] + c] = in[ROLE_K1 + i].data[(size_t)c * dims[0] + r];
            w[i] = drawn[i];
        }
        if (!p->drawn)
            continue;
        float *f = malloc(sizes[i] * sizeof *f);
        drawn[i] = malloc(sizes[i] * sizeof *drawn[i]);
        ok = ok && f && drawn[i];
        if (f && drawn[i]) {
            draw_weight(p->seed, (uint32_t[4]){i, p->d, p->p}, f);
            for (size_t j = 0; j < sizes[i]; j++)
                drawn[i][j] = f[j];
        }
        free(f);
        w[i] = drawn[i];
    }
    ok = ok && vka_ref_hypermixer(&(vka_ref_hypermixer_problem){.batch = p->batch,
                                                                .heads = p->heads,
                                                                .nq = p->nq,
                                                                .nk = p->nk,
                                                                .d = p->d,
                                                                .dv = p->dv,
                                                                .p = p->p,
                                                                .q = in[ROLE_Q].data,
                                                                .k = in[ROLE_K].data,
                                                                .v = in[ROLE_V].data,
                                                                .kv_len = in[ROLE_KV_LEN].ints,
                                                                .mlp_k = {w[0], w[1], w[2]},
                                                                .mlp_q = {w[3], w[4], w[5]},
                                                                .out = out->data});
    for (uint32_t i = 0; i < WEIGHT_COUNT; i++)
        free(drawn[i]);
    return ok ? VKA_SUCCESS
              : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the hypermixer reference");
}

/* Both hypernetworks (2·D·(D + p) per token) and both mixing products (2·p·Dv per token). */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const hypermixer_params *p = node->params;
    return 2.0 * p->batch * p->heads * (double)(p->nq + p->nk) * ((double)p->d * (p->d + p->p) + (double)p->p * p->dv);
}

VKA_OP_CLASS(hypermixer) = {
    .name = "hypermixer",
    .summary = "O = MLP_q(q) · GELU(MLP_k(k)ᵀ v); hypernetworks D→D→p (mlp_k1/k2/k2_bias, mlp_q1/q2/q2_bias or drawn; "
               "weight_layout=in_out|out_in)",
    .inputs = roles,
    .output_shape = "B,H,Nq,Dv",
    .rows_independent = true,
    .params = params,
    .params_size = sizeof(hypermixer_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
