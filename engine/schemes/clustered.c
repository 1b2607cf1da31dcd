/* `clustered` — clustered and improved-clustered attention, SCHEMES.md §9 (Vyas et al.
 * 2020). The queries are grouped by Lloyd's iterations over sign codes; each group's mean
 * query (its centroid) attends exactly, and its members take the result; with topk > 0 each
 * member re-weights the centroid's top-k keys by its own scores. Lowering, on the device:
 *   matmul, cluster_hash   the queries' products with the planes; their sign codes (checked
 *                     against the f32 error, exact near 0), first clusters (contiguous blocks)
 *   per iteration     bucket_sort by cluster (lowering/sort.c), cluster_update (majority
 *                     codes), cluster_assign (nearest code)
 *   bucket_sort, cluster_means   the members' mean queries
 *   flash             the centroids' exact attention (lowering/flash.c)
 *   topk = 0:         cluster_scatter: each member takes its centroid's output
 *   topk > 0:         matmul (every centroid's logits), cluster_topk (a radix select of
 *                     each centroid's top keys),
 *                     cluster_scatter (each query's row: itself, its cluster's selection),
 *                     cluster_members (the re-weighting)
 * Nothing of size Nq × Nk is kept: peak memory is linear in Nq + Nk for a fixed C (the
 * centroids' logits, C × Nk, live only while the top keys are chosen). */
#include "graph/op.h"
#include "lowering/flash.h"
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

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_KV_LEN, ROLE_PLANES };
enum { MAX_HEAD_DIM = 256, MAX_BITS = 64, MAX_TOPK = 1024, MAX_ITERS = 1000 };

typedef struct clustered_params {
    uint32_t batch, heads, kv_heads, nq, nk, d, dv, clusters, iters, bits, topk;
    float scale;
    uint64_t seed;
} clustered_params;

static const vka_input_info roles[] = {
    VKA_IN_Q,
    VKA_IN_K_GROUPED,
    VKA_IN_V_GROUPED,
    VKA_IN_KV_LEN,
    VKA_IN_OPTIONAL("planes", VKA_INPUT_LEARNED, "1,1,X=63,P=65",
                    "hashing planes [1, 1, bits, D+1]: weights, then the offset (else drawn from seed)"),
    {0},
};
static const vka_param_info params[] = {
    VKA_PARAM_SCALE,
    {"clusters", VKA_PARAM_INT, "query clusters C (at most Nq)", NULL, "100, or Nq when fewer", 1, UINT32_MAX, NULL},
    {"iters", VKA_PARAM_INT, "Lloyd iterations", "10", NULL, 0, MAX_ITERS, NULL},
    {"bits", VKA_PARAM_INT, "bits of the queries' sign codes", NULL, "the planes' rows, else 63", 1, MAX_BITS, NULL},
    {"topk", VKA_PARAM_INT, "improved clustered: keys each member re-weights (0: plain clustered)", "0", NULL, 0,
     MAX_TOPK, NULL},
    VKA_PARAM_SEED("draws the planes when none are given"),
    {0},
};
static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},  {ROLE_K, 3, "head dim", ROLE_Q, 3},   {ROLE_V, 0, "batch", ROLE_Q, 0},
    {ROLE_V, 2, "tokens", ROLE_K, 2}, {ROLE_KV_LEN, 0, "batch", ROLE_Q, 0},
};

static vka_result check_inputs(vka_op_build *b, clustered_params *p)
{
    const vka_graph_tensor *w = b->inputs[ROLE_PLANES];
    vka_result r;
    if ((r = vka_expect_qkv(b)) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (w && (r = vka_expect_tensor(b, ROLE_PLANES, 4, VKA_DTYPE_F32, "[1, 1, bits, head_dim + 1]"))) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))) ||
        (r = vka_expect_grouped_heads(b, &p->kv_heads)))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *k = b->inputs[ROLE_K]->dims, *v = b->inputs[ROLE_V]->dims;
    if (q[3] > MAX_HEAD_DIM || v[3] > MAX_HEAD_DIM)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: head dim %u exceeds the largest supported (%d)", b->op,
                        q[3] > MAX_HEAD_DIM ? q[3] : v[3], MAX_HEAD_DIM);
    if (w && (w->dims[0] != 1 || w->dims[1] != 1 || w->dims[2] > MAX_BITS || w->dims[3] != q[3] + 1))
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: planes is [%u, %u, %u, %u]; it must be [1, 1, bits <= %d, %u] (head dim + 1: the offset)",
                        b->op, w->dims[0], w->dims[1], w->dims[2], w->dims[3], MAX_BITS, q[3] + 1);
    if (k[2] >= 1u << 24)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: %u keys; at most 2^24 - 1 are supported", b->op, k[2]);
    p->batch = q[0];
    p->heads = q[1];
    p->nq = q[2];
    p->nk = k[2];
    p->d = q[3];
    p->dv = v[3];
    return VKA_SUCCESS;
}

