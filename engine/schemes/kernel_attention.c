/* Kernel (feature-map) attention, SCHEMES.md §2–3: `linear` (φ = elu + 1) and
 * `performer` (FAVOR+: positive, hyperbolic and trig random features).
 *
 *   O_i = φ(q_i)ᵀ S / (φ(q_i)ᵀ z + eps),  S = Σ_j φ(k_j) v_jᵀ,  z = Σ_j φ(k_j)
 *
 * Lowering, the same for both (shaders/kernel_state.glsl has the layouts):
 *   feature_map     φ of queries and keys, each row with its own log-scale s
 *   kstate_blocks   each block of T keys' state S' = Σ e^(s_j − L) φ(k_j) [v_j, 1]ᵀ
 *   kstate_scan     combine the blocks in order with a running stabiliser: the total
 *                   (non-causal), or every block's exclusive prefix (causal)
 *   matmul          Φ(q)·S' — numerators and normaliser — against the total, or (causal)
 *                   grouped by query block, each against the prefix of the keys its first
 *                   row sees (key blocks are lined up with query blocks for this)
 *   kattn_normalize the division (non-causal), or kattn_causal: the few keys past the
 *                   prefix each row still sees, then the division
 *   copy_rows       decoding: the final state into the persistent state
 * Peak memory is linear in N: features, one state per block of keys, the output.
 * Decoding (`decode=1`) keeps the state across runs; each run adds the new tokens in
 * O(state) work however many came before. */
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/kernel_class.h"
#include "lowering/matmul.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_KV_LEN, ROLE_PROJECTION };
enum { MAP_ELU, MAP_POSITIVE, MAP_HYPERBOLIC, MAP_TRIG }; /* = feature_map.comp's MODE */

#define MAX_HEAD_DIM 256
#define MAX_PROJECTIONS 1024
#define CAUSAL_BLOCK 32 /* keys per block when blocks also bound the causal quadratic part */
#define TOTAL_BLOCK 256 /* keys per block when only the total is needed */

typedef struct kernel_params {
    uint32_t batch, heads, nq, nk, d, dv;
    uint32_t kv_heads;    /* k and v's: heads or a divisor (grouped heads; states kept per query head) */
    uint32_t map;         /* MAP_* */
    uint32_t projections; /* m (performer) */
    uint32_t features;    /* F, with each group of features padded to a multiple of 4 */
    bool causal, decode, orthogonal;
    uint64_t seed;
    float eps;
    char state_name[64];
} kernel_params;

static const vka_input_info linear_roles[] = {VKA_IN_Q, VKA_IN_K_GROUPED, VKA_IN_V_GROUPED, VKA_IN_KV_LEN, {0}};
static const vka_input_info performer_roles[] = {
    VKA_IN_Q,
    VKA_IN_K_GROUPED,
    VKA_IN_V_GROUPED,
    VKA_IN_KV_LEN,
    VKA_IN_OPTIONAL("projection", VKA_INPUT_LEARNED, "1,1,F=64,D", "the random features (else drawn from seed)"),
    {0},
};
static const char *const feature_kinds[] = {"positive", "hyperbolic", "trig", NULL};
#define COMMON_PARAMS                                                                                                  \
    VKA_PARAM_CAUSAL, {"eps", VKA_PARAM_FLOAT, "added to the normaliser", "1e-6", NULL, 0, 1e30, NULL},                \
        {"decode", VKA_PARAM_BOOL, "keep the state across runs (one token at a time; needs causal)", "0", NULL, 0, 1,  \
         NULL},                                                                                                        \
    {                                                                                                                  \
        "state", VKA_PARAM_NAME, "the persistent state's name (vka_plan_read/write)", NULL, "OP.state", 0, 0, NULL     \
    }
