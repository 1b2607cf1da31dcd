/* `reformer` — shared-QK LSH attention, SCHEMES.md §9 (Kitaev et al. 2020). The keys are
 * the unit queries; per round a random rotation hashes every token to a bucket, the tokens
 * are sorted by (bucket, position), and each chunk of the sorted sequence attends to itself
 * and the chunk before; the rounds are combined by their log-sum-exp. Lowering, all on the
 * device and O(N·rounds·(chunk + buckets)):
 *   lsh_keys      each query with |q| and 1/|q| beside it (the keys are the unit queries)
 *   matmul        the projections x·R of every round (lowering/matmul.c)
 *   lsh_buckets   the rotations' column norms, then every round's bucket argmax, checked
 *                 against the f32 error and redone exactly near a tie (padding tokens past
 *                 kv_len sort after every bucket)
 *   bucket_sort   a stable counting sort per round (three dispatches, lowering/sort.c)
 *   lsh_attn      each sorted place's chunked attention, written back at the token's own
 *                 position with its log-sum-exp
 *   lsh_combine   the rounds weighted by their log-sum-exp
 * Peak memory: the keys, the projections (rounds · N · buckets/2), the buckets and orders
 * (rounds · N ints) and the rounds' rows (rounds · N · (Dv + 4) floats), linear in N. */
#include "graph/op.h"
#include "lowering/kernel_class.h"
#include "lowering/matmul.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"
#include "lowering/sort.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_KV_LEN, ROLE_ROTATIONS };
enum { MAX_HEAD_DIM = 256, MAX_ROUNDS = 64, MAX_BUCKETS = 1 << 16 };

typedef struct reformer_params {
    uint32_t batch, heads, kv_heads, n, d, dv, rounds, buckets, chunk;
    bool causal;
    float scale;
    uint64_t seed;
} reformer_params;

static const vka_input_info roles[] = {
    VKA_IN_LOGITS("q", "B,H,Nq,D", "queries; the keys are q/|q| (shared QK)"),
    {.role = "k",
     .kind = VKA_INPUT_TOKENS,
     .dtypes = VKA_FLOAT,
     .shape = "B,H,Nq,D",
     .summary = "if given, q itself (the keys are the queries)",
     .optional = true,
     .same_as = "q"},
    VKA_IN("v", VKA_INPUT_TOKENS, "B,Hkv,Nq,Dv", "values: H heads, or a divisor of H (grouped heads)"),
    VKA_IN_KV_LEN,
    VKA_IN_OPTIONAL("rotations", VKA_INPUT_LEARNED, "1,R=4,D,X=16",
                    "random rotations [1, rounds, D, buckets/2] (else drawn from seed)"),
    {0},
};
static const vka_param_info params[] = {
    VKA_PARAM_SCALE,
    VKA_PARAM_CAUSAL,
    {"rounds", VKA_PARAM_INT, "hashing rounds", NULL, "the rotations', else 4", 1, MAX_ROUNDS, NULL},
    {"buckets", VKA_PARAM_INT, "buckets per round (even)", NULL, "twice the rotations' columns, else 32", 2,
     MAX_BUCKETS, NULL},
    {"chunk", VKA_PARAM_INT, "sorted tokens per chunk (each sees its own and the one before)", "64", NULL, 1,
     UINT32_MAX, NULL},
    VKA_PARAM_SEED("draws the rotations when none are given"),
    {0},
};

static const vka_axis_rule axis_rules[] = {
    {ROLE_V, 0, "batch", ROLE_Q, 0},
    {ROLE_V, 2, "tokens", ROLE_Q, 2},
    {ROLE_KV_LEN, 0, "batch", ROLE_Q, 0},
    {ROLE_ROTATIONS, 2, "head dim", ROLE_Q, 3},
};