static vka_result build(vka_op_build *b)
{
    clustered_params *p = b->parsed;
    const vka_graph_tensor *w = b->inputs[ROLE_PLANES];
    uint32_t seed_low;
    vka_result r;
    if ((r = check_inputs(b, p)) || (r = vka_param_scale(b->params, "scale", p->d, &p->scale)) ||
        (r = vka_param_int_or(b->params, "clusters", VKA_MIN(100u, p->nq), &p->clusters)) ||
        (r = vka_param_int(b->params, "iters", &p->iters)) ||
        (r = vka_param_int_or(b->params, "bits", w ? w->dims[2] : 63, &p->bits)) ||
        (r = vka_param_int(b->params, "topk", &p->topk)) || (r = vka_param_int(b->params, "seed", &seed_low)))
        return r;
    p->seed = seed_low;
    if (p->clusters > p->nq)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: clusters=%u exceeds the %u queries", b->op,
                        p->clusters, p->nq);
    if (p->topk > p->nk)
        return vka_fail(b->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: topk=%u exceeds the %u keys", b->op, p->topk, p->nk);
    if (w && w->dims[2] != p->bits)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: bits=%u but the planes have %u rows", b->op, p->bits,
                        w->dims[2]);
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL;
    b->int_range[ROLE_KV_LEN].min = 0;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->nk;
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

typedef struct clustered_plan {
    uint32_t d4, dv4, k4, wg, slices;
    uint32_t q, k, v, kv_len, planes;
    uint32_t codes, centres, order, centroids, centroid_out;
} clustered_plan;

static vka_result make_tensors(vka_lowering *lw, const vka_op_node *node, clustered_plan *t)
{
    const clustered_params *p = node->params;
    uint32_t bh[2] = {p->batch, p->heads};
    vka_result r = VKA_SUCCESS;
    r = vka_lower_gaussian_or(lw, "planes", vka_lower_input(lw, node, ROLE_PLANES), p->bits, p->d + 1, p->seed,
                              &t->planes);
    t->kv_len = vka_lower_input(lw, node, ROLE_KV_LEN);
    if (!r && !t->kv_len)
        r = vka_lower_key_counts(lw, "kv_len", p->batch, p->nk, &t->kv_len);
    if (!r)
        r = vka_lower_intermediate(lw, "cluster_codes", VKA_DTYPE_I32, 4, (uint32_t[]){bh[0], bh[1], p->nq, 4},
                                   &t->codes);
    if (!r)
        r = vka_lower_intermediate(lw, "cluster_centres", VKA_DTYPE_I32, 4, (uint32_t[]){bh[0], bh[1], p->clusters, 4},
                                   &t->centres);
    if (!r)
        r = vka_lower_intermediate(lw, "cluster_order", VKA_DTYPE_I32, 4, (uint32_t[]){bh[0], bh[1], 1, p->nq},
                                   &t->order);
    if (!r)
        r = vka_lower_intermediate(lw, "centroids", VKA_DTYPE_F32, 4, (uint32_t[]){bh[0], bh[1], p->clusters, p->d},
                                   &t->centroids);
    if (!r)
        r = vka_lower_intermediate(lw, "centroid_out", VKA_DTYPE_F32, 4, (uint32_t[]){bh[0], bh[1], p->clusters, p->dv},
                                   &t->centroid_out);
    return r;
}

