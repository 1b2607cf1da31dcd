/* `dense` (SCHEMES.md §11): y = x W + b over the last axis of x. x [..., in] of rank 1..4,
 * `weight` [in, out] (shared by every leading index) — or [out, in] as PyTorch's Linear
 * stores it, with weight_layout=out_in, read transposed in place —, optional `bias` [out].
 * One matrix product per slice with W bound whole; the bias (and an activation fused into
 * it) in the product's epilogue. */
#include "lowering/matmul.h"
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <string.h>

enum { ROLE_X, ROLE_WEIGHT, ROLE_BIAS };

typedef struct dense_params {
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK]; /* of x */
    uint32_t in, out;
    size_t rows; /* product of x's leading axes */
    bool out_in; /* weight stored [out, in] (PyTorch's Linear): y = x Wᵀ + b */
} dense_params;

static const vka_input_info roles[] = {
    VKA_IN("x", VKA_INPUT_TOKENS, "...,D", "rows of features"),
    VKA_IN("weight", VKA_INPUT_LEARNED, "D,O=64", "[in, out] (or [out, in] with weight_layout=out_in)"),
    VKA_IN_OPTIONAL("bias", VKA_INPUT_LEARNED, "O", "added to every row"),
    {0},
};
static const char *const layouts[] = {"in_out", "out_in", NULL};
static const vka_param_info params[] = {
    {"weight_layout", VKA_PARAM_ENUM, "the weight stored [in, out], or [out, in] (PyTorch's Linear)", "in_out",
     .choices = layouts},
    {0},
};

static vka_result build(vka_op_build *b)
{
    dense_params *p = b->parsed;
    const vka_graph_tensor *x = b->inputs[ROLE_X], *w = b->inputs[ROLE_WEIGHT], *bias = b->inputs[ROLE_BIAS];
    vka_result r;
    int layout = 0;
    if ((r = vka_param_enum(b->params, "weight_layout", &layout)) ||
        (r = vka_expect_tensor(b, ROLE_X, x->rank, VKA_DTYPE_F32, "[..., in]")) ||
        (r = vka_expect_tensor(b, ROLE_WEIGHT, 2, VKA_DTYPE_F32, layout ? "[out, in]" : "[in, out]")) ||
        (bias && (r = vka_expect_tensor(b, ROLE_BIAS, 1, VKA_DTYPE_F32, "[out]"))))
        return r;
    p->out_in = layout == 1;
    p->rank = x->rank;
    memcpy(p->dims, x->dims, sizeof p->dims);
    p->in = x->dims[x->rank - 1];
    p->out = w->dims[p->out_in ? 0 : 1];
    if (w->dims[p->out_in ? 1 : 0] != p->in)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: weight axis %d is %u but x's last axis (in) is %u",
                        b->op, p->out_in ? 1 : 0, w->dims[p->out_in ? 1 : 0], p->in);
    if (bias && bias->dims[0] != p->out)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: bias has %u entries but the weight's out axis is %u",
                        b->op, bias->dims[0], p->out);
    p->rows = 1;
    for (uint32_t i = 0; i + 1 < x->rank; i++)
        p->rows *= x->dims[i];
    b->output_rank = x->rank;
    memcpy(b->output_dims, x->dims, sizeof b->output_dims);
    b->output_dims[x->rank - 1] = p->out;
    return VKA_SUCCESS;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const dense_params *p = node->params;
    uint32_t slices = 1;
    for (uint32_t i = 0; i + 2 < p->rank; i++)
        slices *= p->dims[i];
    /* The bias, and an activation the planner fused into this node, are the product's epilogue. */
    return vka_lower_matmul(lw, &(vka_matmul_desc){.a = vka_lower_input(lw, node, ROLE_X),
                                                   .b = vka_lower_input(lw, node, ROLE_WEIGHT),
                                                   .c = vka_lower_result(lw, node),
                                                   .slices = slices,
                                                   .m = p->rank >= 2 ? p->dims[p->rank - 2] : 1,
                                                   .n = p->out,
                                                   .k = p->in,
                                                   .alpha = 1.0f,
                                                   .b_whole = true,
                                                   .trans_b = p->out_in, /* read in place: no copy */
                                                   .bias = vka_lower_input(lw, node, ROLE_BIAS),
                                                   .activation = vka_lower_fused_activation(lw, node)});
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    const dense_params *p = node->params;
    if (p->out_in)
        vka_ref_dense_out_in(in[ROLE_X].data, in[ROLE_WEIGHT].data, in[ROLE_BIAS].data, p->rows, p->in, p->out,
                             out->data);
    else
        vka_ref_dense(in[ROLE_X].data, in[ROLE_WEIGHT].data, in[ROLE_BIAS].data, p->rows, p->in, p->out, out->data);
    return VKA_SUCCESS;
}

static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const dense_params *p = node->params;
    return 2.0 * (double)p->rows * p->in * p->out;
}

VKA_OP_CLASS(dense) = {
    .name = "dense",
    .summary = "y = x·weight + bias over x's last axis; weight [in, out] (or [out, in] with weight_layout=out_in), "
               "bias [out] optional",
    .inputs = roles,
    .output_shape = "...,O",
    .rows_independent = true,
    .params = params,
    .params_size = sizeof(dense_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
    .absorbs_activation = true,
};
