/* `te_attention` — translation-equivariant attention (TE-TNP, Ashman et al. 2024;
 * SCHEMES.md §11). Per pair (i, j) the heads' logits are an MLP of the locations'
 * difference and the heads' scaled dot products,
 *
 *   logits_ij = fc3 relu(fc2 relu(fc1 [xq_i − xk_j, q_i^h·k_j^h·scale]_h + b1) + b2) + b3,
 *
 * and each head takes a softmax over the keys: o_i^h = Σ_j softmax_j(logits^h) v_j^h.
 * Tokens are [batch, tokens, heads·features] (as the projections produce them: no split
 * or merge of heads), locations [batch, tokens, dx], the MLP's weights PyTorch's
 * [out, in]. Shifting every location by one vector changes nothing.
 *
 * kernel=flash (default): te_attn.comp evaluates the MLP pair by pair in registers inside
 * an online softmax; nothing of size Nq·Nk exists. Key chunks (split-K) keep llvmpipe's
 * loop budget and fill the device when queries are few; te_combine.comp merges their
 * state rows.
 * kernel=materialized: the logits [B, Nq·H, Nk], a row softmax, a product per head.
 *
 * The six MLP tensors must be graph constants: they are packed once, at plan time, into
 * the one buffer the kernels read (seven storage buffers in all). */
#include "lowering/flash.h"
#include "lowering/kernel_class.h"
#include "lowering/matmul.h"
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_XQ, ROLE_XK, ROLE_FC1, ROLE_FC2, ROLE_FC3, ROLE_B1, ROLE_B2, ROLE_B3 };
enum { KERNEL_FLASH, KERNEL_MATERIALIZED };

typedef struct te_params {
    uint32_t batch, nq, nk, heads, dh, dv, dx, hidden1, hidden2;
    float scale;
    int kernel;
    uint32_t chunk; /* keys per chunk asked for; 0: the planner's choice */
} te_params;

static const vka_input_info roles[] = {
    VKA_IN_LOGITS("q", "B,Nq,H*D", "queries, token-major"),
    VKA_IN_LOGITS("k", "B,Nk,H*D", "keys, token-major"),
    VKA_IN("v", VKA_INPUT_TOKENS, "B,Nk,H*Dv", "values, token-major"),
    VKA_IN("xq", VKA_INPUT_POSITIONS, "B,Nq,X=2", "the queries' locations"),
    VKA_IN("xk", VKA_INPUT_POSITIONS, "B,Nk,X", "the keys' locations"),
    VKA_IN_PACKED("fc1", "F=128,H+X", "the kernel MLP, layer 1 [out, in]", false),
    VKA_IN_PACKED("fc2", "F,F", "layer 2 [out, in]", false),
    VKA_IN_PACKED("fc3", "H,F", "layer 3 [out, in]: a logit per head", false),
    VKA_IN_PACKED("fc1_bias", "F", "layer 1's bias", true),
    VKA_IN_PACKED("fc2_bias", "F", "layer 2's bias", true),
    VKA_IN_PACKED("fc3_bias", "H", "layer 3's bias", true),
    {0},
};
static const char *const kernels[] = {"flash", "materialized", NULL};
static const vka_param_info params[] = {
    {"heads", VKA_PARAM_INT, "heads (must equal fc3's outputs)", NULL, "fc3's outputs", 1, 64, NULL},
    VKA_PARAM_SCALE,
    {"kernel", VKA_PARAM_ENUM, "the MLP inside an online softmax, or the logits materialised", "flash",
     .choices = kernels},
    {"chunk", VKA_PARAM_INT, "keys per split-K chunk (0: the planner's choice)", "0", NULL, 0, UINT32_MAX, NULL},
    {0},
};

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},
    {ROLE_V, 0, "batch", ROLE_Q, 0},
    {ROLE_V, 1, "tokens", ROLE_K, 1},
    {ROLE_K, 2, "heads·head_dim", ROLE_Q, 2},
    {ROLE_XQ, 0, "batch", ROLE_Q, 0},
    {ROLE_XQ, 1, "tokens", ROLE_Q, 1},
    {ROLE_XK, 0, "batch", ROLE_Q, 0},
    {ROLE_XK, 1, "tokens", ROLE_K, 1},
    {ROLE_XK, 2, "dx", ROLE_XQ, 2},
    {ROLE_FC2, 1, "in (fc1 out)", ROLE_FC1, 0},
    {ROLE_FC3, 1, "in (fc2 out)", ROLE_FC2, 0},
    {ROLE_B1, 0, "out", ROLE_FC1, 0},
    {ROLE_B2, 0, "out", ROLE_FC2, 0},
    {ROLE_B3, 0, "out", ROLE_FC3, 0},
};