static const vka_param_info linear_params[] = {COMMON_PARAMS, {0}};
static const vka_param_info performer_params[] = {
    COMMON_PARAMS,
    {"kernel", VKA_PARAM_ENUM, "the random-feature map", "positive", .choices = feature_kinds},
    {"features", VKA_PARAM_INT, "random features m", NULL, "the projection's rows, else 256", 1, MAX_PROJECTIONS, NULL},
    VKA_PARAM_SEED("draws the projection when none is given"),
    {"orthogonal", VKA_PARAM_BOOL, "orthogonal blocks of projections (else iid)", "1", NULL, 0, 1, NULL},
    {0},
};

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},  {ROLE_V, 0, "batch", ROLE_Q, 0},      {ROLE_K, 3, "head dim", ROLE_Q, 3},
    {ROLE_V, 2, "tokens", ROLE_K, 2}, {ROLE_KV_LEN, 0, "batch", ROLE_Q, 0}, {ROLE_PROJECTION, 3, "head dim", ROLE_Q, 3},
};

static vka_result check_shapes(vka_op_build *b, kernel_params *p)
{
    bool has_projection = b->inputs[ROLE_PROJECTION] != NULL; /* performer only: the role exists */
    vka_result r;
    if ((r = vka_expect_qkv(b)) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (has_projection &&
         (r = vka_expect_tensor(b, ROLE_PROJECTION, 4, VKA_DTYPE_F32, "[1, 1, features, head_dim]"))) ||
        (r = vka_expect_axes(b, axis_rules,
                             has_projection ? VKA_ARRAY_LEN(axis_rules) : VKA_ARRAY_LEN(axis_rules) - 1)) ||
        (r = vka_expect_grouped_heads(b, &p->kv_heads)))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *k = b->inputs[ROLE_K]->dims, *v = b->inputs[ROLE_V]->dims;
    if (q[3] > MAX_HEAD_DIM || v[3] > MAX_HEAD_DIM)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: head dim %u exceeds the largest supported (%d)", b->op,
                        q[3] > MAX_HEAD_DIM ? q[3] : v[3], MAX_HEAD_DIM);
    if (has_projection) {
        const uint32_t *w = b->inputs[ROLE_PROJECTION]->dims;
        if (w[0] != 1 || w[1] != 1)
            return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: projection must be [1, 1, features, head_dim]",
                            b->op);
    }
    p->batch = q[0], p->heads = q[1], p->nq = q[2], p->nk = k[2], p->d = q[3], p->dv = v[3];
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->nk;
    return VKA_SUCCESS;
}

/* Parameters common to both classes. */
static vka_result read_common(vka_op_build *b, kernel_params *p)
{
    double eps;
    vka_result r;
    if ((r = vka_param_bool(b->params, "causal", &p->causal)) || (r = vka_param_float(b->params, "eps", &eps)) ||
        (r = vka_param_bool(b->params, "decode", &p->decode)))
        return r;
    p->eps = (float)eps;
    char fallback[64];
    snprintf(fallback, sizeof fallback, "%s.state", b->op);
    if ((r = vka_param_text_or(b->params, "state", fallback, p->state_name, sizeof p->state_name)))
        return r;
    if (p->decode && !p->causal)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: decode=1 needs causal=1 (decoding is causal)", b->op);
    if (p->decode && b->inputs[ROLE_KV_LEN])
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: kv_len does not apply when decoding (every new token is a key)", b->op);
    if (p->decode && p->nq != p->nk)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: when decoding q and k carry the same new tokens; got %u queries and %u keys", b->op, p->nq,
                        p->nk);
    return VKA_SUCCESS;
}

static void set_output(vka_op_build *b, const kernel_params *p)
{
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
}

static vka_result build_linear(vka_op_build *b)
{
    kernel_params *p = b->parsed;
    vka_result r;
    if ((r = check_shapes(b, p)) || (r = read_common(b, p)))
        return r;
    p->map = MAP_ELU;
    p->features = 4 * vka_div_up(p->d, 4);
    set_output(b, p);
    return VKA_SUCCESS;
}

