/* `softmax` — exact attention, SCHEMES.md §1: O = softmax(q kᵀ · scale + mask) v.
 * kernel=flash (default): one tiled online-softmax dispatch, no Nq×Nk buffer (split over
 * the keys, and merged, when few queries meet many keys).
 * kernel=materialized: q kᵀ into a B·H·Nq·Nk score tensor, a masked row softmax in
 * place, then P v — the quadratic-memory baseline.
 * decode=1 (§10): a persistent KV cache each run appends its k and v to, the run's queries
 * attending over the whole cache at their positions (lowering/kv_cache.h). */
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/flash.h"
#include "lowering/kv_cache.h"
#include "lowering/matmul.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <stdio.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_KV_LEN, ROLE_SINKS, ROLE_MASK };
enum { KERNEL_FLASH, KERNEL_MATERIALIZED };

enum { ALIGN_BOTTOM_RIGHT, ALIGN_TOP_LEFT };

#define MAX_HEAD_DIM 512
#define MAX_CAPACITY (1u << 24)

typedef struct softmax_params {
    uint32_t batch, heads, nq, nk, d, dv;
    uint32_t kv_heads; /* k and v's heads: heads, or a divisor of it (grouped heads) */
    float scale, softcap;
    bool causal, decode;
    int kernel, align;
    uint32_t split_k;
    uint32_t capacity;               /* decode: the cache's positions per batch */
    uint32_t mask_batch, mask_heads; /* the mask's leading dims (1 or B, 1 or H), 0 without one */
    char state[64];                  /* decode: the cache's name */
} softmax_params;

static const vka_input_info roles[] = {
    VKA_IN_Q, VKA_IN_K_GROUPED, VKA_IN_V_GROUPED, VKA_IN_KV_LEN, VKA_IN_SINKS, VKA_IN_MASK, {0},
};
static const char *const kernels[] = {"flash", "materialized", NULL};
static const char *const aligns[] = {"bottom_right", "top_left", NULL};
static const vka_param_info params[] = {
    VKA_PARAM_SCALE,
    VKA_PARAM_CAUSAL,
    {"causal_align", VKA_PARAM_ENUM, "query i sees key j <= i + Nk − Nq (bottom_right) or j <= i (top_left)",
     "bottom_right", .choices = aligns},
    {"kernel", VKA_PARAM_ENUM, "tiled online softmax, or the score matrix materialised", "flash", .choices = kernels},
    VKA_PARAM_SOFTCAP,
    {"split_k", VKA_PARAM_INT, "flash: key ranges run in parallel and merged (0: the planner's choice, 1: none)", "0",
     NULL, 0, 256, NULL},
    {"decode", VKA_PARAM_BOOL, "keep a KV cache across runs: each run appends k, v and attends over the cache", "0",
     NULL, 0, 1, NULL},
    {"capacity", VKA_PARAM_INT, "decode=1: the cache's positions per batch", NULL, "needed with decode=1", 1,
     MAX_CAPACITY, NULL},
    {"state", VKA_PARAM_NAME, "decode=1: the cache's name (NAME.k, NAME.v, NAME.length for vka_plan_read/write)", NULL,
     "OP.cache", 0, 0, NULL},
    {0},
};

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},  {ROLE_V, 0, "batch", ROLE_Q, 0},      {ROLE_K, 3, "head dim", ROLE_Q, 3},
    {ROLE_V, 2, "tokens", ROLE_K, 2}, {ROLE_KV_LEN, 0, "batch", ROLE_Q, 0},
};