static vka_result check_tensors(vka_op_build *b)
{
    static const char *const layouts[] = {"[batch, Nq, heads·head_dim]",
                                          "[batch, Nk, heads·head_dim]",
                                          "[batch, Nk, heads·dv]",
                                          "[batch, Nq, dx]",
                                          "[batch, Nk, dx]",
                                          "[hidden1, dx + heads] ([out, in])",
                                          "[hidden2, hidden1]",
                                          "[heads, hidden2]"};
    vka_result r = VKA_SUCCESS;
    for (int role = ROLE_Q; r == VKA_SUCCESS && role <= ROLE_B3; role++) {
        if (role >= ROLE_B1 && !b->inputs[role])
            continue;
        uint32_t rank = role <= ROLE_XK ? 3 : role <= ROLE_FC3 ? 2 : 1;
        r = vka_expect_tensor(b, role, rank, VKA_DTYPE_F32, role <= ROLE_FC3 ? layouts[role] : "[out]");
    }
    return r == VKA_SUCCESS ? vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules)) : r;
}

static vka_result build(vka_op_build *b)
{
    te_params *p = b->parsed;
    vka_result r = check_tensors(b);
    if (r != VKA_SUCCESS)
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *v = b->inputs[ROLE_V]->dims;
    p->batch = q[0];
    p->nq = q[1];
    p->nk = b->inputs[ROLE_K]->dims[1];
    p->dx = b->inputs[ROLE_XQ]->dims[2];
    p->hidden1 = b->inputs[ROLE_FC1]->dims[0];
    p->hidden2 = b->inputs[ROLE_FC2]->dims[0];
    p->heads = b->inputs[ROLE_FC3]->dims[0];
    if ((r = vka_param_int_or(b->params, "heads", p->heads, &p->heads)))
        return r;
    if (p->heads != b->inputs[ROLE_FC3]->dims[0])
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: heads=%u but fc3 gives %u logits per pair", b->op,
                        p->heads, b->inputs[ROLE_FC3]->dims[0]);
    if (q[2] % p->heads || v[2] % p->heads)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: q's features (%u) and v's (%u) must split into %u heads",
                        b->op, q[2], v[2], p->heads);
    p->dh = q[2] / p->heads;
    p->dv = v[2] / p->heads;
    if (b->inputs[ROLE_FC1]->dims[1] != p->dx + p->heads)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: fc1 takes %u inputs but a pair gives dx + heads = %u + %u", b->op,
                        b->inputs[ROLE_FC1]->dims[1], p->dx, p->heads);
    if (p->hidden1 > 1024 || p->hidden2 > 1024 || p->dx > 16 || p->heads * (p->dh + p->dv) > 1024)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED,
                        "%s: the kernel holds a query and its accumulators in registers: hidden sizes ≤ 1024, dx ≤ 16 "
                        "and heads·(head_dim + dv) ≤ 1024 (got %u, %u, %u, %u)",
                        b->op, p->hidden1, p->hidden2, p->dx, p->heads * (p->dh + p->dv));
    if ((r = vka_param_scale(b->params, "scale", p->dh, &p->scale)) ||
        (r = vka_param_enum(b->params, "kernel", &p->kernel)) || (r = vka_param_int(b->params, "chunk", &p->chunk)))
        return r;
    if (p->kernel == KERNEL_MATERIALIZED && p->dv % 4)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED,
                        "%s: kernel=materialized multiplies by v per head in vec4: dv (%u) must be a multiple of 4",
                        b->op, p->dv);
    b->output_rank = 3;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->nq, p->heads * p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ weights */

