/* The gated recurrent forms, SCHEMES.md §10: `gla` (per-step decay α_t = exp(g_t) per
 * key feature), `retention` (RetNet: a constant decay γ_h per head) and `deltanet` (Gated
 * DeltaNet: a scalar gate α_t and the delta rule with β_t, q and k L2-normalised). Each
 * keeps a state S (D × Dv) per [batch, query head]: o_t = scale · Sᵀ q_t after token t's
 * update. q [B,H,N,D]; k [B,Hkv,N,D], v [B,Hkv,N,Dv] with Hkv | H (grouped heads: each
 * query head keeps its own state of its group's keys); gla's gates [B,H,N,D] and
 * deltanet's gates, beta [B,H,N] (log gates ≤ 0, β in (0, 1): the input table's value
 * ranges, checked on every write). kv_len [B]: tokens at or past it leave the state as it
 * is. decode=1 keeps the state across runs (`state=NAME`), each run's tokens continuing the
 * sequence (with kv_len: the run's first kv_len[b] tokens).
 *
 * Lowering: q, k, v (and gla's gates) copied side by side into one packed row per token
 * (copy_rows), deltanet's g and β into two rows per slice, then gated_scan.comp walks the
 * tokens — one dispatch per run of at most the loop budget's tokens, the state carried
 * in a tensor between them. O(N·D·Dv) work, parallel over B·H·⌈Dv/4⌉ invocations; the
 * chunked parallel (WY) form is not done. */
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/kernel_class.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_KV_LEN, ROLE_GATES, ROLE_BETA };
enum { MAX_HEAD_DIM = 256, MAX_GAMMA_HEADS = 256 };

typedef struct gated_params {
    vka_ref_gated_kind kind;
    uint32_t batch, heads, kv_heads, n, d, dv;
    float scale;
    bool decode, l2norm;
    char state_name[64];
    float gamma[MAX_GAMMA_HEADS]; /* retention: γ per head */
} gated_params;

#define GATED_COMMON_ROLES                                                                                             \
    VKA_IN_LOGITS("q", "B,H,Nk,D", "queries: one per token, as many as the keys"), VKA_IN_K_GROUPED, VKA_IN_V_GROUPED, \
        VKA_IN_KV_LEN

/* Gates are log decays, ≤ 0 (a decay above 1 would grow the state without bound; −∞: a
 * decay of 0, the state forgotten); β a step size in (0, 1). The graph checks every write. */
#define LOG_DECAYS                                                                                                     \
    {                                                                                                                  \
        .bounded = true, .min = -INFINITY, .max = 0.0f                                                                 \
    }
#define STEP_SIZES                                                                                                     \
    {                                                                                                                  \
        .bounded = true, .open_min = true, .open_max = true, .min = 0.0f, .max = 1.0f                                  \
    }

static const vka_input_info gla_roles[] = {
    GATED_COMMON_ROLES,
    {.role = "gates",
     .kind = VKA_INPUT_LEARNED,
     .dtypes = VKA_FLOAT,
     .shape = "B,H,Nk,D",
     .summary = "log decays g_t ≤ 0 per key feature: α_t = exp(g_t)",
     .values = LOG_DECAYS},
    {0},
};
static const vka_input_info retention_roles[] = {GATED_COMMON_ROLES, {0}};
static const vka_input_info deltanet_roles[] = {
    GATED_COMMON_ROLES,
    {.role = "gates",
     .kind = VKA_INPUT_LEARNED,
     .dtypes = VKA_FLOAT,
     .shape = "B,H,Nk",
     .summary = "log gates g_t ≤ 0: α_t = exp(g_t) (absent: 1)",
     .optional = true,
     .values = LOG_DECAYS},
    {.role = "beta",
     .kind = VKA_INPUT_LEARNED,
     .dtypes = VKA_FLOAT,
     .shape = "B,H,Nk",
     .summary = "the delta rule's step β_t in (0, 1)",
     .values = STEP_SIZES},
    {0},
};