static vka_result check_shapes(vka_op_build *b, softmax_params *p)
{
    vka_result r;
    if ((r = vka_expect_qkv(b)) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *k = b->inputs[ROLE_K]->dims, *v = b->inputs[ROLE_V]->dims;
    if (q[3] > MAX_HEAD_DIM || v[3] > MAX_HEAD_DIM)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: head dim %u exceeds the largest supported (%d)", b->op,
                        q[3] > MAX_HEAD_DIM ? q[3] : v[3], MAX_HEAD_DIM);
    uint32_t kv_heads;
    if ((r = vka_expect_grouped_heads(b, &kv_heads)) || (r = vka_expect_sinks(b, ROLE_SINKS)))
        return r;
    uint32_t mask_batch, mask_heads;
    if ((r = vka_expect_mask(b, ROLE_MASK, q[0], q[1], q[2], k[2], &mask_batch, &mask_heads)))
        return r;
    *p = (softmax_params){.batch = q[0],
                          .heads = q[1],
                          .kv_heads = kv_heads,
                          .nq = q[2],
                          .nk = k[2],
                          .d = q[3],
                          .dv = v[3],
                          .mask_batch = mask_batch,
                          .mask_heads = mask_heads};
    /* kv_len[b] counts keys: 0..Nk (decoding: the run's new tokens of batch b). */
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL;
    b->int_range[ROLE_KV_LEN].min = 0;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->nk;
    return VKA_SUCCESS;
}

static vka_result read_softcap(vka_op_build *b, softmax_params *p)
{
    double softcap;
    vka_result r = vka_param_float(b->params, "softcap", &softcap);
    p->softcap = (float)softcap;
    return r;
}

/* decode=1: the run's q, k and v are its new tokens; kv_len says how many of them each
 * batch adds (all by default); the cache holds `capacity`. */
static vka_result read_decode(vka_op_build *b, softmax_params *p)
{
    vka_result r;
    p->capacity = 0; /* none unless given */
    if ((r = vka_param_bool(b->params, "decode", &p->decode)) ||
        (vka_param_given(b->params, "capacity") && (r = vka_param_int(b->params, "capacity", &p->capacity))))
        return r;
    char fallback[64];
    snprintf(fallback, sizeof fallback, "%s.cache", b->op);
    if ((r = vka_param_text_or(b->params, "state", fallback, p->state, sizeof p->state)))
        return r;
    if (!p->decode)
        return p->capacity
                   ? vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: capacity applies only with decode=1", b->op)
                   : VKA_SUCCESS;
    if (!p->causal)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: decode=1 needs causal=1 (decoding is causal)", b->op);
    if (p->kernel != KERNEL_FLASH)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: decode=1 runs the flash kernel, not kernel=materialized", b->op);
    if (b->inputs[ROLE_MASK])
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: decode=1 takes no mask (its keys are the cache's; use kv_len and the causal positions)",
                        b->op);
    if (!p->capacity)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: decode=1 needs capacity=N (the cache's positions)",
                        b->op);
    if (p->nq != p->nk)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: when decoding q and k carry the same new tokens; got %u queries and %u keys", b->op, p->nq,
                        p->nk);
    if (p->nq > p->capacity)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: a run's %u new tokens exceed the cache's capacity %u",
                        b->op, p->nq, p->capacity);
    return VKA_SUCCESS;
}