/* The packed layout of te_attn.glsl, in vec4: W1ᵀ rows of ceil(H1/4), b1, W2 rows of
 * ceil(H1/4), b2, W3ᵀ rows of ceil(H/4), b3; zero padding everywhere. */
typedef struct packed_layout {
    uint32_t h1_4, h2_4, h4;
    uint32_t w1t, b1, w2, b2, w3t, b3, total; /* offsets in vec4 */
} packed_layout;

static packed_layout layout_of(const te_params *p)
{
    packed_layout L = {
        .h1_4 = vka_div_up(p->hidden1, 4), .h2_4 = vka_div_up(p->hidden2, 4), .h4 = vka_div_up(p->heads, 4), .w1t = 0};
    L.b1 = L.w1t + (p->dx + p->heads) * L.h1_4;
    L.w2 = L.b1 + L.h1_4;
    L.b2 = L.w2 + p->hidden2 * L.h1_4;
    L.w3t = L.b2 + L.h2_4;
    L.b3 = L.w3t + p->hidden2 * L.h4;
    L.total = L.b3 + L.h4;
    return L;
}

static void pack_rows(float *dst, uint32_t dst_row_floats, const float *src, uint32_t rows, uint32_t cols)
{
    for (uint32_t r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * dst_row_floats, src + (size_t)r * cols, cols * sizeof *src);
}

/* The MLP packed as one constant (biases may be absent: zero), made once for every node
 * with the same weights (TETNP's context and target steps share a layer). */
static vka_result packed_weights(vka_lowering *lw, const vka_op_node *node, const te_params *p, uint32_t *out)
{
    vka_context *ctx = vka_lower_context(lw);
    const float *data[6] = {0};
    char name[80] = "te_weights";
    for (int role = ROLE_FC1; role <= ROLE_B3; role++)
        snprintf(name + strlen(name), sizeof name - strlen(name), "%c%u", role == ROLE_FC1 ? '(' : ',',
                 vka_lower_input(lw, node, role));
    strncat(name, ")", sizeof name - strlen(name) - 1);
    if ((*out = vka_lower_find_constant(lw, name)))
        return VKA_SUCCESS;
    for (int role = ROLE_FC1; role <= ROLE_B3; role++) {
        uint32_t t = vka_lower_input(lw, node, role);
        data[role - ROLE_FC1] = vka_lower_constant_data(lw, t);
        if (t && !data[role - ROLE_FC1])
            return vka_fail(ctx, VKA_ERROR_UNSUPPORTED,
                            "te_attention: %s must be a graph constant (the kernel MLP is packed once, at plan time)",
                            roles[role].role);
    }
    packed_layout L = layout_of(p);
    float *w = calloc((size_t)L.total * 4, sizeof *w);
    if (!w)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory packing te_attention's weights");
    for (uint32_t u = 0; u < p->hidden1; u++) /* W1 [H1, dx + H] → W1ᵀ rows of 4·h1_4 */
        for (uint32_t c = 0; c < p->dx + p->heads; c++)
            w[4 * L.w1t + (size_t)c * 4 * L.h1_4 + u] = data[0][(size_t)u * (p->dx + p->heads) + c];
    pack_rows(w + 4 * L.w2, 4 * L.h1_4, data[1], p->hidden2, p->hidden1);
    for (uint32_t h = 0; h < p->heads; h++) /* W3 [H, H2] → W3ᵀ rows of 4·h4 */
        for (uint32_t u = 0; u < p->hidden2; u++)
            w[4 * L.w3t + (size_t)u * 4 * L.h4 + h] = data[2][(size_t)h * p->hidden2 + u];
    if (data[3])
        memcpy(w + 4 * L.b1, data[3], p->hidden1 * sizeof *w);
    if (data[4])
        memcpy(w + 4 * L.b2, data[4], p->hidden2 * sizeof *w);
    if (data[5])
        memcpy(w + 4 * L.b3, data[5], p->heads * sizeof *w);
    uint32_t floats = 4 * L.total;
    vka_result r = vka_lower_constant(lw, name, VKA_DTYPE_F32, 1, &floats, w, out);
    free(w);
    return r;
}

