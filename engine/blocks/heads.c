/* Multi-head projections in and out (SCHEMES.md §11):
 *   split_heads  x [N, H·Dh] or [B, N, H·Dh] → [H, N, Dh] or [B, H, N, Dh]  (heads=H)
 *   merge_heads  x [H, N, Dh] or [B, H, N, Dh] → [N, H·Dh] or [B, N, H·Dh]
 * One heads.comp dispatch over the [batch, head] slices; the side with one slice per
 * batch is bound with a slice divisor of H. */
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <string.h>

typedef struct heads_params {
    uint32_t batch, heads, tokens, head_width;
    bool split;
} heads_params;

static const vka_input_info split_roles[] = {VKA_IN("x", VKA_INPUT_TOKENS, "B,Nq,H*D", "rows of all heads"), {0}};
static const vka_input_info merge_roles[] = {VKA_IN("x", VKA_INPUT_TOKENS, "B,H,Nq,D", "rows per head"), {0}};
static const vka_op_param split_examples[] = {{"heads", "H"}, {0}};
static const vka_param_info split_params[] = {
    {"heads", VKA_PARAM_INT, "heads the width splits into", "1", NULL, 1, 4096, NULL},
    {0},
};

static vka_result build_split(vka_op_build *b)
{
    heads_params *p = b->parsed;
    const vka_graph_tensor *x = b->inputs[0];
    if (x->rank != 2 && x->rank != 3)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: x must be [tokens, width] or [batch, tokens, width]; "
                        "it has rank %u",
                        b->op, x->rank);
    uint32_t heads;
    vka_result r = vka_expect_tensor(b, 0, x->rank, VKA_DTYPE_F32, "[batch, tokens, width]");
    if (r == VKA_SUCCESS)
        r = vka_param_int(b->params, "heads", &heads);
    if (r != VKA_SUCCESS)
        return r;
    uint32_t width = x->dims[x->rank - 1];
    if (width % heads)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: width %u does not split into %u heads", b->op, width,
                        heads);
    *p = (heads_params){.batch = x->rank == 3 ? x->dims[0] : 1,
                        .heads = heads,
                        .tokens = x->dims[x->rank - 2],
                        .head_width = width / heads,
                        .split = true};
    b->output_rank = x->rank + 1;
    uint32_t *o = b->output_dims;
    if (x->rank == 3)
        o[0] = p->batch;
    memcpy(o + (x->rank == 3), (uint32_t[]){p->heads, p->tokens, p->head_width}, 3 * sizeof *o);
    return VKA_SUCCESS;
}

static vka_result build_merge(vka_op_build *b)
{
    heads_params *p = b->parsed;
    const vka_graph_tensor *x = b->inputs[0];
    if (x->rank != 3 && x->rank != 4)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: x must be [heads, tokens, head_dim] or [batch, heads, "
                        "tokens, head_dim]; it has rank %u",
                        b->op, x->rank);
    vka_result r = vka_expect_tensor(b, 0, x->rank, VKA_DTYPE_F32, "[batch, heads, tokens, head_dim]");
    if (r != VKA_SUCCESS)
        return r;
    const uint32_t *d = x->dims + (x->rank == 4);
    *p = (heads_params){.batch = x->rank == 4 ? x->dims[0] : 1, .heads = d[0], .tokens = d[1], .head_width = d[2]};
    b->output_rank = x->rank - 1;
    uint32_t *o = b->output_dims;
    if (x->rank == 4)
        o[0] = p->batch;
    memcpy(o + (x->rank == 4), (uint32_t[]){p->tokens, p->heads * p->head_width}, 2 * sizeof *o);
    return VKA_SUCCESS;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const heads_params *p = node->params;
    uint32_t wg = 64, per_slice = p->tokens * 4 * vka_div_up(p->head_width, 4);
    uint32_t x = vka_lower_input(lw, node, 0), y = vka_lower_result(lw, node);
    vka_dispatch_desc d = {
        .kernel = VKA_KERNEL_HEADS,
        .spec.heads = {.workgroup_size = wg, .SPLIT = p->split},
        .push.heads = {.tokens = p->tokens, .heads = p->heads, .head_width = p->head_width},
        .groups_x = vka_div_up(per_slice, wg),
        .groups_y = 1,
        .slices = p->batch * p->heads,
        .bindings = {{.tensor = x,
                      .access = VKA_READ,
                      .whole = false,
                      .slice_offset = 0,
                      .slice_divisor = p->split ? p->heads : 1},
                     {.tensor = y,
                      .access = VKA_WRITE,
                      .whole = false,
                      .slice_offset = 0,
                      .slice_divisor = p->split ? 1 : p->heads}},
    };
    return vka_lower_dispatch(lw, &d);
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    const heads_params *p = node->params;
    vka_ref_heads(in[0].data, p->batch, p->heads, p->tokens, p->head_width, p->split, out->data);
    return VKA_SUCCESS;
}

static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    (void)node;
    return 0; /* data movement only */
}

VKA_OP_CLASS(split_heads) = {
    .name = "split_heads",
    .summary = "[B, N, H·Dh] → [B, H, N, Dh] (heads=H); rank 2 input gives rank 3",
    .inputs = split_roles,
    .output_shape = "B,H,Nq,D",
    .rows_independent = true,
    .examples = split_examples,
    .params = split_params,
    .params_size = sizeof(heads_params),
    .build = build_split,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};

VKA_OP_CLASS(merge_heads) = {
    .name = "merge_heads",
    .summary = "[B, H, N, Dh] → [B, N, H·Dh]; rank 3 input gives rank 2",
    .inputs = merge_roles,
    .output_shape = "B,Nq,H*D",
    .rows_independent = true,
    .params_size = sizeof(heads_params),
    .build = build_merge,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