static vka_result build(vka_op_build *b)
{
    softmax_params *p = b->parsed;
    vka_result r;
    if ((r = check_shapes(b, p)) || (r = vka_param_scale(b->params, "scale", p->d, &p->scale)) ||
        (r = vka_param_bool(b->params, "causal", &p->causal)) ||
        (r = vka_param_enum(b->params, "causal_align", &p->align)) ||
        (r = vka_param_enum(b->params, "kernel", &p->kernel)) ||
        (r = vka_param_int(b->params, "split_k", &p->split_k)) || (r = read_softcap(b, p)) || (r = read_decode(b, p)))
        return r;
    if (p->decode && p->align != ALIGN_BOTTOM_RIGHT)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: decode=1 places the queries at the cache's end; causal_align does not apply", b->op);
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ lowering */

/* kv_len as given, or a constant table saying every key exists. */
static vka_result kv_len_tensor(vka_lowering *lw, const vka_op_node *node, const softmax_params *p, uint32_t *out)
{
    *out = vka_lower_input(lw, node, ROLE_KV_LEN);
    return *out ? VKA_SUCCESS : vka_lower_key_counts(lw, "kv_len", p->batch, p->nk, out);
}

/* The kernels' causal mask. */
static uint32_t causal_mode(const softmax_params *p)
{
    if (!p->causal)
        return VKA_CAUSAL_NONE;
    return p->align == ALIGN_TOP_LEFT ? VKA_CAUSAL_TOP_LEFT : VKA_CAUSAL_BOTTOM_RIGHT;
}

static vka_result logit_options(vka_lowering *lw, const vka_op_node *node, const softmax_params *p,
                                vka_logit_options *o)
{
    *o = (vka_logit_options){.softcap = p->softcap, .sinks = vka_lower_input(lw, node, ROLE_SINKS)};
    return vka_lower_mask(lw, vka_lower_input(lw, node, ROLE_MASK),
                          &(vka_mask_shape){p->batch, p->heads, p->nq, p->nk, p->mask_batch, p->mask_heads}, o);
}

/* The flash dispatch over the op's own q, k, v and output; decoding swaps in its caches. */
static vka_result flash_desc(vka_lowering *lw, const vka_op_node *node, const softmax_params *p, vka_flash_desc *f)
{
    *f = (vka_flash_desc){.q = vka_lower_input(lw, node, ROLE_Q),
                          .k = vka_lower_input(lw, node, ROLE_K),
                          .v = vka_lower_input(lw, node, ROLE_V),
                          .out = vka_lower_result(lw, node),
                          .batch = p->batch,
                          .heads = p->heads,
                          .nq = p->nq,
                          .nk = p->nk,
                          .d = p->d,
                          .dv = p->dv,
                          .kv_heads = p->kv_heads,
                          .causal = causal_mode(p),
                          .scale = p->scale,
                          .split_k = p->split_k};
    return logit_options(lw, node, p, &f->logits);
}

static vka_result lower_flash(vka_lowering *lw, const vka_op_node *node, const softmax_params *p, uint32_t kv_len)
{
    vka_flash_desc f;
    vka_result r = flash_desc(lw, node, p, &f);
    f.kv_len = kv_len;
    return r ? r : vka_lower_flash(lw, &f);
}

/* Decoding: append the run's k and v to the caches, attend over them from the queries'
 * positions, advance the lengths. */
static vka_result lower_decode(vka_lowering *lw, const vka_op_node *node, const softmax_params *p)
{
    vka_kv_cache_desc d = {.state = p->state,
                           .k = vka_lower_input(lw, node, ROLE_K),
                           .v = vka_lower_input(lw, node, ROLE_V),
                           .added = vka_lower_input(lw, node, ROLE_KV_LEN),
                           .batch = p->batch,
                           .kv_heads = p->kv_heads,
                           .tokens = p->nq,
                           .d = p->d,
                           .dv = p->dv,
                           .capacity = p->capacity};
    vka_kv_cache cache;
    vka_flash_desc f;
    vka_result r = flash_desc(lw, node, p, &f);
    if (!r)
        r = vka_lower_kv_cache_append(lw, &d, &cache);
    if (r)
        return r;
    f.k = cache.k, f.v = cache.v, f.kv_len = cache.total, f.q_pos = cache.q_pos;
    f.nk = p->capacity, f.causal = VKA_CAUSAL_POSITIONS;
    r = vka_lower_flash(lw, &f);
    return r ? r : vka_lower_kv_cache_advance(lw, &d, &cache);
}

/* Grouped heads, materialised: k or v repeated to one slice per query head (the quadratic
 * baseline's products take one B per slice). */
static vka_result repeat_heads(vka_lowering *lw, const softmax_params *p, int role, const vka_op_node *node,
                               uint32_t width, uint32_t *out)
{
    uint32_t given = vka_lower_input(lw, node, role);
    if (p->kv_heads == p->heads) {
        *out = given;
        return VKA_SUCCESS;
    }
    const char *name = role == ROLE_K ? "k_repeated" : "v_repeated";
    vka_result r = vka_lower_intermediate(lw, name, vka_lower_dtype(lw, given), 4,
                                          (uint32_t[]){p->batch, p->heads, p->nk, width}, out);
    return r ? r
             : vka_lower_copy_rows(lw, &(vka_copy_desc){.src = given,
                                                        .dst = *out,
                                                        .slices = p->batch * p->heads,
                                                        .count = p->nk * vka_div_up(width, 4),
                                                        .src_divisor = p->heads / p->kv_heads});
}

static vka_result lower_materialized(vka_lowering *lw, const vka_op_node *node, const softmax_params *p,
                                     uint32_t kv_len)
{
    uint32_t slices = p->batch * p->heads, scores, k, v;
    vka_result r =
        vka_lower_intermediate(lw, "scores", VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, p->nq, p->nk}, &scores);
    if (!r)
        r = repeat_heads(lw, p, ROLE_K, node, p->d, &k);
    if (!r)
        r = repeat_heads(lw, p, ROLE_V, node, p->dv, &v);
    if (!r)
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = vka_lower_input(lw, node, ROLE_Q),
                                                    .b = k,
                                                    .c = scores,
                                                    .slices = slices,
                                                    .m = p->nq,
                                                    .n = p->nk,
                                                    .k = p->d,
                                                    .alpha = p->scale,
                                                    .trans_b = true});
    if (r)
        return r;
    vka_logit_options logits;
    r = logit_options(lw, node, p, &logits);
    if (!r)
        r = vka_lower_row_softmax(lw, scores, kv_len, p->batch, p->heads, p->nq, p->nk, causal_mode(p), &logits);
    if (!r)
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = scores,
                                                    .b = v,
                                                    .c = vka_lower_result(lw, node),
                                                    .slices = slices,
                                                    .m = p->nq,
                                                    .n = p->dv,
                                                    .k = p->nk,
                                                    .alpha = 1.0f});
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const softmax_params *p = node->params;
    if (p->decode)
        return lower_decode(lw, node, p);
    uint32_t kv_len;
    vka_result r = kv_len_tensor(lw, node, p, &kv_len);
    if (r != VKA_SUCCESS)
        return r;
    /* The flash kernels with a mask bind five storage buffers; a device with four per stage
     * (android-2021) runs the materialised form, the same result. */
    bool flash_fits = !p->mask_batch || vka_lower_device(lw)->limits.max_storage_buffers_per_stage >= 5;
    return p->kernel == KERNEL_FLASH && flash_fits ? lower_flash(lw, node, p, kv_len)
                                                   : lower_materialized(lw, node, p, kv_len);
}