#define GATED_COMMON_PARAMS                                                                                            \
    VKA_PARAM_SCALE, {"causal", VKA_PARAM_BOOL, "always 1: these forms are causal", "1", NULL, 1, 1, NULL},            \
        {"decode",                                                                                                     \
         VKA_PARAM_BOOL,                                                                                               \
         "keep the state across runs (each run's tokens continue the sequence)",                                       \
         "0",                                                                                                          \
         NULL,                                                                                                         \
         0,                                                                                                            \
         1,                                                                                                            \
         NULL},                                                                                                        \
    {                                                                                                                  \
        "state", VKA_PARAM_NAME, "the persistent state's name (vka_plan_read/write)", NULL, "OP.state", 0, 0, NULL     \
    }
static const vka_param_info gla_params[] = {GATED_COMMON_PARAMS, {0}};
static const vka_param_info retention_params[] = {
    GATED_COMMON_PARAMS,
    {"gamma", VKA_PARAM_LIST, "the decay per head, comma-separated", NULL, "1 − 2^(−5−h) for head h", 0, 0, NULL},
    {0},
};
static const vka_param_info deltanet_params[] = {
    GATED_COMMON_PARAMS,
    {"qk_l2norm", VKA_PARAM_BOOL, "L2-normalise q and k per token", "1", NULL, 0, 1, NULL},
    {0},
};

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},  {ROLE_V, 0, "batch", ROLE_Q, 0},  {ROLE_K, 3, "head dim", ROLE_Q, 3},
    {ROLE_K, 2, "tokens", ROLE_Q, 2}, {ROLE_V, 2, "tokens", ROLE_K, 2}, {ROLE_KV_LEN, 0, "batch", ROLE_Q, 0},
};

/* gates/beta: [B, H, N(, D)] as q's. */
static vka_result check_gate(vka_op_build *b, int role, uint32_t rank)
{
    if (!b->inputs[role])
        return VKA_SUCCESS;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *g = b->inputs[role]->dims;
    const char *name = role == ROLE_BETA ? "beta" : "gates";
    vka_result r = vka_expect_tensor(b, role, rank, VKA_DTYPE_F32,
                                     rank == 4 ? "[batch, heads, tokens, head_dim]" : "[batch, heads, tokens]");
    if (r)
        return r;
    for (uint32_t a = 0; a < rank; a++)
        if (g[a] != q[a])
            return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: %s has %u on axis %u where q has %u", b->op, name,
                            g[a], a, q[a]);
    return VKA_SUCCESS;
}

/* retention's γ: given per head, or 1 − 2^(−5−h). */
static vka_result read_gamma(vka_op_build *b, gated_params *p)
{
    if (p->heads > VKA_ARRAY_LEN(p->gamma))
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: at most %zu heads", b->op, VKA_ARRAY_LEN(p->gamma));
    for (uint32_t h = 0; h < p->heads; h++)
        p->gamma[h] = (float)(1.0 - ldexp(1.0, -5 - (int)h));
    if (!vka_param_given(b->params, "gamma"))
        return VKA_SUCCESS;
    char text[1024], *end;
    vka_result r = vka_param_text(b->params, "gamma", text, sizeof text);
    uint32_t count = 0;
    for (const char *at = text; r == VKA_SUCCESS && *at; count++) {
        double g = strtod(at, &end);
        if (end == at || !(g > 0 && g <= 1) || (*end && *end != ',') || count == p->heads)
            return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                            "%s: gamma='%s' must be %u decays in (0, 1] separated by commas", b->op, text, p->heads);
        p->gamma[count] = (float)g;
        at = *end ? end + 1 : end;
    }
    if (r == VKA_SUCCESS && count != p->heads)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: gamma='%s' gives %u decays; q has %u heads", b->op,
                        text, count, p->heads);
    return r;
}