/* The queries sorted by their current cluster: `order`, and where each cluster's run starts. */
static vka_result sort_by_cluster(vka_lowering *lw, const clustered_params *p, const clustered_plan *t,
                                  uint32_t *starts)
{
    return vka_lower_bucket_sort(lw,
                                 &(vka_sort_desc){.keys = t->codes,
                                                  .order = t->order,
                                                  .batch = p->batch,
                                                  .heads = p->heads,
                                                  .segments = 1,
                                                  .n = p->nq,
                                                  .bins = p->clusters,
                                                  .key_stride = 4,
                                                  .key_offset = 2},
                                 starts);
}

static vka_result lloyd_iteration(vka_lowering *lw, const clustered_params *p, const clustered_plan *t)
{
    uint32_t starts, blocks = vka_sort_blocks(p->nq);
    vka_result r = sort_by_cluster(lw, p, t, &starts);
    if (!r)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_CLUSTER_UPDATE,
                    .spec.cluster_update = {.workgroup_size = 64},
                    .push.cluster_update = {.nq = p->nq, .clusters = p->clusters, .blocks = blocks, .bits = p->bits},
                    .groups_x = p->clusters,
                    .groups_y = 1,
                    .slices = t->slices,
                    .bindings = {{.tensor = t->codes, .access = VKA_READ},
                                 {.tensor = t->order, .access = VKA_READ},
                                 {.tensor = starts, .access = VKA_READ},
                                 {.tensor = t->centres, .access = VKA_READ_WRITE}},
                });
    if (!r)
        r = vka_lower_dispatch(lw, &(vka_dispatch_desc){
                                       .kernel = VKA_KERNEL_CLUSTER_ASSIGN,
                                       .spec.cluster_assign = {.workgroup_size = t->wg},
                                       .push.cluster_assign = {.nq = p->nq, .clusters = p->clusters},
                                       .groups_x = vka_div_up(p->nq, t->wg),
                                       .groups_y = 1,
                                       .slices = t->slices,
                                       .bindings = {{.tensor = t->codes, .access = VKA_READ_WRITE},
                                                    {.tensor = t->centres, .access = VKA_READ}},
                                   });
    return r;
}

/* Codes, Lloyd's iterations, the centroids' mean queries and their exact attention. */
static vka_result lower_centroids(vka_lowering *lw, const clustered_params *p, const clustered_plan *t)
{
    uint32_t b4 = vka_div_up(p->bits, 4), p4 = vka_div_up(p->d + 1, 4), proj;
    vka_result r = vka_lower_intermediate(lw, "cluster_projections", VKA_DTYPE_F32, 4,
                                          (uint32_t[]){p->batch, p->heads, p->nq + 1, 4 * b4}, &proj);
    if (!r) /* x·w_b: the planes' rows hold the offset after the weights; the zero padding of
               x's last vec4 leaves it out of the product */
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = t->q,
                                                    .b = t->planes,
                                                    .c = proj,
                                                    .slices = t->slices,
                                                    .m = p->nq,
                                                    .n = p->bits,
                                                    .k = p->d,
                                                    .alpha = 1.0f,
                                                    .trans_b = true,
                                                    .b_whole = true,
                                                    .ldb = p4,
                                                    .ldc = b4});
    for (uint32_t pass = 0; !r && pass < 2; pass++)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_CLUSTER_HASH,
                    .spec.cluster_hash = {.workgroup_size = t->wg, .D4 = t->d4, .B4 = b4, .PASS = pass},
                    .push.cluster_hash = {.nq = p->nq, .d = p->d, .bits = p->bits, .p4 = p4, .clusters = p->clusters},
                    .groups_x = vka_div_up(pass ? p->nq : b4, t->wg),
                    .groups_y = 1,
                    .slices = t->slices,
                    .bindings = {{.tensor = proj, .access = pass ? VKA_READ : VKA_READ_WRITE},
                                 {.tensor = t->q, .access = VKA_READ},
                                 {.tensor = t->planes, .access = VKA_READ, .whole = true},
                                 {.tensor = t->codes, .access = VKA_WRITE}},
                });
    for (uint32_t it = 0; !r && it < p->iters; it++)
        r = lloyd_iteration(lw, p, t);
    uint32_t starts;
    if (!r)
        r = sort_by_cluster(lw, p, t, &starts);
    if (!r)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_CLUSTER_MEANS,
                    .spec.cluster_means = {.workgroup_size = 8, .D4 = t->d4},
                    .push.cluster_means = {.nq = p->nq, .clusters = p->clusters, .blocks = vka_sort_blocks(p->nq)},
                    .groups_x = p->clusters,
                    .groups_y = 1,
                    .slices = t->slices,
                    .bindings = {{.tensor = t->q, .access = VKA_READ},
                                 {.tensor = t->order, .access = VKA_READ},
                                 {.tensor = starts, .access = VKA_READ},
                                 {.tensor = t->centroids, .access = VKA_WRITE}},
                });
    if (!r)
        r = vka_lower_flash(lw, &(vka_flash_desc){.q = t->centroids,
                                                  .k = t->k,
                                                  .v = t->v,
                                                  .out = t->centroid_out,
                                                  .kv_len = t->kv_len,
                                                  .batch = p->batch,
                                                  .heads = p->heads,
                                                  .nq = p->clusters,
                                                  .nk = p->nk,
                                                  .d = p->d,
                                                  .dv = p->dv,
                                                  .kv_heads = p->kv_heads,
                                                  .scale = p->scale});
    return r;
}

