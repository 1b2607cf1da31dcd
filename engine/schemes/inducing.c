/* `inducing` — pseudo-token attention, SCHEMES.md §4 (Perceiver, Set Transformer ISAB,
 * LBANP, IST): M learned latents summarise the keys, and the queries read the summary.
 *
 *   Hc = softmax(I kᵀ · scale) v      (M × Dv: the latents attend to the keys)
 *   O  = softmax(q Hcᵀ · scale) Hc    (the queries attend to the summaries)
 *
 * Two flash dispatches; cost O(M·(Nq + Nk)), memory O(M + N): no Nq × Nk buffer. kv_len
 * hides missing keys from the latents. Latents [1, H, M, D] are shared by the batch: the
 * lowering first copies them to every batch (one small copy per batch) so the flash
 * kernel sees one slice per [batch, head]. */
#include "lowering/flash.h"
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <stdlib.h>
#include <string.h>

enum { ROLE_Q, ROLE_K, ROLE_V, ROLE_LATENTS, ROLE_KV_LEN };

#define MAX_HEAD_DIM 256

typedef struct inducing_params {
    uint32_t batch, heads, nq, nk, d, dv, latents, latent_batch;
    float scale;
} inducing_params;

static const vka_input_info roles[] = {
    VKA_IN_Q,
    VKA_IN_K,
    VKA_IN("v", VKA_INPUT_TOKENS, "B,H,Nk,D", "values (of the head dim: the summaries are keys)"),
    VKA_IN("latents", VKA_INPUT_LEARNED, "1,H,L=32,D", "the inducing points (1 or B of them)"),
    VKA_IN_KV_LEN,
    {0},
};
static const vka_param_info params[] = {VKA_PARAM_SCALE, {0}};

/* ------------------------------------------------------------------ build */

static const vka_axis_rule axis_rules[] = {
    {ROLE_K, 0, "batch", ROLE_Q, 0},       {ROLE_K, 1, "heads", ROLE_Q, 1},
    {ROLE_V, 0, "batch", ROLE_Q, 0},       {ROLE_V, 1, "heads", ROLE_Q, 1},
    {ROLE_K, 3, "head dim", ROLE_Q, 3},    {ROLE_V, 2, "tokens", ROLE_K, 2},
    {ROLE_LATENTS, 1, "heads", ROLE_Q, 1}, {ROLE_LATENTS, 3, "head dim", ROLE_Q, 3},
    {ROLE_KV_LEN, 0, "batch", ROLE_Q, 0},
};

static vka_result check_shapes(vka_op_build *b, inducing_params *p)
{
    vka_result r;
    if ((r = vka_expect_qkv(b)) ||
        (r = vka_expect_tensor(b, ROLE_LATENTS, 4, VKA_DTYPE_F32, "[1 or batch, heads, latents, head_dim]")) ||
        (b->inputs[ROLE_KV_LEN] && (r = vka_expect_tensor(b, ROLE_KV_LEN, 1, VKA_DTYPE_I32, "[batch]"))) ||
        (r = vka_expect_axes(b, axis_rules, VKA_ARRAY_LEN(axis_rules))))
        return r;
    const uint32_t *q = b->inputs[ROLE_Q]->dims, *k = b->inputs[ROLE_K]->dims, *v = b->inputs[ROLE_V]->dims,
                   *l = b->inputs[ROLE_LATENTS]->dims;
    if (l[0] != 1 && l[0] != q[0])
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: latents axis 0 (batch) is %u; it must be 1 (shared) or q's batch, %u", b->op, l[0], q[0]);
    if (v[3] != q[3])
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: the summaries Hc (value dim %u) are the keys of q (head dim %u): v axis 3 must equal q "
                        "axis 3",
                        b->op, v[3], q[3]);
    if (q[3] > MAX_HEAD_DIM)
        return vka_fail(b->ctx, VKA_ERROR_UNSUPPORTED, "%s: head dim %u exceeds the largest supported (%d)", b->op,
                        q[3], MAX_HEAD_DIM);
    *p = (inducing_params){.batch = q[0],
                           .heads = q[1],
                           .nq = q[2],
                           .nk = k[2],
                           .d = q[3],
                           .dv = v[3],
                           .latents = l[2],
                           .latent_batch = l[0]};
    b->int_range[ROLE_KV_LEN].active = b->inputs[ROLE_KV_LEN] != NULL;
    b->int_range[ROLE_KV_LEN].min = 0;
    b->int_range[ROLE_KV_LEN].max = (int32_t)p->nk;
    return VKA_SUCCESS;
}

static vka_result build(vka_op_build *b)
{
    inducing_params *p = b->parsed;
    vka_result r;
    if ((r = check_shapes(b, p)) || (r = vka_param_scale(b->params, "scale", p->d, &p->scale)))
        return r;
    b->output_rank = 4;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->heads, p->nq, p->dv}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ lowering */

