/* `concat` (SCHEMES.md §11): a and b joined along the tokens axis (the second-to-last),
 * rank 2..4, every other axis equal: [..., Na, D] + [..., Nb, D] → [..., Na + Nb, D].
 * Two copy_rows dispatches, each into its own rows of every slice of the result. */
#include "graph/op.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"
#include "ref/ref.h"

#include <string.h>

enum { ROLE_A, ROLE_B };

typedef struct concat_params {
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK]; /* of the result */
    uint32_t rows_a, rows_b;
    size_t slices;
} concat_params;

static const vka_input_info roles[] = {
    VKA_IN("a", VKA_INPUT_TOKENS, "...,Nq,D", "the first rows"),
    VKA_IN("b", VKA_INPUT_TOKENS, "...,Nk,D", "the rows after them"),
    {0},
};

static vka_result build(vka_op_build *b)
{
    concat_params *p = b->parsed;
    const vka_graph_tensor *x = b->inputs[ROLE_A], *y = b->inputs[ROLE_B];
    if (x->rank < 2)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: a has rank %u; tokens are axis rank − 2, so 2..4", b->op,
                        x->rank);
    vka_result r;
    if ((r = vka_expect_tensor(b, ROLE_A, x->rank, VKA_DTYPE_F32, "[..., tokens, features]")) ||
        (r = vka_expect_tensor(b, ROLE_B, x->rank, VKA_DTYPE_F32, "of a's rank")))
        return r;
    uint32_t tokens = x->rank - 2;
    for (uint32_t i = 0; i < x->rank; i++)
        if (i != tokens && x->dims[i] != y->dims[i])
            return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: b axis %u is %u but a axis %u is %u", b->op, i,
                            y->dims[i], i, x->dims[i]);
    p->rank = x->rank;
    memcpy(p->dims, x->dims, sizeof p->dims);
    p->rows_a = x->dims[tokens];
    p->rows_b = y->dims[tokens];
    p->dims[tokens] = p->rows_a + p->rows_b;
    p->slices = 1;
    for (uint32_t i = 0; i < tokens; i++)
        p->slices *= x->dims[i];
    b->output_rank = p->rank;
    memcpy(b->output_dims, p->dims, sizeof b->output_dims);
    return VKA_SUCCESS;
}

static vka_result copy_part(vka_lowering *lw, const concat_params *p, uint32_t src, uint32_t dst, uint32_t rows,
                            uint32_t first_row)
{
    uint32_t row_vec4 = vka_div_up(p->dims[p->rank - 1], 4);
    return vka_lower_copy_rows(lw, &(vka_copy_desc){.src = src,
                                                    .dst = dst,
                                                    .slices = (uint32_t)p->slices,
                                                    .count = rows * row_vec4,
                                                    .dst_offset = first_row * row_vec4});
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const concat_params *p = node->params;
    uint32_t out = vka_lower_result(lw, node);
    vka_result r = copy_part(lw, p, vka_lower_input(lw, node, ROLE_A), out, p->rows_a, 0);
    return r == VKA_SUCCESS ? copy_part(lw, p, vka_lower_input(lw, node, ROLE_B), out, p->rows_b, p->rows_a) : r;
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    const concat_params *p = node->params;
    vka_ref_concat_rows(in[ROLE_A].data, in[ROLE_B].data, p->slices, p->rows_a, p->rows_b, p->dims[p->rank - 1],
                        out->data);
    return VKA_SUCCESS;
}

static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    (void)node;
    return 0; /* data movement only */
}

VKA_OP_CLASS(concat) = {
    .name = "concat",
    .summary = "a and b joined along the tokens axis (second-to-last); other axes equal",
    .inputs = roles,
    .output_shape = "...,Nq+Nk,D",
    .params_size = sizeof(concat_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