/* ------------------------------------------------------------------ lowering */

/* Largest of 2, 1 dividing the second hidden layer: its units per loop iteration. More
 * would mean fewer iterations, but llvmpipe's compile time grows steeply with the
 * unrolled body (8 units: 30 s for the TETNP shape, cold cache). */
static uint32_t units_per_iteration(uint32_t hidden2)
{
    uint32_t ub = 2;
    while (hidden2 % ub)
        ub /= 2;
    return ub;
}

/* The kernels bind 7 storage buffers (q, k, v, o, xq, xk, weights); a device with fewer
 * per stage (android-2021: 4) gets the packed variants (te_attn.glsl VKA_TE_PACKED): each
 * query row [q | xq] and key row [k | xk | v] copied side by side first, then 4 bindings. */
#define TE_STORAGE_BUFFERS 7

typedef struct packed_rows {
    uint32_t queries, keys; /* plan tensors [B, Nq, 4·(QK4 + DX4)], [B, Nk, 4·(QK4 + DX4 + V4)]; 0: not packed */
} packed_rows;

static bool needs_packing(const vka_lowering *lw)
{
    return vka_lower_device(lw)->limits.max_storage_buffers_per_stage < TE_STORAGE_BUFFERS;
}

/* Copies the columns of `parts` (rank-3 token-major tensors) side by side into `dst`. */
static vka_result pack_columns(vka_lowering *lw, const te_params *p, uint32_t dst, uint32_t rows, uint32_t row4,
                               const uint32_t *parts, const uint32_t *widths4, int count)
{
    vka_result r = VKA_SUCCESS;
    for (int i = 0, at = 0; r == VKA_SUCCESS && i < count; at += widths4[i++])
        r = vka_lower_copy_rows(lw, &(vka_copy_desc){.src = parts[i],
                                                     .dst = dst,
                                                     .slices = p->batch,
                                                     .count = widths4[i],
                                                     .dst_offset = (uint32_t)at,
                                                     .rows = rows,
                                                     .src_row_stride = widths4[i],
                                                     .dst_row_stride = row4});
    return r;
}

static vka_result pack_token_rows(vka_lowering *lw, const vka_op_node *node, const te_params *p, packed_rows *out)
{
    *out = (packed_rows){0};
    if (!needs_packing(lw))
        return VKA_SUCCESS;
    uint32_t qk4 = vka_div_up(p->heads * p->dh, 4), dx4 = vka_div_up(p->dx, 4), v4 = vka_div_up(p->heads * p->dv, 4);
    uint32_t q_parts[2] = {vka_lower_input(lw, node, ROLE_Q), vka_lower_input(lw, node, ROLE_XQ)};
    uint32_t k_parts[3] = {vka_lower_input(lw, node, ROLE_K), vka_lower_input(lw, node, ROLE_XK),
                           vka_lower_input(lw, node, ROLE_V)};
    uint32_t q_widths[2] = {qk4, dx4}, k_widths[3] = {qk4, dx4, v4};
    vka_result r;
    if ((r = vka_lower_intermediate(lw, "te_queries", VKA_DTYPE_F32, 3, (uint32_t[]){p->batch, p->nq, 4 * (qk4 + dx4)},
                                    &out->queries)) ||
        (r = vka_lower_intermediate(lw, "te_keys", VKA_DTYPE_F32, 3,
                                    (uint32_t[]){p->batch, p->nk, 4 * (qk4 + dx4 + v4)}, &out->keys)) ||
        (r = pack_columns(lw, p, out->queries, p->nq, qk4 + dx4, q_parts, q_widths, 2)))
        return r;
    return pack_columns(lw, p, out->keys, p->nk, qk4 + dx4 + v4, k_parts, k_widths, 3);
}