/* The latents with one slice per [batch, head]: as given, or copied to every batch. */
static vka_result latents_per_batch(vka_lowering *lw, const vka_op_node *node, const inducing_params *p, uint32_t *out)
{
    uint32_t given = vka_lower_input(lw, node, ROLE_LATENTS);
    if (p->latent_batch == p->batch) {
        *out = given;
        return VKA_SUCCESS;
    }
    vka_result r = vka_lower_intermediate(lw, "latents", VKA_DTYPE_F32, 4,
                                          (uint32_t[]){p->batch, p->heads, p->latents, p->d}, out);
    for (uint32_t b = 0; r == VKA_SUCCESS && b < p->batch; b++)
        r = vka_lower_copy_rows(lw, &(vka_copy_desc){.src = given,
                                                     .dst = *out,
                                                     .slices = p->heads,
                                                     .count = p->latents * vka_div_up(p->d, 4),
                                                     .dst_slice_offset = b * p->heads});
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const inducing_params *p = node->params;
    uint32_t latents, summaries, kv_len = vka_lower_input(lw, node, ROLE_KV_LEN), all_latents;
    vka_result r = latents_per_batch(lw, node, p, &latents);
    if (r == VKA_SUCCESS && !kv_len)
        r = vka_lower_key_counts(lw, "kv_len", p->batch, p->nk, &kv_len);
    if (r == VKA_SUCCESS)
        r = vka_lower_key_counts(lw, "latent_count", p->batch, p->latents, &all_latents);
    if (r == VKA_SUCCESS)
        r = vka_lower_intermediate(lw, "summaries", VKA_DTYPE_F32, 4,
                                   (uint32_t[]){p->batch, p->heads, p->latents, p->dv}, &summaries);
    if (r == VKA_SUCCESS)
        r = vka_lower_flash(lw, &(vka_flash_desc){.q = latents,
                                                  .k = vka_lower_input(lw, node, ROLE_K),
                                                  .v = vka_lower_input(lw, node, ROLE_V),
                                                  .out = summaries,
                                                  .kv_len = kv_len,
                                                  .batch = p->batch,
                                                  .heads = p->heads,
                                                  .nq = p->latents,
                                                  .nk = p->nk,
                                                  .d = p->d,
                                                  .dv = p->dv,
                                                  .scale = p->scale});
    if (r == VKA_SUCCESS)
        r = vka_lower_flash(lw, &(vka_flash_desc){.q = vka_lower_input(lw, node, ROLE_Q),
                                                  .k = summaries,
                                                  .v = summaries,
                                                  .out = vka_lower_result(lw, node),
                                                  .kv_len = all_latents,
                                                  .batch = p->batch,
                                                  .heads = p->heads,
                                                  .nq = p->nq,
                                                  .nk = p->latents,
                                                  .d = p->d,
                                                  .dv = p->dv,
                                                  .scale = p->scale});
    return r;
}

/* ------------------------------------------------------------------ reference, flops */

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    const inducing_params *p = node->params;
    size_t slice = (size_t)p->latents * p->d, summary_slice = (size_t)p->latents * p->dv;
    double *latents = malloc((size_t)p->batch * p->heads * slice * sizeof *latents);
    double *summaries = malloc((size_t)p->batch * p->heads * summary_slice * sizeof *summaries);
    bool ok = latents && summaries;
    for (uint32_t b = 0; ok && b < p->batch; b++) /* shared latents, repeated per batch */
        memcpy(latents + (size_t)b * p->heads * slice,
               in[ROLE_LATENTS].data + (p->latent_batch == 1 ? 0 : (size_t)b * p->heads * slice),
               p->heads * slice * sizeof *latents);
    vka_ref_attention first = {.batch = p->batch,
                               .heads = p->heads,
                               .nq = p->latents,
                               .nk = p->nk,
                               .d = p->d,
                               .dv = p->dv,
                               .q = latents,
                               .k = in[ROLE_K].data,
                               .v = in[ROLE_V].data,
                               .kv_len = in[ROLE_KV_LEN].ints,
                               .scale = p->scale,
                               .out = summaries};
    vka_ref_attention second = {.batch = p->batch,
                                .heads = p->heads,
                                .nq = p->nq,
                                .nk = p->latents,
                                .d = p->d,
                                .dv = p->dv,
                                .q = in[ROLE_Q].data,
                                .k = summaries,
                                .v = summaries,
                                .scale = p->scale,
                                .out = out->data};
    ok = ok && vka_ref_softmax_attention(&first) && vka_ref_softmax_attention(&second);
    free(latents);
    free(summaries);
    return ok ? VKA_SUCCESS
              : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory in the inducing reference");
}

/* Both attentions at 2·(D + Dv) flops per (query, key) pair. */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const inducing_params *p = node->params;
    return 2.0 * p->batch * p->heads * (double)p->latents * (p->nk + p->nq) * (p->d + p->dv);
}

VKA_OP_CLASS(inducing) = {
    .name = "inducing",
    .summary = "pseudo-token attention: latents attend to k/v (Hc), q attends to Hc; latents=[1|B,H,M,D]",
    .inputs = roles,
    .output_shape = "B,H,Nq,D",
    .rows_independent = true,
    .params = params,
    .params_size = sizeof(inducing_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
