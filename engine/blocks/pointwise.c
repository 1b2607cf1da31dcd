/* Element-wise building blocks (SCHEMES.md §11): `gelu` (exact erf form), `relu`,
 * `softplus`, `sqrt_softplus` on one tensor `x`, and `add` of two tensors `a`, `b` of the same shape.
 * Any rank 1..4; one pointwise.comp dispatch, one vec4 per invocation, the rows' zero
 * padding kept. */
#include "graph/op.h"
#include "pointwise.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <string.h>

typedef struct pointwise_params {
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
} pointwise_params;

static const vka_input_info unary_roles[] = {VKA_IN("x", VKA_INPUT_TOKENS, "...,D", "any tensor"), {0}};
static const vka_input_info binary_roles[] = {
    VKA_IN("a", VKA_INPUT_TOKENS, "...,D", "any tensor"), VKA_IN("b", VKA_INPUT_TOKENS, "...,D", "a's shape"), {0}};

static vka_result expect_any_rank(vka_op_build *b, int role)
{
    const vka_graph_tensor *t = b->inputs[role];
    return vka_expect_tensor(b, role, t->rank, VKA_DTYPE_F32, "of rank 1..4");
}

static void set_output(vka_op_build *b, pointwise_params *p, const vka_graph_tensor *like)
{
    p->rank = like->rank;
    memcpy(p->dims, like->dims, sizeof p->dims);
    b->output_rank = like->rank;
    memcpy(b->output_dims, like->dims, sizeof b->output_dims);
}

static vka_result build_unary(vka_op_build *b)
{
    vka_result r = expect_any_rank(b, 0);
    if (r == VKA_SUCCESS)
        set_output(b, b->parsed, b->inputs[0]);
    return r;
}

static vka_result build_add(vka_op_build *b)
{
    vka_result r;
    if ((r = expect_any_rank(b, 0)) || (r = expect_any_rank(b, 1)))
        return r;
    const vka_graph_tensor *x = b->inputs[0], *y = b->inputs[1];
    if (x->rank != y->rank)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: a has rank %u and b rank %u; they must match", b->op,
                        x->rank, y->rank);
    for (uint32_t i = 0; i < x->rank; i++)
        if (x->dims[i] != y->dims[i])
            return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: b axis %u is %u but a axis %u is %u", b->op, i,
                            y->dims[i], i, x->dims[i]);
    set_output(b, b->parsed, x);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ lowering */

vka_result vka_lower_pointwise(vka_lowering *lw, const vka_pointwise_desc *p)
{
    const uint32_t *d = p->dims, n = p->rank;
    uint32_t slices = 1, rows = n >= 2 ? d[n - 2] : 1, row_vec4 = vka_div_up(d[n - 1], 4);
    for (uint32_t i = 0; i + 2 < n; i++)
        slices *= d[i];
    uint32_t wg = 64, count = rows * row_vec4, groups = vka_div_up(count, wg);
    uint32_t groups_x = VKA_MIN(groups, vka_lower_device(lw)->limits.max_workgroup_count[0]);
    vka_dispatch_desc desc = {
        .kernel = VKA_KERNEL_POINTWISE,
        .spec.pointwise = {.workgroup_size = wg, .MODE = p->mode},
        .push.pointwise = {.count = count, .row_vec4 = row_vec4, .width = d[n - 1]},
        .groups_x = groups_x,
        .groups_y = vka_div_up(groups, groups_x),
        .slices = slices,
        .bindings = {{.tensor = p->a, .access = VKA_READ, .whole = false},
                     {.tensor = p->b ? p->b : p->a, .access = VKA_READ, .whole = p->mode == VKA_POINTWISE_BIAS},
                     {.tensor = p->out, .access = VKA_WRITE, .whole = false}},
    };
    return vka_lower_dispatch(lw, &desc);
}

static vka_result lower_mode(vka_lowering *lw, const vka_op_node *node, vka_pointwise_mode mode)
{
    const pointwise_params *p = node->params;
    vka_pointwise_desc desc = {.mode = mode,
                               .a = vka_lower_input(lw, node, 0),
                               .b = mode == VKA_POINTWISE_ADD ? vka_lower_input(lw, node, 1) : 0,
                               .out = vka_lower_result(lw, node),
                               .rank = p->rank};
    memcpy(desc.dims, p->dims, sizeof desc.dims);
    return vka_lower_pointwise(lw, &desc);
}

