/* `fma_peak`: the device's peak multiply-add rate, as vkpeak and clpeak measure it — the
 * roofline's ceiling (`vkattn roofline`). Every element of x runs `iterations` steps of
 * eight independent multiply-add chains (shaders/fma_peak.glsl) in f32 or, with
 * precision=f16, in f16 arithmetic (the device's shaderFloat16; refused without it).
 * The result, x·(1 − 0.4375·2^−n), is checked against the double reference like every
 * operation's, so a driver that skipped the work would be caught. Flops: 2 per lane per
 * chain per step, over the padded rows (the work the device does). */
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/shapes.h"

#include "graph/lower.h"

#include <math.h>
#include <string.h>

#define CHAINS 8

typedef struct fma_params {
    uint32_t slices, rows, row_vec4, width;
    uint32_t iterations;
    bool f16;
} fma_params;

static const vka_input_info roles[] = {VKA_IN("x", VKA_INPUT_TOKENS, "...,D", "the starting values"), {0}};
static const char *const precisions[] = {"f32", "f16", NULL};
static const vka_param_info params[] = {
    {"iterations", VKA_PARAM_INT, "steps of the eight multiply-add chains", "256", NULL, 1, 16384, NULL},
    {"precision", VKA_PARAM_ENUM, "the arithmetic's type (f16: the device's shaderFloat16)", "f32",
     .choices = precisions},
    {0},
};

static vka_result build(vka_op_build *b)
{
    fma_params *p = b->parsed;
    const vka_graph_tensor *x = b->inputs[0];
    int precision = 0;
    vka_result r = vka_expect_tensor(b, 0, x->rank, VKA_DTYPE_F32, "of rank 1..4");
    if (r == VKA_SUCCESS)
        r = vka_param_int(b->params, "iterations", &p->iterations);
    if (r == VKA_SUCCESS)
        r = vka_param_enum(b->params, "precision", &precision);
    if (r != VKA_SUCCESS)
        return r;
    p->f16 = precision == 1;
    p->width = x->dims[x->rank - 1];
    p->row_vec4 = vka_div_up(p->width, 4);
    p->rows = x->rank >= 2 ? x->dims[x->rank - 2] : 1;
    p->slices = 1;
    for (uint32_t i = 0; i + 2 < x->rank; i++)
        p->slices *= x->dims[i];
    b->output_rank = x->rank;
    memcpy(b->output_dims, x->dims, sizeof b->output_dims);
    return VKA_SUCCESS;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const fma_params *p = node->params;
    uint32_t wg = 64, count = p->rows * p->row_vec4, groups = vka_div_up(count, wg);
    uint32_t groups_x = VKA_MIN(groups, vka_lower_device(lw)->limits.max_workgroup_count[0]);
    vka_dispatch_desc desc = {
        .kernel = p->f16 ? VKA_KERNEL_FMA_PEAK_F16 : VKA_KERNEL_FMA_PEAK,
        .spec.fma_peak = {.workgroup_size = wg},
        .push.fma_peak = {.count = count, .iterations = p->iterations},
        .groups_x = groups_x,
        .groups_y = vka_div_up(groups, groups_x),
        .slices = p->slices,
        .bindings = {{.tensor = vka_lower_input(lw, node, 0), .access = VKA_READ},
                     {.tensor = vka_lower_result(lw, node), .access = VKA_WRITE}},
    };
    return vka_lower_dispatch(lw, &desc);
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    const fma_params *p = node->params;
    /* the chains' mean: x + x·2^−n·mean_j((j + 1)/8 − 1) = x·(1 − 0.4375·2^−n) */
    double factor = 1.0 - 0.4375 * ldexp(1.0, -(int)p->iterations);
    size_t n = (size_t)p->slices * p->rows * p->width;
    for (size_t i = 0; i < n; i++)
        out->data[i] = in[0].data[i] * factor;
    return VKA_SUCCESS;
}

static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const fma_params *p = node->params;
    return 2.0 * 4 * CHAINS * p->iterations * (double)p->slices * p->rows * p->row_vec4;
}

VKA_OP_CLASS(fma_peak) = {
    .name = "fma_peak",
    .summary = "a probe of the peak multiply-add rate (vkattn roofline): x·(1 − 0.4375·2^−iterations) after "
               "eight multiply-add chains per element",
    .inputs = roles,
    .output_shape = "...,D",
    .rows_independent = true,
    .params = params,
    .params_size = sizeof(fma_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