static vka_result check_inputs(vka_op_build *b)
{
    const vka_graph_tensor *w = b->inputs[ROLE_ROTATIONS];
    vka_result r;
    if ((r = vka_expect_tensor(b, ROLE_Q, 4, VKA_DTYPE_F32, "[batch, heads, tokens, head_dim]")) ||
        (r = vka_expect_tensor(b, ROLE_V, 4, VKA_DTYPE_F32, "[batch, heads, tokens, value_dim]")) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (w && (r = vka_expect_tensor(b, ROLE_ROTATIONS, 4, VKA_DTYPE_F32, "[1, rounds, head_dim, buckets/2]"))) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules) - (w ? 0 : 1))))
        return r;
    if (b->inputs[ROLE_K] && b->inputs[ROLE_K] != b->inputs[ROLE_Q])
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: k must be q itself: the Reformer shares queries and keys (its keys are q/|q|); "
                        "pass q as k, or leave k out",
                        b->op);
    if (w && w->dims[0] != 1)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: rotations is [%u, %u, %u, %u]; it must be [1, rounds, %u, buckets/2]", b->op, w->dims[0],
                        w->dims[1], w->dims[2], w->dims[3], w->dims[2]);
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *v = b->inputs[ROLE_V]->dims;
    if (q[1] % v[1])
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: q has %u heads and v %u; grouped heads need v's heads to divide the query heads", b->op,
                        q[1], v[1]);
    if (q[3] > MAX_HEAD_DIM || v[3] > MAX_HEAD_DIM)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: head dim %u exceeds the largest supported (%d)", b->op,
                        q[3] > MAX_HEAD_DIM ? q[3] : v[3], MAX_HEAD_DIM);
    return VKA_SUCCESS;
}

static vka_result read_params(vka_op_build *b, reformer_params *p)
{
    const vka_graph_tensor *w = b->inputs[ROLE_ROTATIONS];
    uint32_t seed_low;
    vka_result r;
    if ((r = vka_param_scale(b->params, "scale", p->d, &p->scale)) ||
        (r = vka_param_bool(b->params, "causal", &p->causal)) ||
        (r = vka_param_int_or(b->params, "rounds", w ? w->dims[1] : 4, &p->rounds)) ||
        (r = vka_param_int_or(b->params, "buckets", w ? 2 * w->dims[3] : 32, &p->buckets)) ||
        (r = vka_param_int(b->params, "chunk", &p->chunk)) || (r = vka_param_int(b->params, "seed", &seed_low)))
        return r;
    p->seed = seed_low;
    if (p->buckets % 2)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: buckets=%u must be even (a bucket is the argmax of [xR, -xR])", b->op, p->buckets);
    if (w && (w->dims[1] != p->rounds || 2 * w->dims[3] != p->buckets))
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: rounds=%u buckets=%u need rotations [1, %u, %u, %u]; they are [1, %u, %u, %u]", b->op,
                        p->rounds, p->buckets, p->rounds, p->d, p->buckets / 2, w->dims[1], w->dims[2], w->dims[3]);
    return VKA_SUCCESS;
}

