/* `layernorm` (SCHEMES.md §11): over the last axis of x (rank 1..4),
 *   y = (x − mean) / sqrt(var + eps) · weight + bias,  eps = 1e-5 by default,
 * with the biased variance; `weight` and `bias` ([width]) are optional (1 and 0). One
 * layernorm.comp dispatch, a row per invocation. */
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_X, ROLE_WEIGHT, ROLE_BIAS };

typedef struct layernorm_params {
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
    uint32_t width;
    size_t rows;
    float eps;
} layernorm_params;

static const vka_input_info roles[] = {
    VKA_IN("x", VKA_INPUT_TOKENS, "...,D", "rows to normalise"),
    VKA_IN_OPTIONAL("weight", VKA_INPUT_LEARNED, "D", "the gain (else 1)"),
    VKA_IN_OPTIONAL("bias", VKA_INPUT_LEARNED, "D", "the shift (else 0)"),
    {0},
};
static const vka_param_info params[] = {
    {"eps", VKA_PARAM_FLOAT, "added to the variance", "1e-5", NULL, 0, 1e30, NULL},
    {0},
};

static vka_result build(vka_op_build *b)
{
    layernorm_params *p = b->parsed;
    const vka_graph_tensor *x = b->inputs[ROLE_X];
    vka_result r = vka_expect_tensor(b, ROLE_X, x->rank, VKA_DTYPE_F32, "[..., width]");
    p->width = x->dims[x->rank - 1];
    for (int role = ROLE_WEIGHT; r == VKA_SUCCESS && role <= ROLE_BIAS; role++) {
        if (!b->inputs[role])
            continue;
        r = vka_expect_tensor(b, role, 1, VKA_DTYPE_F32, "[width]");
        if (r == VKA_SUCCESS && b->inputs[role]->dims[0] != p->width)
            r = vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: %s has %u entries but x's last axis is %u", b->op,
                         roles[role].role, b->inputs[role]->dims[0], p->width);
    }
    double eps;
    if (r == VKA_SUCCESS)
        r = vka_param_float(b->params, "eps", &eps);
    if (r != VKA_SUCCESS)
        return r;
    p->eps = (float)eps;
    p->rank = x->rank;
    memcpy(p->dims, x->dims, sizeof p->dims);
    p->rows = 1;
    for (uint32_t i = 0; i + 1 < x->rank; i++)
        p->rows *= x->dims[i];
    b->output_rank = x->rank;
    memcpy(b->output_dims, x->dims, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* weight or bias as given, or a constant row of `fill` when only the other was given. */
static vka_result affine_tensor(vka_lowering *lw, const vka_op_node *node, int role, float fill, uint32_t *out)
{
    const layernorm_params *p = node->params;
    *out = vka_lower_input(lw, node, role);
    if (*out)
        return VKA_SUCCESS;
    float *row = malloc(p->width * sizeof *row);
    if (!row)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering layernorm");
    for (uint32_t i = 0; i < p->width; i++)
        row[i] = fill;
    vka_result r = vka_lower_constant(lw, roles[role].role, VKA_DTYPE_F32, 1, &p->width, row, out);
    free(row);
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const layernorm_params *p = node->params;
    uint32_t x = vka_lower_input(lw, node, ROLE_X), gamma = x, beta = x;
    bool affine = vka_lower_input(lw, node, ROLE_WEIGHT) || vka_lower_input(lw, node, ROLE_BIAS);
    vka_result r = VKA_SUCCESS;
    if (affine && (r = affine_tensor(lw, node, ROLE_WEIGHT, 1.0f, &gamma)) == VKA_SUCCESS)
        r = affine_tensor(lw, node, ROLE_BIAS, 0.0f, &beta);
    if (r != VKA_SUCCESS)
        return r;
    uint32_t slices = 1, rows = p->rank >= 2 ? p->dims[p->rank - 2] : 1, wg = 64;
    for (uint32_t i = 0; i + 2 < p->rank; i++)
        slices *= p->dims[i];
    vka_dispatch_desc d = {
        .kernel = VKA_KERNEL_LAYERNORM,
        .spec.layernorm = {.workgroup_size = wg, .AFFINE = affine},
        .push.layernorm = {.rows = rows, .row_vec4 = vka_div_up(p->width, 4), .width = p->width, .eps = p->eps},
        .groups_x = vka_div_up(rows, wg),
        .groups_y = 1,
        .slices = slices,
        .bindings = {{.tensor = x, .access = VKA_READ, .whole = false},
                     {.tensor = gamma, .access = VKA_READ, .whole = affine},
                     {.tensor = beta, .access = VKA_READ, .whole = affine},
                     {.tensor = vka_lower_result(lw, node), .access = VKA_WRITE, .whole = false}},
    };
    return vka_lower_dispatch(lw, &d);
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    const layernorm_params *p = node->params;
    vka_ref_layernorm(in[ROLE_X].data, in[ROLE_WEIGHT].data, in[ROLE_BIAS].data, p->rows, p->width, p->eps, out->data);
    return VKA_SUCCESS;
}

/* About 8 flops per element (two sums, the normalisation, the affine map). */
static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const layernorm_params *p = node->params;
    return 8.0 * (double)p->rows * p->width;
}

VKA_OP_CLASS(layernorm) = {
    .name = "layernorm",
    .summary = "layer normalisation over the last axis; weight, bias [width] optional; eps (1e-5)",
    .inputs = roles,
    .output_shape = "...,D",
    .rows_independent = true,
    .params = params,
    .params_size = sizeof(layernorm_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
