/* `aaren` — attention as an RNN, SCHEMES.md §10 (Feeney et al. 2024). One learned query per
 * head attends to every prefix of the keys: o_t = Σ_{j≤t} e^{s_j} v_j / Σ_{j≤t} e^{s_j},
 * s_j = query_h · k_j · scale. query [1, H, 1, D], k [B, H, N, D], v [B, H, N, Dv], kv_len [B]
 * optional; o [B, H, N, Dv]. Two dispatches of aaren.comp over blocks of ≈ √N tokens (block
 * triples, then each block's exclusive prefix and its outputs); nothing of size N × N.
 * decode=1 keeps each slice's triple (max, sum, weighted sum) as a state (`state=NAME`):
 * each run's N tokens continue the sequence, one dispatch folding them in O(N·(D + Dv)). */
#include "graph/op.h"
#include "lowering/kernel_class.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_QUERY, ROLE_K, ROLE_V, ROLE_KV_LEN };
enum { MAX_HEAD_DIM = 256 };

typedef struct aaren_params {
    uint32_t batch, heads, n, d, dv;
    float scale;
    bool decode;
    char state_name[64];
} aaren_params;

static const vka_input_info roles[] = {
    VKA_IN("query", VKA_INPUT_LEARNED, "1,H,1,D", "the one learned query"),
    VKA_IN_LOGITS("k", "B,H,Nk,D", "keys"),
    VKA_IN_V,
    VKA_IN_KV_LEN,
    {0},
};
static const vka_param_info params[] = {
    VKA_PARAM_SCALE,
    {"decode", VKA_PARAM_BOOL, "keep each head's prefix across runs (each run's tokens continue the sequence)", "0",
     NULL, 0, 1, NULL},
    {"state", VKA_PARAM_NAME, "decode=1: the persistent state's name (vka_plan_read/write)", NULL, "OP.state", 0, 0,
     NULL},
    {0},
};

static const vka_axis_rule axis_rules[] = {
    {ROLE_QUERY, 1, "heads", ROLE_K, 1}, {ROLE_QUERY, 3, "head dim", ROLE_K, 3}, {ROLE_V, 0, "batch", ROLE_K, 0},
    {ROLE_V, 1, "heads", ROLE_K, 1},     {ROLE_V, 2, "tokens", ROLE_K, 2},       {ROLE_KV_LEN, 0, "batch", ROLE_K, 0},
};

static vka_result build(vka_op_build *b)
{
    aaren_params *p = b->parsed;
    const char *layout = "[batch, heads, tokens, head_dim]";
    vka_result r;
    if ((r = vka_expect_tensor(b, ROLE_QUERY, 4, VKA_DTYPE_F32, "[1, heads, 1, head_dim]")) ||
        (r = vka_expect_tensor(b, ROLE_K, 4, VKA_DTYPE_F32, layout)) ||
        (r = vka_expect_tensor(b, ROLE_V, 4, VKA_DTYPE_F32, "[batch, heads, tokens, value_dim]")) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))))
        return r;
    const uint32_t *query = b->inputs[ROLE_QUERY]->dims, *k = b->inputs[ROLE_K]->dims, *v = b->inputs[ROLE_V]->dims;
    if (query[0] != 1 || query[2] != 1)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: query is [%u, %u, %u, %u]; it must be [1, heads, 1, %u]",
                        b->op, query[0], query[1], query[2], query[3], query[3]);
    if (k[3] > MAX_HEAD_DIM || v[3] > MAX_HEAD_DIM)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: head dim %u exceeds the largest supported (%d)", b->op,
                        k[3] > MAX_HEAD_DIM ? k[3] : v[3], MAX_HEAD_DIM);
    *p = (aaren_params){.batch = k[0], .heads = k[1], .n = k[2], .d = k[3], .dv = v[3]};
    char fallback[64];
    snprintf(fallback, sizeof fallback, "%s.state", b->op);
    if ((r = vka_param_scale(b->params, "scale", p->d, &p->scale)) ||
        (r = vka_param_bool(b->params, "decode", &p->decode)) ||
        (r = vka_param_text_or(b->params, "state", fallback, p->state_name, sizeof p->state_name)))
        return r;
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL; /* kv_len[b] counts keys: 0..N */
    b->int_range[ROLE_KV_LEN].min = 0;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->n;
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->n, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* decode=1: each slice's triple so far — DV4 accumulators, then vec4(max, sum) — starting
 * empty (max −FLT_MAX/2, sum 0; vka_plan_reset_states returns to it). */