static vka_result build(vka_op_build *b)
{
    reformer_params *p = b->parsed;
    vka_result r = check_inputs(b);
    if (r)
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *v = b->inputs[ROLE_V]->dims;
    *p = (reformer_params){.batch = q[0], .heads = q[1], .kv_heads = v[1], .n = q[2], .d = q[3], .dv = v[3]};
    if ((r = read_params(b, p)))
        return r;
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL; /* tokens past kv_len[b] are padding */
    b->int_range[ROLE_KV_LEN].min = 0;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->n;
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->n, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

typedef struct reformer_plan {
    uint32_t rotations, kv_len, keys, proj, buckets, order, rounds;
    uint32_t wg, d4, dv4, h4, slices;
} reformer_plan;

static vka_result make_tensors(vka_lowering *lw, const vka_op_node *node, reformer_plan *t)
{
    const reformer_params *p = node->params;
    uint32_t half = p->buckets / 2, rows = p->rounds * p->d;
    vka_result r = VKA_SUCCESS;
    r = vka_lower_gaussian_or(lw, "rotations", vka_lower_input(lw, node, ROLE_ROTATIONS), rows, half, p->seed,
                              &t->rotations);
    t->kv_len = vka_lower_input(lw, node, ROLE_KV_LEN);
    if (!r && !t->kv_len)
        r = vka_lower_key_counts(lw, "kv_len", p->batch, p->n, &t->kv_len);
    if (!r)
        r = vka_lower_intermediate(lw, "lsh_keys", VKA_DTYPE_F32, 4,
                                   (uint32_t[]){p->batch, p->heads, p->n, 4 * (t->d4 + 1)}, &t->keys);
    if (!r) /* per token the rounds' projections; row N: the rotations' column norms */
        r = vka_lower_intermediate(lw, "lsh_projections", VKA_DTYPE_F32, 4,
                                   (uint32_t[]){p->batch, p->heads, p->n + 1, 4 * p->rounds * t->h4}, &t->proj);
    if (!r)
        r = vka_lower_intermediate(lw, "lsh_buckets", VKA_DTYPE_I32, 4,
                                   (uint32_t[]){p->batch, p->heads, p->rounds, p->n}, &t->buckets);
    if (!r)
        r = vka_lower_intermediate(lw, "lsh_order", VKA_DTYPE_I32, 4, (uint32_t[]){p->batch, p->heads, p->rounds, p->n},
                                   &t->order);
    if (!r)
        r = vka_lower_intermediate(lw, "lsh_rounds", VKA_DTYPE_F32, 4,
                                   (uint32_t[]){p->batch, p->heads, p->rounds * p->n, 4 * (t->dv4 + 1)}, &t->rounds);
    return r;
}

/* Keys, the rounds' projections and their buckets. */
static vka_result lower_hash(vka_lowering *lw, const vka_op_node *node, const reformer_plan *t)
{
    const reformer_params *p = node->params;
    vka_result r =
        vka_lower_dispatch(lw, &(vka_dispatch_desc){
                                   .kernel = VKA_KERNEL_LSH_KEYS,
                                   .spec.lsh_keys = {.workgroup_size = t->wg, .D4 = t->d4},
                                   .push.lsh_keys = {.n = p->n},
                                   .groups_x = vka_div_up(p->n, t->wg),
                                   .groups_y = 1,
                                   .slices = t->slices,
                                   .bindings = {{.tensor = vka_lower_input(lw, node, ROLE_Q), .access = VKA_READ},
                                                {.tensor = t->keys, .access = VKA_WRITE}},
                               });
    for (uint32_t round = 0; !r && round < p->rounds; round++)
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = t->keys,
                                                    .b = t->rotations,
                                                    .c = t->proj,
                                                    .slices = t->slices,
                                                    .m = p->n,
                                                    .n = p->buckets / 2,
                                                    .k = p->d,
                                                    .alpha = 1.0f,
                                                    .b_whole = true,
                                                    .lda = t->d4 + 1,
                                                    .ldb = t->h4,
                                                    .ldc = p->rounds * t->h4,
                                                    .b_offset = round * p->d * t->h4,
                                                    .c_offset = round * t->h4});
    for (uint32_t pass = 0; !r && pass < 2; pass++)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_LSH_BUCKETS,
                    .spec.lsh_buckets = {.workgroup_size = t->wg,
                                         .D4 = t->d4,
                                         .H4 = t->h4,
                                         .KV_VEC4 = vka_div_up(p->batch, 4),
                                         .PASS = pass},
                    .push.lsh_buckets =
                        {.n = p->n, .d = p->d, .half_buckets = p->buckets / 2, .rounds = p->rounds, .heads = p->heads},
                    .groups_x = vka_div_up(pass ? p->n : p->rounds * t->h4, t->wg),
                    .groups_y = 1,
                    .slices = t->slices,
                    .bindings = {{.tensor = t->proj, .access = pass ? VKA_READ : VKA_READ_WRITE},
                                 {.tensor = t->keys, .access = VKA_READ},
                                 {.tensor = t->rotations, .access = VKA_READ, .whole = true},
                                 {.tensor = t->buckets, .access = VKA_WRITE},
                                 {.tensor = t->kv_len, .access = VKA_READ, .whole = true}},
                });
    return r;
}

/* Sorted places per lsh_attn invocation: on CPU-class devices, as many as keep the rows'
 * registers under flash's knee (rows·(D + Dv)/4 ≤ 512 vec4, lowering/flash.c) while the
 * workgroup's places (8 invocations) stay within a chunk — its walk is its places and the
 * chunk before, so wider groups walk keys no row needs. Measured at N = 16384, H = 8,
 * D = 64, chunk 64 (`vkattn bench --scheme reformer`): 4 rows 1.90 s, 8 rows 1.20 s. */