/* ------------------------------------------------------------------ reference, flops */

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const softmax_params *p = node->params;
    vka_ref_attention a = {
        .batch = p->batch,
        .heads = p->heads,
        .nq = p->nq,
        .nk = p->nk,
        .d = p->d,
        .dv = p->dv,
        .kv_heads = p->kv_heads,
        .q = in[ROLE_Q].data,
        .k = in[ROLE_K].data,
        .v = in[ROLE_V].data,
        .kv_len = in[ROLE_KV_LEN].ints,
        .scale = p->scale,
        .causal = p->causal,
        .top_left = p->align == ALIGN_TOP_LEFT,
        .softcap = p->softcap,
        .sinks = in[ROLE_SINKS].data,
        .mask = in[ROLE_MASK].data,
        .mask_batch = p->mask_batch,
        .mask_heads = p->mask_heads,
        .first_run = p->decode,
        .out = out->data,
    };
    if (!vka_ref_softmax_attention(&a))
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the softmax reference");
    return VKA_SUCCESS;
}

/* 2·(D + Dv) flops per visible (query, key) pair — 4·Nq·Nk·D per head without a mask,
 * the convention of attention GFLOP/s figures. Causal masking removes the pairs above
 * the diagonal; kv_len, known only at run time, is not counted. */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const softmax_params *p = node->params;
    double pairs = (double)p->nq * p->nk;
    if (p->causal) {
        pairs = 0;
        for (uint32_t i = 0; i < p->nq; i++)
            pairs += p->align == ALIGN_TOP_LEFT ? VKA_MIN(i + 1, p->nk)
                                                : vka_ref_visible_keys(i, p->nq, p->nk, (int32_t)p->nk, true);
    }
    return 2.0 * p->batch * p->heads * pairs * (p->d + p->dv);
}

VKA_OP_CLASS(softmax) = {
    .name = "softmax",
    .summary = "exact attention softmax(q kᵀ·scale + mask) v; kernel=flash|materialized",
    .inputs = roles,
    .output_shape = "B,H,Nq,Dv",
    .rows_independent = true,
    .params = params,
    .params_size = sizeof(softmax_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