/* Each query's row of `table` (its cluster's), after src_width vec4 of its own from src. */
static vka_result scatter(vka_lowering *lw, const clustered_params *p, const clustered_plan *t, uint32_t table,
                          uint32_t table_width, uint32_t src, uint32_t src_width, uint32_t dst)
{
    uint32_t dummy = 0;
    vka_result r = src ? VKA_SUCCESS : vka_lower_dummy(lw, &dummy);
    if (!r)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_CLUSTER_SCATTER,
                    .spec.cluster_scatter = {.workgroup_size = t->wg, .SRC4 = src_width, .TABLE4 = table_width},
                    .push.cluster_scatter = {.nq = p->nq},
                    .groups_x = vka_div_up(p->nq, t->wg),
                    .groups_y = 1,
                    .slices = t->slices,
                    .bindings = {{.tensor = t->codes, .access = VKA_READ},
                                 {.tensor = table, .access = VKA_READ},
                                 {.tensor = dst, .access = VKA_WRITE},
                                 {.tensor = src ? src : dummy, .access = VKA_READ, .whole = !src}},
                });
    return r;
}

/* Improved clustered: the centroids' top keys, each query's row, the members' re-weighting. */
static vka_result lower_topk(vka_lowering *lw, const vka_op_node *node, const clustered_params *p,
                             const clustered_plan *t)
{
    uint32_t group = p->heads / p->kv_heads, selection_width = t->dv4 + 2 * t->k4 + 1, selection, rows, scores;
    uint32_t nk4 = vka_div_up(p->nk, 4);
    vka_result r =
        vka_lower_intermediate(lw, "cluster_selection", VKA_DTYPE_F32, 4,
                               (uint32_t[]){p->batch, p->heads, p->clusters, 4 * selection_width}, &selection);
    if (!r)
        r = vka_lower_intermediate(lw, "cluster_scores", VKA_DTYPE_F32, 4,
                                   (uint32_t[]){p->batch, p->heads, p->clusters, 4 * nk4}, &scores);
    if (!r) /* per centroid, its scaled logit with every key: centroids · kᵀ */
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = t->centroids,
                                                    .b = t->k,
                                                    .c = scores,
                                                    .slices = t->slices,
                                                    .m = p->clusters,
                                                    .n = p->nk,
                                                    .k = p->d,
                                                    .alpha = p->scale,
                                                    .trans_b = true,
                                                    .b_slice_divisor = group > 1 ? group : 0});
    if (!r)
        r = vka_lower_intermediate(lw, "cluster_rows", VKA_DTYPE_F32, 4,
                                   (uint32_t[]){p->batch, p->heads, p->nq, 4 * (t->d4 + selection_width)}, &rows);
    if (!r)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_CLUSTER_TOPK,
                    .spec.cluster_topk =
                        {.workgroup_size = 64, .DV4 = t->dv4, .K4 = t->k4, .KV_VEC4 = vka_div_up(p->batch, 4)},
                    .push.cluster_topk = {.nk = p->nk, .nk4 = nk4, .heads = p->heads, .topk = p->topk},
                    .groups_x = p->clusters,
                    .groups_y = 1,
                    .slices = t->slices,
                    .bindings = {{.tensor = scores, .access = VKA_READ},
                                 {.tensor = t->centroid_out, .access = VKA_READ},
                                 {.tensor = selection, .access = VKA_WRITE},
                                 {.tensor = t->kv_len, .access = VKA_READ, .whole = true}},
                });
    if (!r)
        r = scatter(lw, p, t, selection, selection_width, t->q, t->d4, rows);
    if (!r)
        r = vka_lower_dispatch(
            lw, &(vka_dispatch_desc){
                    .kernel = VKA_KERNEL_CLUSTER_MEMBERS,
                    .spec.cluster_members = {.workgroup_size = t->wg, .D4 = t->d4, .DV4 = t->dv4, .K4 = t->k4},
                    .push.cluster_members = {.nq = p->nq, .kv_group = group, .scale = p->scale},
                    .groups_x = vka_div_up(p->nq, t->wg),
                    .groups_y = 1,
                    .slices = t->slices,
                    .bindings = {{.tensor = rows, .access = VKA_READ},
                                 {.tensor = t->k, .access = VKA_READ, .slice_divisor = group},
                                 {.tensor = t->v, .access = VKA_READ, .slice_divisor = group},
                                 {.tensor = vka_lower_result(lw, node), .access = VKA_WRITE}},
                });
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const clustered_params *p = node->params;
    clustered_plan t = {.d4 = vka_div_up(p->d, 4),
                        .dv4 = vka_div_up(p->dv, 4),
                        .k4 = vka_div_up(VKA_MAX(p->topk, 1u), 4),
                        .wg = vka_class_workgroup_size(vka_lower_device(lw)),
                        .slices = p->batch * p->heads,
                        .q = vka_lower_input(lw, node, ROLE_Q),
                        .k = vka_lower_input(lw, node, ROLE_K),
                        .v = vka_lower_input(lw, node, ROLE_V)};
    vka_result r = make_tensors(lw, node, &t);
    if (!r)
        r = lower_centroids(lw, p, &t);
    if (!r)
        r = p->topk ? lower_topk(lw, node, p, &t)
                    : scatter(lw, p, &t, t.centroid_out, t.dv4, 0, 0, vka_lower_result(lw, node));
    return r;
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const clustered_params *p = node->params;
    double *planes = vka_ref_gaussian_or(in[ROLE_PLANES].data, p->seed, (size_t)p->bits * (p->d + 1));
    vka_ref_clustered_problem problem = {.batch = p->batch,
                                         .heads = p->heads,
                                         .nq = p->nq,
                                         .nk = p->nk,
                                         .d = p->d,
                                         .dv = p->dv,
                                         .kv_heads = p->kv_heads,
                                         .clusters = p->clusters,
                                         .iters = p->iters,
                                         .bits = p->bits,
                                         .topk = p->topk,
                                         .q = in[ROLE_Q].data,
                                         .k = in[ROLE_K].data,
                                         .v = in[ROLE_V].data,
                                         .planes = planes,
                                         .kv_len = in[ROLE_KV_LEN].ints,
                                         .scale = p->scale,
                                         .out = out->data};
    bool ok = planes && vka_ref_clustered(&problem);
    free(planes);
    return ok ? VKA_SUCCESS
              : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the %s reference", node->cls->name);
}

/* Codes (bits·D per query), Lloyd (C per query per iteration), the centroids' attention
 * (2·C·Nk·(D + Dv)), and with topk: five passes of C·Nk·D logits and topk·(D + Dv) per query. */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const clustered_params *p = node->params;
    double per_slice = 2.0 * p->nq * p->bits * p->d + (double)p->iters * p->nq * p->clusters +
                       2.0 * p->clusters * (double)p->nk * (p->d + p->dv);
    if (p->topk)
        per_slice += 10.0 * p->clusters * (double)p->nk * p->d + 2.0 * p->nq * (double)p->topk * (p->d + p->dv);
    return per_slice * p->batch * p->heads;
}

VKA_OP_CLASS(clustered) = {
    .name = "clustered",
    .summary = "clustered attention: Lloyd-clustered queries, each centroid attends exactly; topk re-weights",
    .inputs = roles,
    .output_shape = "B,H,Nq,Dv",
    .params = params,
    .params_size = sizeof(clustered_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