static vka_result state_tensor(vka_lowering *lw, const aaren_params *p, uint32_t dv4, uint32_t *out)
{
    size_t row = 4 * ((size_t)dv4 + 1), count = (size_t)p->batch * p->heads * row;
    float *empty = calloc(count, sizeof *empty);
    if (!empty)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering a state");
    for (size_t s = 0; s < (size_t)p->batch * p->heads; s++)
        empty[s * row + 4 * dv4] = -1.7014117e38f; /* common.glsl's VKA_NEG_BIG */
    vka_result r = vka_lower_state(lw, p->state_name, VKA_DTYPE_F32, 4,
                                   (uint32_t[]){p->batch, p->heads, 1, (uint32_t)row}, empty, out);
    free(empty);
    return r;
}

/* Block triples, then outputs: blocks of ≈ √N tokens (at least 16) keep both passes O(N).
 * Decoding: one pass over the run's tokens from the state. */
static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const aaren_params *p = node->params;
    const vka_device_info *dev = vka_lower_device(lw);
    uint32_t d4 = vka_div_up(p->d, 4), dv4 = vka_div_up(p->dv, 4);
    uint32_t tokens = p->decode ? p->n : VKA_MAX(16u, (uint32_t)ceil(sqrt((double)p->n)));
    uint32_t nblocks = p->decode ? 1 : vka_div_up(p->n, tokens), blocks,
             kv_len = vka_lower_input(lw, node, ROLE_KV_LEN);
    uint32_t wg = vka_class_workgroup_size(dev);
    vka_result r = p->decode
                       ? state_tensor(lw, p, dv4, &blocks)
                       : vka_lower_intermediate(lw, "aaren_blocks", VKA_DTYPE_F32, 4,
                                                (uint32_t[]){p->batch, p->heads, nblocks, 4 * (dv4 + 1)}, &blocks);
    if (r == VKA_SUCCESS && !kv_len)
        r = vka_lower_key_counts(lw, "aaren_key_counts", p->batch, p->n, &kv_len);
    for (uint32_t pass = p->decode ? 2 : 0; r == VKA_SUCCESS && pass < (p->decode ? 3u : 2u); pass++)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_AAREN,
                    .spec.aaren = {.workgroup_size = wg,
                                   .D4 = d4,
                                   .DV4 = dv4,
                                   .T = tokens,
                                   .KV_VEC4 = vka_div_up(p->batch, 4),
                                   .QUERY_VEC4 = p->heads * d4,
                                   .PASS = pass},
                    .push.aaren = {.n = p->n, .heads = p->heads, .scale = p->scale, .nblocks = nblocks},
                    .groups_x = vka_div_up(nblocks, wg),
                    .groups_y = 1,
                    .slices = p->batch * p->heads,
                    .bindings = {{.tensor = vka_lower_input(lw, node, ROLE_QUERY), .access = VKA_READ, .whole = true},
                                 {.tensor = vka_lower_input(lw, node, ROLE_K), .access = VKA_READ, .whole = false},
                                 {.tensor = vka_lower_input(lw, node, ROLE_V), .access = VKA_READ, .whole = false},
                                 {.tensor = blocks,
                                  .access = pass == 1   ? VKA_READ
                                            : pass == 2 ? VKA_READ_WRITE
                                                        : VKA_WRITE,
                                  .whole = false},
                                 {.tensor = vka_lower_result(lw, node), .access = VKA_WRITE, .whole = false},
                                 {.tensor = kv_len, .access = VKA_READ, .whole = true}},
                });
    return r;
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const aaren_params *p = node->params;
    vka_ref_aaren_problem problem = {.batch = p->batch,
                                     .heads = p->heads,
                                     .n = p->n,
                                     .d = p->d,
                                     .dv = p->dv,
                                     .query = in[ROLE_QUERY].data,
                                     .k = in[ROLE_K].data,
                                     .v = in[ROLE_V].data,
                                     .kv_len = in[ROLE_KV_LEN].ints,
                                     .scale = p->scale,
                                     .out = out->data};
    vka_ref_aaren(&problem);
    (void)ctx;
    return VKA_SUCCESS;
}

/* Per token: a score (2·D) and a fold of its value (2·Dv). */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const aaren_params *p = node->params;
    return 2.0 * p->batch * p->heads * (double)p->n * (p->d + p->dv);
}

VKA_OP_CLASS(aaren) = {
    .name = "aaren",
    .summary = "Aaren: a learned query per head attends to every prefix of k/v; query=[1,H,1,D]; decode=1",
    .inputs = roles,
    .output_shape = "B,H,Nk,Dv",
    .params = params,
    .params_size = sizeof(aaren_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