static vka_result build_performer(vka_op_build *b)
{
    kernel_params *p = b->parsed;
    int kind;
    uint32_t seed_low;
    vka_result r;
    const vka_graph_tensor *w = b->inputs[ROLE_PROJECTION];
    if ((r = check_shapes(b, p)) || (r = read_common(b, p)))
        return r;
    if (w && w->dims[2] > MAX_PROJECTIONS)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: %u projections; at most %d are supported", b->op,
                        w->dims[2], MAX_PROJECTIONS);
    if ((r = vka_param_enum(b->params, "kernel", &kind)) ||
        (r = vka_param_int_or(b->params, "features", w ? w->dims[2] : 256, &p->projections)) ||
        (r = vka_param_int(b->params, "seed", &seed_low)) ||
        (r = vka_param_bool(b->params, "orthogonal", &p->orthogonal)))
        return r;
    p->seed = seed_low;
    p->map = MAP_POSITIVE + (uint32_t)kind;
    if (w && w->dims[2] != p->projections)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: features=%u but the projection has %u rows", b->op,
                        p->projections, w->dims[2]);
    /* Each group of m features starts on a vec4 boundary (feature_map.comp). */
    p->features = (p->map == MAP_POSITIVE ? 4 : 8) * vka_div_up(p->projections, 4);
    set_output(b, p);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ lowering */

typedef struct kernel_plan {
    const kernel_params *p;
    const vka_device_info *dev;
    uint32_t slices, wg;
    uint32_t f4, dv4, dv14;  /* vec4 per feature row (before s), per v row, per state row */
    uint32_t block, nblocks; /* keys per block, blocks */
    uint32_t phase;          /* keys in block 0, in [1, block]: block b ≥ 1 starts at phase + (b − 1)·block */
    int32_t slot_base;       /* query block c's prefix state: slot c + slot_base (causal) */
    uint32_t kv_len, features, persistent;
    uint32_t scratch;       /* per slice: nblocks + 1 states, then the numerators */
    uint32_t numerators_at; /* vec4 into a scratch slice */
} kernel_plan;

static vka_result kv_len_tensor(vka_lowering *lw, const vka_op_node *node, const kernel_params *p, uint32_t *out)
{
    *out = vka_lower_input(lw, node, ROLE_KV_LEN);
    return *out ? VKA_SUCCESS : vka_lower_key_counts(lw, "kv_len", p->batch, p->nk, out);
}

/* args: features, head dim, orthogonal. */
static vka_result draw_projection(uint64_t seed, const uint32_t args[4], float *out)
{
    return vka_random_projection(seed, args[0], args[1], args[2] != 0, out);
}

/* The projection as given, generated from the seed (vka_plan_redraw draws it again), or
 * (linear) an unused binding. */
static vka_result projection_tensor(vka_lowering *lw, const vka_op_node *node, const kernel_params *p, uint32_t *out)
{
    if (p->map == MAP_ELU)
        return vka_lower_dummy(lw, out);
    *out = vka_lower_input(lw, node, ROLE_PROJECTION);
    if (*out)
        return VKA_SUCCESS;
    const uint32_t args[4] = {p->projections, p->d, p->orthogonal};
    return vka_lower_drawn_constant(lw, "projection", 2, (uint32_t[]){p->projections, p->d}, draw_projection, args,
                                    p->seed, out);
}

/* Query heads per k/v head: k and v are bound with this slice divisor, and every query
 * head keeps its own state of its group's keys (the states are not shared). */
static uint32_t kv_group(const kernel_params *p)
{
    return p->kv_heads ? p->heads / p->kv_heads : 1;
}