static vka_dispatch_desc pair_dispatch(const vka_lowering *lw, const vka_op_node *node, const te_params *p,
                                       const packed_rows *packed, bool logits, uint32_t wg, uint32_t weights,
                                       uint32_t v, uint32_t out)
{
    vka_te_attn_spec spec = {.workgroup_size = wg,
                             .H = p->heads,
                             .DH = p->dh,
                             .DV = p->dv,
                             .DX = p->dx,
                             .H1 = p->hidden1,
                             .H2 = p->hidden2,
                             .UB = units_per_iteration(p->hidden2)};
    vka_dispatch_desc d = {
        .push.te_attn = {.nq = p->nq, .nk = p->nk, .chunk_keys = p->nk, .scale = p->scale},
        .spec.te_attn = spec, /* every variant's constants are te_attn's */
        .groups_y = 1,
        .slices = p->batch,
    };
    if (packed->queries) {
        d.kernel = logits ? VKA_KERNEL_TE_LOGITS_PACKED : VKA_KERNEL_TE_ATTN_PACKED;
        memcpy(d.bindings,
               (vka_binding_desc[]){{.tensor = packed->queries, .access = VKA_READ},
                                    {.tensor = packed->keys, .access = VKA_READ},
                                    {.tensor = out, .access = VKA_WRITE},
                                    {.tensor = weights, .access = VKA_READ, .whole = true}},
               4 * sizeof *d.bindings);
        return d;
    }
    d.kernel = logits ? VKA_KERNEL_TE_LOGITS : VKA_KERNEL_TE_ATTN;
    memcpy(d.bindings,
           (vka_binding_desc[]){{.tensor = vka_lower_input(lw, node, ROLE_Q), .access = VKA_READ},
                                {.tensor = vka_lower_input(lw, node, ROLE_K), .access = VKA_READ},
                                {.tensor = v, .access = VKA_READ, .whole = v != vka_lower_input(lw, node, ROLE_V)},
                                {.tensor = out, .access = VKA_WRITE},
                                {.tensor = vka_lower_input(lw, node, ROLE_XQ), .access = VKA_READ},
                                {.tensor = vka_lower_input(lw, node, ROLE_XK), .access = VKA_READ},
                                {.tensor = weights, .access = VKA_READ, .whole = true}},
           7 * sizeof *d.bindings);
    return d;
}

/* The binding the pair kernels write (o, the state rows or the logits). */
static uint32_t out_binding(const packed_rows *packed)
{
    return packed->queries ? 2 : 3;
}

/* Split-K: keys per chunk within the loop budget (the kernel's vka_loops rule, asked for
 * one key), and parallel state rows (chunks of at least 64 keys) until the device has work
 * for all its cores. */
typedef struct chunking {
    uint32_t keys, chunks, rows; /* keys per chunk, chunks in all, chunks run side by side */
} chunking;