static uint32_t attention_rows(const vka_device_info *dev, const reformer_params *p, uint32_t d4, uint32_t dv4)
{
    uint32_t rows = 16;
    if (!vka_cpu_class(dev))
        return 1;
    while (rows > 1 && (rows * (d4 + dv4) > 512 || 8 * rows > p->chunk))
        rows /= 2;
    return rows;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const reformer_params *p = node->params;
    const vka_device_info *dev = vka_lower_device(lw);
    reformer_plan t = {.wg = vka_class_workgroup_size(dev),
                       .d4 = vka_div_up(p->d, 4),
                       .dv4 = vka_div_up(p->dv, 4),
                       .h4 = vka_div_up(p->buckets / 2, 4),
                       .slices = p->batch * p->heads};
    uint32_t rows = attention_rows(dev, p, t.d4, t.dv4), group = p->heads / p->kv_heads;
    vka_result r = make_tensors(lw, node, &t);
    if (!r)
        r = lower_hash(lw, node, &t);
    if (!r) /* bucket `buckets`: the padding */
        r = vka_lower_bucket_sort(lw,
                                  &(vka_sort_desc){.keys = t.buckets,
                                                   .order = t.order,
                                                   .batch = p->batch,
                                                   .heads = p->heads,
                                                   .segments = p->rounds,
                                                   .n = p->n,
                                                   .bins = p->buckets + 1},
                                  NULL);
    if (!r)
        r = vka_lower_dispatch(
            lw,
            &(vka_dispatch_desc){
                .kernel = VKA_KERNEL_LSH_ATTN,
                .spec.lsh_attn = {.workgroup_size = t.wg,
                                  .D4 = t.d4,
                                  .DV4 = t.dv4,
                                  .KV_VEC4 = vka_div_up(p->batch, 4),
                                  .ROWS = rows},
                .push.lsh_attn = {.n = p->n,
                                  .chunk = p->chunk,
                                  .heads = p->heads,
                                  .causal = p->causal,
                                  .scale = p->scale,
                                  .kv_group = group},
                .groups_x = vka_div_up(p->n, t.wg * rows),
                .groups_y = p->rounds,
                .slices = t.slices,
                .bindings = {{.tensor = t.keys, .access = VKA_READ},
                             {.tensor = vka_lower_input(lw, node, ROLE_V), .access = VKA_READ, .slice_divisor = group},
                             {.tensor = t.order, .access = VKA_READ},
                             {.tensor = t.rounds, .access = VKA_WRITE},
                             {.tensor = t.kv_len, .access = VKA_READ, .whole = true}},
            });
    if (!r)
        r = vka_lower_dispatch(lw, &(vka_dispatch_desc){
                                       .kernel = VKA_KERNEL_LSH_COMBINE,
                                       .spec.lsh_combine = {.workgroup_size = t.wg, .DV4 = t.dv4},
                                       .push.lsh_combine = {.n = p->n, .rounds = p->rounds},
                                       .groups_x = vka_div_up(p->n, t.wg),
                                       .groups_y = 1,
                                       .slices = t.slices,
                                       .bindings = {{.tensor = t.rounds, .access = VKA_READ},
                                                    {.tensor = vka_lower_result(lw, node), .access = VKA_WRITE}},
                                   });
    return r;
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const reformer_params *p = node->params;
    double *rotations =
        vka_ref_gaussian_or(in[ROLE_ROTATIONS].data, p->seed, (size_t)p->rounds * p->d * (p->buckets / 2));
    vka_ref_reformer_problem problem = {.batch = p->batch,
                                        .heads = p->heads,
                                        .kv_heads = p->kv_heads,
                                        .n = p->n,
                                        .d = p->d,
                                        .dv = p->dv,
                                        .rounds = p->rounds,
                                        .buckets = p->buckets,
                                        .chunk = p->chunk,
                                        .q = in[ROLE_Q].data,
                                        .v = in[ROLE_V].data,
                                        .rotations = rotations,
                                        .kv_len = in[ROLE_KV_LEN].ints,
                                        .scale = p->scale,
                                        .causal = p->causal,
                                        .out = out->data};
    bool ok = rotations && vka_ref_reformer(&problem);
    free(rotations);
    return ok ? VKA_SUCCESS
              : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the %s reference", node->cls->name);
}

/* Per round: the hash (D·buckets), and each token against up to 2·chunk keys (2·(D + Dv)). */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const reformer_params *p = node->params;
    double keys = VKA_MIN((double)2 * p->chunk, (double)p->n);
    return (double)p->batch * p->heads * p->n * p->rounds * ((double)p->d * p->buckets + keys * 2.0 * (p->d + p->dv));
}

VKA_OP_CLASS(reformer) = {
    .name = "reformer",
    .summary = "Reformer LSH attention: shared QK, rounds of hashed buckets sorted into chunks",
    .inputs = roles,
    .output_shape = "B,H,Nq,Dv",
    .params = params,
    .params_size = sizeof(reformer_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