static vka_result dispatch_features(vka_lowering *lw, const vka_op_node *node, const kernel_plan *kp)
{
    const kernel_params *p = kp->p;
    uint32_t w, d4 = vka_div_up(p->d, 4), rows = 4;
    vka_result r = projection_tensor(lw, node, p, &w);
    if (r != VKA_SUCCESS)
        return r;
    vka_dispatch_desc d = {
        .kernel = VKA_KERNEL_FEATURE_MAP,
        .spec.feature_map = {.workgroup_size = kp->wg, .D4 = d4, .MODE = p->map, .ROWS = rows, .F4 = kp->f4},
        .push.feature_map = {.nq = p->nq, .nk = p->nk, .m = p->projections, .d = p->d, .kv_group = kv_group(p)},
        .groups_x = vka_div_up(vka_div_up(p->nq + p->nk, rows), kp->wg),
        .groups_y = 1,
        .slices = kp->slices,
        .bindings = {{.tensor = vka_lower_input(lw, node, ROLE_Q), .access = VKA_READ, .whole = false},
                     {.tensor = vka_lower_input(lw, node, ROLE_K),
                      .access = VKA_READ,
                      .whole = false,
                      .slice_divisor = kv_group(p)},
                     {.tensor = w, .access = VKA_READ, .whole = true},
                     {.tensor = kp->features, .access = VKA_READ_WRITE, .whole = false}},
    };
    return vka_lower_dispatch(lw, &d);
}

enum { TILE_FT4 = 4, TILE_CT = 4 };

static uint32_t state_tiles(const kernel_plan *kp)
{
    return vka_div_up(kp->p->features, 4 * TILE_FT4) * vka_div_up(kp->dv14, TILE_CT);
}

static vka_result dispatch_blocks(vka_lowering *lw, const vka_op_node *node, const kernel_plan *kp)
{
    const kernel_params *p = kp->p;
    vka_dispatch_desc d = {
        .kernel = VKA_KERNEL_KSTATE_BLOCKS,
        .spec.kstate_blocks = {.workgroup_size = kp->wg,
                               .FT4 = TILE_FT4,
                               .CT = TILE_CT,
                               .KV_VEC4 = vka_div_up(p->batch, 4),
                               .T = kp->block,
                               .F4 = kp->f4,
                               .DV4 = kp->dv4,
                               .DV14 = kp->dv14},
        .push.kstate_blocks = {.nq = p->nq,
                               .nk = p->nk,
                               .heads = p->heads,
                               .f = p->features,
                               .dv = p->dv,
                               .nblocks = kp->nblocks,
                               .phase = kp->phase,
                               .kv_group = kv_group(p)},
        .groups_x = vka_div_up(kp->nblocks * state_tiles(kp), kp->wg),
        .groups_y = 1,
        .slices = kp->slices,
        .bindings = {{.tensor = kp->features, .access = VKA_READ, .whole = false},
                     {.tensor = vka_lower_input(lw, node, ROLE_V),
                      .access = VKA_READ,
                      .whole = false,
                      .slice_divisor = kv_group(p)},
                     {.tensor = kp->scratch, .access = VKA_WRITE, .whole = false},
                     {.tensor = kp->kv_len, .access = VKA_READ, .whole = true}},
    };
    return vka_lower_dispatch(lw, &d);
}

static vka_result dispatch_scan(vka_lowering *lw, const kernel_plan *kp)
{
    const kernel_params *p = kp->p;
    uint32_t initial = kp->persistent;
    vka_result r = initial ? VKA_SUCCESS : vka_lower_dummy(lw, &initial);
    if (r != VKA_SUCCESS)
        return r;
    vka_dispatch_desc d = {
        .kernel = VKA_KERNEL_KSTATE_SCAN,
        .spec.kstate_scan = {.workgroup_size = kp->wg,
                             .FT4 = TILE_FT4,
                             .CT = TILE_CT,
                             .DV14 = kp->dv14,
                             .CAUSAL = p->causal,
                             .INITIAL = kp->persistent != 0},
        .push.kstate_scan = {.f = p->features, .nblocks = kp->nblocks},
        .groups_x = vka_div_up(state_tiles(kp), kp->wg),
        .groups_y = 1,
        .slices = kp->slices,
        .bindings = {{.tensor = kp->scratch, .access = VKA_READ_WRITE, .whole = false},
                     {.tensor = initial, .access = VKA_READ, .whole = kp->persistent == 0}},
    };
    return vka_lower_dispatch(lw, &d);
}