static chunking chunks_of(const vka_device_info *dev, const te_params *p, const vka_dispatch_desc *d,
                          uint32_t query_groups)
{
    vka_push_words one_key = d->push;
    one_key.te_attn.chunk_keys = 1;
    uint64_t per_key = vka_kernel_get(d->kernel)->loop_iterations(&d->spec, &one_key) - 1;
    uint64_t most = dev->loop_iteration_budget ? (dev->loop_iteration_budget - 16) / per_key : p->nk;
    uint32_t target = vka_cpu_class(dev) ? 8 : 1024;
    uint64_t groups = (uint64_t)query_groups * p->batch;
    uint64_t rows = groups >= target ? 1 : vka_div_up(target, groups);
    rows = VKA_MAX(1, VKA_MIN(rows, vka_div_up(p->nk, 64)));
    uint64_t keys = p->chunk ? p->chunk : vka_div_up(p->nk, rows);
    chunking c = {.keys = (uint32_t)VKA_MAX(1, VKA_MIN(keys, most))};
    c.chunks = vka_div_up(p->nk, c.keys);
    c.rows = (uint32_t)VKA_MIN(rows, c.chunks);
    return c;
}

/* One chunk: o directly. Several: rounds of `rows` chunks side by side, each round's rows
 * continuing the last's softmax, then te_combine merges the rows. */
static vka_result lower_flash(vka_lowering *lw, const vka_op_node *node, const te_params *p, uint32_t weights,
                              const packed_rows *packed)
{
    const vka_device_info *dev = vka_lower_device(lw);
    uint32_t wg = vka_class_workgroup_size(dev), groups_x = vka_div_up(p->nq, wg);
    uint32_t out = vka_lower_result(lw, node), state = out, ob = out_binding(packed);
    vka_dispatch_desc d =
        pair_dispatch(lw, node, p, packed, false, wg, weights, vka_lower_input(lw, node, ROLE_V), out);
    chunking c = chunks_of(dev, p, &d, groups_x);
    vka_result r = VKA_SUCCESS;
    if (c.chunks > 1)
        r = vka_lower_intermediate(lw, "te_state", VKA_DTYPE_F32, 3,
                                   (uint32_t[]){p->batch, c.rows * p->nq, 2 * p->heads + p->heads * p->dv}, &state);
    d.bindings[ob].tensor = state;
    d.push.te_attn.chunk_keys = c.keys;
    d.groups_x = groups_x;
    for (uint32_t base = 0; r == VKA_SUCCESS && base < c.chunks; base += c.rows) {
        /* te_attn.glsl's mode: bit 0 write the state row, bit 1 continue from it */
        d.push.te_attn.mode = c.chunks > 1 ? 1u | (base ? 2u : 0u) : 0u;
        d.push.te_attn.chunk_base = base;
        d.groups_y = VKA_MIN(c.rows, c.chunks - base);
        d.bindings[ob].access = base ? VKA_READ_WRITE : VKA_WRITE;
        r = vka_lower_dispatch(lw, &d);
    }
    if (r != VKA_SUCCESS || c.chunks == 1)
        return r;
    return vka_lower_dispatch(lw, &(vka_dispatch_desc){
                                      .kernel = VKA_KERNEL_TE_COMBINE,
                                      .spec.te_combine = {.workgroup_size = 64, .H = p->heads, .DV = p->dv},
                                      .push.te_combine = {.nq = p->nq, .chunks = c.rows},
                                      .groups_x = vka_div_up(p->nq, 64),
                                      .groups_y = 1,
                                      .slices = p->batch,
                                      .bindings = {{.tensor = state, .access = VKA_READ, .whole = false},
                                                   {.tensor = out, .access = VKA_WRITE, .whole = false}},
                                  });
}