static vka_result build_common(vka_op_build *b, vka_ref_gated_kind kind)
{
    gated_params *p = b->parsed;
    vka_result r;
    bool causal;
    if ((r = vka_expect_qkv(b)) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *v = b->inputs[ROLE_V]->dims;
    uint32_t kv_heads;
    if ((r = vka_expect_grouped_heads(b, &kv_heads)) || (r = check_gate(b, ROLE_GATES, kind == VKA_REF_GLA ? 4 : 3)) ||
        (r = check_gate(b, ROLE_BETA, 3)))
        return r;
    if (q[3] > MAX_HEAD_DIM || v[3] > MAX_HEAD_DIM)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: head dim %u exceeds the largest supported (%d)", b->op,
                        q[3] > MAX_HEAD_DIM ? q[3] : v[3], MAX_HEAD_DIM);
    *p = (gated_params){
        .kind = kind, .batch = q[0], .heads = q[1], .kv_heads = kv_heads, .n = q[2], .d = q[3], .dv = v[3]};
    if ((r = vka_param_scale(b->params, "scale", p->d, &p->scale)) ||
        (r = vka_param_bool(b->params, "causal", &causal)) || (r = vka_param_bool(b->params, "decode", &p->decode)))
        return r;
    if (!causal)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: causal=0: the gated forms are causal only", b->op);
    char fallback[64];
    snprintf(fallback, sizeof fallback, "%s.state", b->op);
    if ((r = vka_param_text_or(b->params, "state", fallback, p->state_name, sizeof p->state_name)))
        return r;
    if (kind == VKA_REF_RETENTION && (r = read_gamma(b, p)))
        return r;
    p->l2norm = kind == VKA_REF_DELTANET;
    if (kind == VKA_REF_DELTANET && (r = vka_param_bool(b->params, "qk_l2norm", &p->l2norm)))
        return r;
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL;
    b->int_range[ROLE_KV_LEN].min = 0;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->n;
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->n, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

static vka_result build_gla(vka_op_build *b)
{
    return build_common(b, VKA_REF_GLA);
}

static vka_result build_retention(vka_op_build *b)
{
    return build_common(b, VKA_REF_RETENTION);
}

static vka_result build_deltanet(vka_op_build *b)
{
    return build_common(b, VKA_REF_DELTANET);
}

/* ------------------------------------------------------------------ lowering */

/* Each token's q | k | v (| gla's gates) side by side in one row of `x`. */
static vka_result pack_rows(vka_lowering *lw, const vka_op_node *node, const gated_params *p, uint32_t x_width,
                            uint32_t *x)
{
    uint32_t d4 = vka_div_up(p->d, 4), dv4 = vka_div_up(p->dv, 4), group = p->heads / p->kv_heads;
    vka_result r = vka_lower_intermediate(lw, "gated_rows", VKA_DTYPE_F32, 4,
                                          (uint32_t[]){p->batch, p->heads, p->n, 4 * x_width}, x);
    const struct {
        int role;
        uint32_t width, offset, divisor;
    } parts[] = {{ROLE_Q, d4, 0, 1},
                 {ROLE_K, d4, d4, group},
                 {ROLE_V, dv4, 2 * d4, group},
                 {p->kind == VKA_REF_GLA ? ROLE_GATES : -1, d4, 2 * d4 + dv4, 1}};
    for (size_t i = 0; r == VKA_SUCCESS && i < VKA_ARRAY_LEN(parts); i++)
        if (parts[i].role >= 0)
            r = vka_lower_copy_rows(lw, &(vka_copy_desc){.src = vka_lower_input(lw, node, parts[i].role),
                                                         .dst = *x,
                                                         .slices = p->batch * p->heads,
                                                         .count = parts[i].width,
                                                         .dst_offset = parts[i].offset,
                                                         .rows = p->n,
                                                         .src_row_stride = parts[i].width,
                                                         .dst_row_stride = x_width,
                                                         .src_divisor = parts[i].divisor});
    return r;
}

/* deltanet: per batch, H rows of log gates (0 when absent), then H rows of β ([B, H, N]
 * tensors are a slice per batch of H rows; the kernel binds this per batch, a divisor). */
static vka_result pack_scalars(vka_lowering *lw, const vka_op_node *node, const gated_params *p, uint32_t *out)
{
    uint32_t n4 = vka_div_up(p->n, 4), gates = vka_lower_input(lw, node, ROLE_GATES);
    vka_result r =
        vka_lower_intermediate(lw, "gated_scalars", VKA_DTYPE_F32, 3, (uint32_t[]){p->batch, 2 * p->heads, p->n}, out);
    if (r == VKA_SUCCESS && !gates) {
        size_t count = (size_t)p->batch * p->heads * p->n;
        float *zeros = calloc(count ? count : 1, sizeof *zeros);
        r = zeros ? vka_lower_constant(lw, "gated_no_gates", VKA_DTYPE_F32, 3, (uint32_t[]){p->batch, p->heads, p->n},
                                       zeros, &gates)
                  : vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering gates");
        free(zeros);
    }
    const uint32_t sources[2] = {gates, vka_lower_input(lw, node, ROLE_BETA)};
    for (uint32_t i = 0; r == VKA_SUCCESS && i < 2; i++)
        r = vka_lower_copy_rows(lw, &(vka_copy_desc){.src = sources[i],
                                                     .dst = *out,
                                                     .slices = p->batch,
                                                     .count = n4,
                                                     .dst_offset = i * p->heads * n4,
                                                     .rows = p->heads,
                                                     .src_row_stride = n4,
                                                     .dst_row_stride = n4});
    return r;
}

static vka_result state_tensor(vka_lowering *lw, const gated_params *p, uint32_t *out)
{
    uint32_t dims[4] = {p->batch, p->heads, p->d, p->dv};
    if (!p->decode)
        return vka_lower_intermediate(lw, "gated_state", VKA_DTYPE_F32, 4, dims, out);
    size_t count = (size_t)p->batch * p->heads * p->d * p->dv;
    float *zeros = calloc(count ? count : 1, sizeof *zeros);
    if (!zeros)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering a state");
    vka_result r = vka_lower_state(lw, p->state_name, VKA_DTYPE_F32, 4, dims, zeros, out);
    free(zeros);
    return r;
}

/* The tokens one dispatch may walk within the driver's loop budget. */
static uint32_t tokens_per_dispatch(const vka_device_info *dev, const gated_params *p)
{
    uint32_t budget = dev->loop_iteration_budget, overhead = 2 * 4 * vka_div_up(p->d, 4) + 2;
    return budget && budget > overhead + 1 ? VKA_MIN(p->n, budget - overhead - 1) : p->n;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const gated_params *p = node->params;
    const vka_device_info *dev = vka_lower_device(lw);
    uint32_t d4 = vka_div_up(p->d, 4), dv4 = vka_div_up(p->dv, 4);
    uint32_t x_width = 2 * d4 + dv4 + (p->kind == VKA_REF_GLA ? d4 : 0);
    uint32_t x, scalars = 0, state, gamma = 0, kv_len = vka_lower_input(lw, node, ROLE_KV_LEN);
    vka_result r = pack_rows(lw, node, p, x_width, &x);
    if (!r && p->kind == VKA_REF_DELTANET)
        r = pack_scalars(lw, node, p, &scalars);
    if (!r && !scalars)
        r = vka_lower_dummy(lw, &scalars);
    if (!r)
        r = state_tensor(lw, p, &state);
    if (!r && !kv_len)
        r = vka_lower_key_counts(lw, "gated_key_counts", p->batch, p->n, &kv_len);
    if (!r && p->kind == VKA_REF_RETENTION)
        r = vka_lower_constant(lw, "gated_gamma", VKA_DTYPE_F32, 1, &p->heads, p->gamma, &gamma);
    uint32_t wg = vka_cpu_class(dev) ? 8 : 32, chunk = tokens_per_dispatch(dev, p);
    for (uint32_t t0 = 0; !r && t0 < p->n; t0 += chunk)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_GATED_SCAN,
                    .spec.gated_scan = {.workgroup_size = wg,
                                        .D4 = d4,
                                        .KV_VEC4 = vka_div_up(p->batch, 4),
                                        .GAMMA_VEC4 = gamma ? vka_div_up(p->heads, 4) : 1,
                                        .KIND = (uint32_t)p->kind},
                    .push.gated_scan = {.t0 = t0,
                                        .n = VKA_MIN(chunk, p->n - t0),
                                        .n_all = p->n,
                                        .dv4 = dv4,
                                        .x_width = x_width,
                                        .heads = p->heads,
                                        .fresh = t0 == 0 && !p->decode,
                                        .qk_l2norm = p->l2norm,
                                        .scale = p->scale},
                    .groups_x = vka_div_up(dv4, wg),
                    .groups_y = 1,
                    .slices = p->batch * p->heads,
                    .bindings = {{.tensor = x, .access = VKA_READ, .whole = false},
                                 {.tensor = scalars,
                                  .access = VKA_READ,
                                  .whole = p->kind != VKA_REF_DELTANET,
                                  .slice_divisor = p->kind == VKA_REF_DELTANET && p->heads > 1 ? p->heads : 0},
                                 {.tensor = vka_lower_result(lw, node), .access = VKA_WRITE, .whole = false},
                                 {.tensor = state, .access = VKA_READ_WRITE, .whole = false},
                                 {.tensor = kv_len, .access = VKA_READ, .whole = true},
                                 {.tensor = gamma ? gamma : kv_len, .access = VKA_READ, .whole = true}},
                });
    return r;
}