/* Φ(q)·S' into the numerators: against the total, or per query block of T rows against
 * the prefix state of the keys the block's first row sees. */
static vka_result dispatch_numerators(vka_lowering *lw, const kernel_plan *kp)
{
    const kernel_params *p = kp->p;
    uint32_t state_vec4 = (p->features + 1) * kp->dv14;
    vka_matmul_desc m = {
        .a = kp->features,
        .b = kp->scratch,
        .c = kp->scratch,
        .slices = kp->slices,
        .m = p->nq,
        .n = p->dv + 1,
        .k = p->features,
        .alpha = 1.0f,
        .lda = kp->f4 + 1,
        .ldb = kp->dv14,
        .ldc = kp->dv14,
        .b_offset = kp->nblocks * state_vec4,
        .c_offset = kp->numerators_at,
    };
    if (p->causal) {
        m.m = kp->block;
        m.m_total = p->nq;
        m.groups = vka_div_up(p->nq, kp->block);
        m.a_group_stride = kp->block * (kp->f4 + 1);
        m.c_group_stride = kp->block * kp->dv14;
        m.b_offset = 0;
        m.b_group_stride = state_vec4;
        m.b_group_base = kp->slot_base;
        m.b_group_last = kp->nblocks;
    }
    return vka_lower_matmul(lw, &m);
}

/* Causal: rows' remaining keys and the division. Rows per invocation share each key's
 * loads but hold their features and accumulators in registers: measured on lavapipe
 * (N = 4096, D = 64), 2 rows ran fastest. Query blocks hold a whole number of them. */
static vka_result dispatch_causal_finish(vka_lowering *lw, const vka_op_node *node, const kernel_plan *kp)
{
    const kernel_params *p = kp->p;
    uint32_t rows = 2;
    vka_dispatch_desc d = {
        .kernel = VKA_KERNEL_KATTN_CAUSAL,
        .spec.kattn_causal = {.workgroup_size = kp->wg,
                              .F4 = kp->f4,
                              .DV4 = kp->dv4,
                              .DV14 = kp->dv14,
                              .ROWS = rows,
                              .T = kp->block,
                              .KV_VEC4 = vka_div_up(p->batch, 4)},
        .push.kattn_causal = {.nq = p->nq,
                              .nk = p->nk,
                              .heads = p->heads,
                              .f = p->features,
                              .dv = p->dv,
                              .nblocks = kp->nblocks,
                              .eps = p->eps,
                              .slot_base = kp->slot_base,
                              .numerators_at = kp->numerators_at,
                              .kv_group = kv_group(p)},
        .groups_x = vka_div_up(vka_div_up(p->nq, rows), kp->wg),
        .groups_y = 1,
        .slices = kp->slices,
        .bindings = {{.tensor = kp->features, .access = VKA_READ, .whole = false},
                     {.tensor = vka_lower_input(lw, node, ROLE_V),
                      .access = VKA_READ,
                      .whole = false,
                      .slice_divisor = kv_group(p)},
                     {.tensor = kp->scratch, .access = VKA_READ, .whole = false},
                     {.tensor = vka_lower_result(lw, node), .access = VKA_WRITE, .whole = false},
                     {.tensor = kp->kv_len, .access = VKA_READ, .whole = true}},
    };
    return vka_lower_dispatch(lw, &d);
}