/* logits [B, Nq·H, Nk] (row i·H + h), softmax per row, then o[:, h] = P_h v_h per head. */
static vka_result lower_materialized(vka_lowering *lw, const vka_op_node *node, const te_params *p, uint32_t weights,
                                     const packed_rows *packed)
{
    uint32_t scores, counts, dummy, wg = 64, nk4 = vka_div_up(p->nk, 4), v4 = vka_div_up(p->heads * p->dv, 4);
    vka_result r;
    if ((r = vka_lower_intermediate(lw, "te_scores", VKA_DTYPE_F32, 3, (uint32_t[]){p->batch, p->nq * p->heads, p->nk},
                                    &scores)) ||
        (r = vka_lower_key_counts(lw, "te_key_counts", p->batch, p->nk, &counts)) || (r = vka_lower_dummy(lw, &dummy)))
        return r;
    vka_dispatch_desc d = pair_dispatch(lw, node, p, packed, true, wg, weights, dummy, scores);
    d.groups_x = vka_div_up(p->nk, wg);
    d.groups_y = p->nq;
    if ((r = vka_lower_dispatch(lw, &d)) ||
        (r = vka_lower_row_softmax(lw, scores, counts, p->batch, 1, p->nq * p->heads, p->nk, false, NULL)))
        return r;
    for (uint32_t h = 0; r == VKA_SUCCESS && h < p->heads; h++)
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = scores,
                                                    .b = vka_lower_input(lw, node, ROLE_V),
                                                    .c = vka_lower_result(lw, node),
                                                    .slices = p->batch,
                                                    .m = p->nq,
                                                    .n = p->dv,
                                                    .k = p->nk,
                                                    .alpha = 1.0f,
                                                    .lda = p->heads * nk4,
                                                    .a_offset = h * nk4,
                                                    .ldb = v4,
                                                    .b_offset = h * p->dv / 4,
                                                    .ldc = v4,
                                                    .c_offset = h * p->dv / 4});
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const te_params *p = node->params;
    uint32_t weights;
    packed_rows packed;
    vka_result r = packed_weights(lw, node, p, &weights);
    if (r == VKA_SUCCESS)
        r = pack_token_rows(lw, node, p, &packed);
    if (r != VKA_SUCCESS)
        return r;
    return p->kernel == KERNEL_FLASH ? lower_flash(lw, node, p, weights, &packed)
                                     : lower_materialized(lw, node, p, weights, &packed);
}

/* ------------------------------------------------------------------ reference, flops */

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const te_params *p = node->params;
    bool ok = vka_ref_te_attention(&(vka_ref_te_problem){.batch = p->batch,
                                                         .heads = p->heads,
                                                         .nq = p->nq,
                                                         .nk = p->nk,
                                                         .dh = p->dh,
                                                         .dv = p->dv,
                                                         .dx = p->dx,
                                                         .hidden1 = p->hidden1,
                                                         .hidden2 = p->hidden2,
                                                         .scale = p->scale,
                                                         .q = in[ROLE_Q].data,
                                                         .k = in[ROLE_K].data,
                                                         .v = in[ROLE_V].data,
                                                         .xq = in[ROLE_XQ].data,
                                                         .xk = in[ROLE_XK].data,
                                                         .fc1 = in[ROLE_FC1].data,
                                                         .fc1_bias = in[ROLE_B1].data,
                                                         .fc2 = in[ROLE_FC2].data,
                                                         .fc2_bias = in[ROLE_B2].data,
                                                         .fc3 = in[ROLE_FC3].data,
                                                         .fc3_bias = in[ROLE_B3].data,
                                                         .out = out->data});
    return ok ? VKA_SUCCESS : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the te reference");
}

/* Per pair: the heads' dot products, the MLP, the softmax-weighted sum of v. */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const te_params *p = node->params;
    double mlp =
        (double)(p->dx + p->heads) * p->hidden1 + (double)p->hidden1 * p->hidden2 + (double)p->hidden2 * p->heads;
    return 2.0 * p->batch * (double)p->nq * p->nk * (mlp + (double)p->heads * (p->dh + p->dv));
}

VKA_OP_CLASS(te_attention) = {
    .name = "te_attention",
    .summary = "translation-equivariant attention: per pair logits = MLP(xq_i − xk_j, q_i·k_j·scale per head); "
               "kernel=flash|materialized",
    .inputs = roles,
    .output_shape = "B,Nq,H*Dv",
    .rows_independent = true,
    .params = params,
    .params_size = sizeof(te_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