/* ------------------------------------------------------------------ reference, flops */

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const gated_params *p = node->params;
    vka_ref_gated problem = {.kind = p->kind,
                             .batch = p->batch,
                             .heads = p->heads,
                             .kv_heads = p->kv_heads,
                             .n = p->n,
                             .d = p->d,
                             .dv = p->dv,
                             .q = in[ROLE_Q].data,
                             .k = in[ROLE_K].data,
                             .v = in[ROLE_V].data,
                             .gates = in[ROLE_GATES].data,
                             .beta = in[ROLE_BETA].data,
                             .gamma = p->gamma,
                             .kv_len = in[ROLE_KV_LEN].ints,
                             .scale = p->scale,
                             .l2norm = p->l2norm,
                             .out = out->data};
    if (!vka_ref_gated_run(&problem))
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the %s reference", node->cls->name);
    return VKA_SUCCESS;
}

/* Per token and head: the state's update and the output, each about 2·D·Dv (the delta
 * rule twice that). */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const gated_params *p = node->params;
    double per = 4.0 * p->d * p->dv * (p->kind == VKA_REF_DELTANET ? 1.5 : 1.0);
    return per * p->batch * p->heads * (double)p->n;
}

VKA_OP_CLASS(gla) = {
    .name = "gla",
    .summary = "Gated Linear Attention: S_t = diag(exp g_t) S + k vᵀ, o = scale·Sᵀq; gates=[B,H,N,D]; decode=1",
    .inputs = gla_roles,
    .output_shape = "B,H,Nk,Dv",
    .params = gla_params,
    .params_size = sizeof(gated_params),
    .build = build_gla,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};

VKA_OP_CLASS(retention) = {
    .name = "retention",
    .summary = "RetNet retention: gla with a constant decay γ_h per head (gamma=list); decode=1",
    .inputs = retention_roles,
    .output_shape = "B,H,Nk,Dv",
    .params = retention_params,
    .params_size = sizeof(gated_params),
    .build = build_retention,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};

VKA_OP_CLASS(deltanet) = {
    .name = "deltanet",
    .summary = "Gated DeltaNet: S_t = α_t (I − β k kᵀ) S + β k vᵀ; gates, beta=[B,H,N]; decode=1",
    .inputs = deltanet_roles,
    .output_shape = "B,H,Nk,Dv",
    .params = deltanet_params,
    .params_size = sizeof(gated_params),
    .build = build_deltanet,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