static vka_result dispatch_normalize(vka_lowering *lw, const vka_op_node *node, const kernel_plan *kp)
{
    const kernel_params *p = kp->p;
    uint32_t stats_at = (kp->nblocks * (p->features + 1) + p->features) * kp->dv14;
    vka_dispatch_desc d = {
        .kernel = VKA_KERNEL_KATTN_NORMALIZE,
        .spec.kattn_normalize = {.workgroup_size = kp->wg,
                                 .DV4 = kp->dv4,
                                 .DV14 = kp->dv14,
                                 .FP4 = kp->f4 + 1,
                                 .KV_VEC4 = vka_div_up(p->batch, 4)},
        .push.kattn_normalize = {.nq = p->nq,
                                 .heads = p->heads,
                                 .dv = p->dv,
                                 .eps = p->eps,
                                 .stats_at = stats_at,
                                 .numerators_at = kp->numerators_at},
        .groups_x = vka_div_up(p->nq, kp->wg),
        .groups_y = 1,
        .slices = kp->slices,
        .bindings = {{.tensor = kp->scratch, .access = VKA_READ, .whole = false},
                     {.tensor = kp->features, .access = VKA_READ, .whole = false},
                     {.tensor = vka_lower_result(lw, node), .access = VKA_WRITE, .whole = false},
                     {.tensor = kp->kv_len, .access = VKA_READ, .whole = true}},
    };
    return vka_lower_dispatch(lw, &d);
}

/* Decoding: the total after this run becomes the persistent state. */
static vka_result dispatch_commit(vka_lowering *lw, const kernel_plan *kp)
{
    uint32_t count = (kp->p->features + 1) * kp->dv14;
    return vka_lower_copy_rows(lw, &(vka_copy_desc){.src = kp->scratch,
                                                    .dst = kp->persistent,
                                                    .slices = kp->slices,
                                                    .count = count,
                                                    .src_offset = kp->nblocks * count});
}

/* A fresh state: nothing accumulated, on the smallest stabiliser (so the first key
 * sets it). */
static vka_result persistent_state(vka_lowering *lw, const kernel_plan *kp, uint32_t *out)
{
    const kernel_params *p = kp->p;
    uint32_t rows = p->features + 1, cols = 4 * kp->dv14;
    size_t per_slice = (size_t)rows * cols;
    float *initial = calloc(per_slice * kp->slices, sizeof *initial);
    if (!initial)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering a state");
    for (uint32_t s = 0; s < kp->slices; s++)
        initial[s * per_slice + (size_t)p->features * cols + 1] = -1.7014117e38f; /* M: −FLT_MAX/2 */
    vka_result r = vka_lower_state(lw, p->state_name, VKA_DTYPE_F32, 4, (uint32_t[]){p->batch, p->heads, rows, cols},
                                   initial, out);
    free(initial);
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const kernel_params *p = node->params;
    const vka_device_info *dev = vka_lower_device(lw);
    kernel_plan kp = {
        .p = p,
        .dev = dev,
        .slices = p->batch * p->heads,
        .wg = vka_class_workgroup_size(dev),
        .f4 = vka_div_up(p->features, 4),
        .dv4 = vka_div_up(p->dv, 4),
        .dv14 = vka_div_up(p->dv + 1, 4),
        .block = p->causal ? CAUSAL_BLOCK : TOTAL_BLOCK,
    };
    /* Key blocks line up with query blocks: block 0 ends where the first query block's
     * first row stops seeing keys, (Nk − Nq + 1) mod T, or T. */
    int32_t offset = (int32_t)p->nk - (int32_t)p->nq;
    int32_t phase = ((offset + 1) % (int32_t)kp.block + (int32_t)kp.block) % (int32_t)kp.block;
    kp.phase = p->causal && phase ? (uint32_t)phase : kp.block;
    kp.nblocks = 1 + (p->nk > kp.phase ? vka_div_up(p->nk - kp.phase, kp.block) : 0);
    /* Query block c's first row sees keys [0, cT + offset + 1) = blocks 0..q, q = c + (offset + 1 − phase)/T:
     * the exclusive prefix of block q + 1. */
    kp.slot_base = (offset + 1 - (int32_t)kp.phase) / (int32_t)kp.block + 1;
    kp.numerators_at = (kp.nblocks + 1) * (p->features + 1) * kp.dv14;
    vka_result r = kv_len_tensor(lw, node, p, &kp.kv_len);
    /* Features in the result's type (f16 halves them; feature_map.comp then computes the
     * random features' projections twice rather than park exponents in f16). The states,
     * sums and normalisers in the scratch stay f32 (SCHEMES.md): its numerators, sums over
     * every key, would pass f16's 65504. */
    if (!r)
        r = vka_lower_intermediate(lw, "features", vka_lower_storage_dtype(lw, node), 4,
                                   (uint32_t[]){p->batch, p->heads, p->nq + p->nk, 4 * (kp.f4 + 1)}, &kp.features);
    if (!r)
        r = vka_lower_intermediate(
            lw, "scratch", VKA_DTYPE_F32, 4,
            (uint32_t[]){p->batch, p->heads, (kp.nblocks + 1) * (p->features + 1) + p->nq, 4 * kp.dv14}, &kp.scratch);
    if (!r && p->decode)
        r = persistent_state(lw, &kp, &kp.persistent);
    if (!r)
        r = dispatch_features(lw, node, &kp);
    if (!r)
        r = dispatch_blocks(lw, node, &kp);
    if (!r)
        r = dispatch_scan(lw, &kp);
    if (!r)
        r = dispatch_numerators(lw, &kp);
    if (!r)
        r = p->causal ? dispatch_causal_finish(lw, node, &kp) : dispatch_normalize(lw, node, &kp);
    if (!r && p->decode)
        r = dispatch_commit(lw, &kp);
    return r;
}

