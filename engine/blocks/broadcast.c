/* `broadcast`: a tensor shared by the batch, [1, ...], repeated `batch` times along axis 0
 * (rank 3..4): learned latents, inducing points and seeds meeting a batch of sets. One
 * copy_rows dispatch per batch index, each into its own slices of the result. */
#include "graph/op.h"
#include "graph/params.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"

#include <string.h>

typedef struct broadcast_params {
    uint32_t rank, batch;
    uint32_t dims[VKA_MAX_RANK]; /* of the input */
    uint32_t inner_slices;       /* slices of one batch index (the axes between 0 and the rows) */
    size_t floats;               /* of the input */
} broadcast_params;

static const vka_input_info roles[] = {
    VKA_IN("x", VKA_INPUT_TOKENS, "1,Nq,D", "shared by the batch: [1, ...] of rank 3..4"), {0}};
static const vka_param_info params[] = {
    {"batch", VKA_PARAM_INT, "copies along axis 0", "1", NULL, 1, 1u << 20, NULL},
    {0},
};

static vka_result build(vka_op_build *b)
{
    broadcast_params *p = b->parsed;
    const vka_graph_tensor *x = b->inputs[0];
    vka_result r;
    if (x->rank < 3)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: x has rank %u; it must be [1, ..., tokens, features] of "
                        "rank 3..4",
                        b->op, x->rank);
    if ((r = vka_expect_tensor(b, 0, x->rank, VKA_DTYPE_F32, "[1, ..., tokens, features]")) ||
        (r = vka_param_int(b->params, "batch", &p->batch)))
        return r;
    if (x->dims[0] != 1)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: x axis 0 is %u; only a batch of 1 is broadcast", b->op,
                        x->dims[0]);
    p->rank = x->rank;
    memcpy(p->dims, x->dims, sizeof p->dims);
    p->inner_slices = x->rank == 4 ? x->dims[1] : 1;
    p->floats = 1;
    for (uint32_t i = 0; i < x->rank; i++)
        p->floats *= x->dims[i];
    b->output_rank = x->rank;
    memcpy(b->output_dims, x->dims, sizeof b->output_dims);
    b->output_dims[0] = p->batch;
    return VKA_SUCCESS;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const broadcast_params *p = node->params;
    uint32_t rows = p->dims[p->rank - 2], row_vec4 = vka_div_up(p->dims[p->rank - 1], 4);
    vka_result r = VKA_SUCCESS;
    for (uint32_t b = 0; r == VKA_SUCCESS && b < p->batch; b++)
        r = vka_lower_copy_rows(lw, &(vka_copy_desc){.src = vka_lower_input(lw, node, 0),
                                                     .dst = vka_lower_result(lw, node),
                                                     .slices = p->inner_slices,
                                                     .count = rows * row_vec4,
                                                     .dst_slice_offset = b * p->inner_slices});
    return r;
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    const broadcast_params *p = node->params;
    for (uint32_t b = 0; b < p->batch; b++)
        memcpy(out->data + b * p->floats, in[0].data, p->floats * sizeof *out->data);
    return VKA_SUCCESS;
}

static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    (void)node;
    return 0; /* data movement only */
}

VKA_OP_CLASS(broadcast) = {
    .name = "broadcast",
    .summary = "x [1, ...] repeated `batch` times along axis 0 (rank 3..4)",
    .inputs = roles,
    .output_shape = "B,Nq,D",
    .examples = (const vka_op_param[]){{"batch", "B"}, {0}},
    .params = params,
    .params_size = sizeof(broadcast_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