static vka_result lower_gelu(vka_lowering *lw, const vka_op_node *node)
{
    return lower_mode(lw, node, VKA_POINTWISE_GELU);
}

static vka_result lower_relu(vka_lowering *lw, const vka_op_node *node)
{
    return lower_mode(lw, node, VKA_POINTWISE_RELU);
}

static vka_result lower_softplus(vka_lowering *lw, const vka_op_node *node)
{
    return lower_mode(lw, node, VKA_POINTWISE_SOFTPLUS);
}

static vka_result lower_sqrt_softplus(vka_lowering *lw, const vka_op_node *node)
{
    return lower_mode(lw, node, VKA_POINTWISE_SQRT_SOFTPLUS);
}

static vka_result lower_add(vka_lowering *lw, const vka_op_node *node)
{
    return lower_mode(lw, node, VKA_POINTWISE_ADD);
}

/* ------------------------------------------------------------------ reference, flops */

static size_t element_count(const pointwise_params *p)
{
    size_t n = 1;
    for (uint32_t i = 0; i < p->rank; i++)
        n *= p->dims[i];
    return n;
}

static vka_result reference_unary(const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out, vka_ref_unary f)
{
    vka_ref_elementwise(f, in[0].data, NULL, element_count(node->params), out->data);
    return VKA_SUCCESS;
}

static vka_result reference_gelu(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    return reference_unary(node, in, out, VKA_REF_GELU);
}

static vka_result reference_relu(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    return reference_unary(node, in, out, VKA_REF_RELU);
}

static vka_result reference_softplus(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in,
                                     vka_ref_view *out)
{
    (void)ctx;
    return reference_unary(node, in, out, VKA_REF_SOFTPLUS);
}

static vka_result reference_sqrt_softplus(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in,
                                          vka_ref_view *out)
{
    (void)ctx;
    return reference_unary(node, in, out, VKA_REF_SQRT_SOFTPLUS);
}

static vka_result reference_add(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    vka_ref_elementwise(VKA_REF_ADD, in[0].data, in[1].data, element_count(node->params), out->data);
    return VKA_SUCCESS;
}

/* One flop per element (the convention for element-wise work). */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    return (double)element_count(node->params);
}

#define POINTWISE_CLASS(NAME, SUMMARY, ROLES, REQUIRED, BUILD, ACTIVATION)                                             \
    VKA_OP_CLASS(NAME) = {                                                                                             \
        .name = #NAME,                                                                                                 \
        .activation = ACTIVATION,                                                                                      \
        .summary = SUMMARY,                                                                                            \
        .inputs = ROLES,                                                                                               \
        .output_shape = "...,D",                                                                                       \
        .rows_independent = true,                                                                                      \
        .params_size = sizeof(pointwise_params),                                                                       \
        .build = BUILD,                                                                                                \
        .lower = lower_##NAME,                                                                                         \
        .reference = reference_##NAME,                                                                                 \
        .flops = flops,                                                                                                \
    };

POINTWISE_CLASS(gelu, "x·Φ(x), the exact erf form, element-wise", unary_roles, 1, build_unary, VKA_ACTIVATION_GELU)
POINTWISE_CLASS(relu, "max(x, 0) element-wise", unary_roles, 1, build_unary, VKA_ACTIVATION_RELU)
POINTWISE_CLASS(softplus, "log(1 + e^x) element-wise", unary_roles, 1, build_unary, VKA_ACTIVATION_SOFTPLUS)
POINTWISE_CLASS(sqrt_softplus, "sqrt(log(1 + e^x)) element-wise (a Gaussian head's std)", unary_roles, 1, build_unary,
                VKA_ACTIVATION_SQRT_SOFTPLUS)
POINTWISE_CLASS(add, "a + b element-wise (same shapes)", binary_roles, 2, build_add, VKA_ACTIVATION_NONE)