/* ------------------------------------------------------------------ reference, flops */

/* The reference of one call (a decoding op from a fresh state: the chunk on its own). */
static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const kernel_params *p = node->params;
    double *projection = NULL;
    if (p->map != MAP_ELU) {
        projection = malloc((size_t)p->projections * p->d * sizeof *projection);
        float *generated = in[ROLE_PROJECTION].data ? NULL : malloc((size_t)p->projections * p->d * sizeof(float));
        if (!projection || (!in[ROLE_PROJECTION].data && !generated)) {
            free(projection);
            free(generated);
            return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the %s reference",
                            node->cls->name);
        }
        if (generated)
            vka_random_projection(p->seed, p->projections, p->d, p->orthogonal, generated);
        for (size_t i = 0; i < (size_t)p->projections * p->d; i++)
            projection[i] = generated ? generated[i] : in[ROLE_PROJECTION].data[i];
        free(generated);
    }
    static const vka_ref_feature_map maps[] = {VKA_REF_ELU, VKA_REF_POSITIVE, VKA_REF_HYPERBOLIC, VKA_REF_TRIG};
    vka_ref_kernel_problem problem = {
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
        .map = maps[p->map],
        .projection = projection,
        .projections = p->projections,
        .causal = p->causal,
        .eps = p->eps,
        .out = out->data,
    };
    bool ok = vka_ref_kernel_attention(&problem);
    free(projection);
    return ok ? VKA_SUCCESS
              : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the %s reference", node->cls->name);
}

/* Feature maps (2·m·D per row for random features) and the two products with the state,
 * 2·F·Dv per key and per query. */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const kernel_params *p = node->params;
    double rows = (double)p->batch * p->heads * (p->nq + p->nk);
    double features = p->map == MAP_ELU ? 0 : 2.0 * rows * p->projections * p->d;
    return features + 2.0 * rows * p->features * p->dv;
}

VKA_OP_CLASS(linear) = {
    .name = "linear",
    .summary = "Linear Transformer, φ = elu + 1; causal by chunked scan; decode=1 keeps the state",
    .inputs = linear_roles,
    .output_shape = "B,H,Nq,Dv",
    .rows_independent = true,
    .params = linear_params,
    .params_size = sizeof(kernel_params),
    .build = build_linear,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};

VKA_OP_CLASS(performer) = {
    .name = "performer",
    .summary = "Performer FAVOR+ random features; kernel=positive|hyperbolic|trig, features=m, seed, projection=W",
    .inputs = performer_roles,
    .output_shape = "B,H,Nq,Dv",
    .rows_independent = true,
    .params = performer_params,
    .params_size = sizeof(kernel_params),
    .build = build_performer,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
