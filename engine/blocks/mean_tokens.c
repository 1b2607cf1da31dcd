/* `mean_tokens` (SCHEMES.md §11: "mean over set"): the mean over the tokens axis,
 *   out[b, m, :] = offset[m, :] + (1/N) Σ_n x[b, n, :]
 * x [B, N, D]; `offset` [M, D] optional (then out is [B, M, D]; without it [B, 1, D]).
 * PT-TETNP places its pseudo-tokens so: learned offsets around the context's mean
 * location. Two matrix products: a row of 1/N times x, then (with an offset) a column of
 * ones times that, accumulated onto the offset copied into every batch. */
#include "lowering/matmul.h"
#include "graph/op.h"
#include "lowering/rows.h"
#include "lowering/shapes.h"

#include "graph/lower.h"

#include <stdlib.h>
#include <string.h>

enum { ROLE_X, ROLE_OFFSET };

typedef struct mean_params {
    uint32_t batch, n, d, m;
} mean_params;

static const vka_input_info roles[] = {
    VKA_IN("x", VKA_INPUT_TOKENS, "B,Nk,D", "the set"),
    VKA_IN_OPTIONAL("offset", VKA_INPUT_LEARNED, "M=4,D", "rows added to the mean (then M rows out)"),
    {0},
};

static vka_result build(vka_op_build *b)
{
    mean_params *p = b->parsed;
    vka_result r = vka_expect_tensor(b, ROLE_X, 3, VKA_DTYPE_F32, "[batch, tokens, features]");
    if (r == VKA_SUCCESS && b->inputs[ROLE_OFFSET])
        r = vka_expect_tensor(b, ROLE_OFFSET, 2, VKA_DTYPE_F32, "[rows, features]");
    if (r != VKA_SUCCESS)
        return r;
    const uint32_t *x = b->inputs[ROLE_X]->dims;
    p->batch = x[0];
    p->n = x[1];
    p->d = x[2];
    p->m = b->inputs[ROLE_OFFSET] ? b->inputs[ROLE_OFFSET]->dims[0] : 1;
    if (b->inputs[ROLE_OFFSET] && b->inputs[ROLE_OFFSET]->dims[1] != p->d)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: offset has %u features but x has %u", b->op,
                        b->inputs[ROLE_OFFSET]->dims[1], p->d);
    b->output_rank = 3;
    memcpy(b->output_dims, (uint32_t[4]){p->batch, p->m, p->d}, sizeof b->output_dims);
    return VKA_SUCCESS;
}

/* A constant [rows, cols] of `value`. */
static vka_result filled(vka_lowering *lw, const char *name, uint32_t rows, uint32_t cols, float value, uint32_t *out)
{
    float *data = malloc((size_t)rows * cols * sizeof *data);
    if (!data)
        return vka_fail(vka_lower_context(lw), VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory lowering mean_tokens");
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        data[i] = value;
    vka_result r = vka_lower_constant(lw, name, VKA_DTYPE_F32, 2, (uint32_t[]){rows, cols}, data, out);
    free(data);
    return r;
}

static vka_result lower(vka_lowering *lw, const vka_op_node *node)
{
    const mean_params *p = node->params;
    uint32_t offset = vka_lower_input(lw, node, ROLE_OFFSET), out = vka_lower_result(lw, node), mean = out, row, column;
    vka_result r = filled(lw, "mean_row", 1, p->n, 1.0f / (float)p->n, &row);
    if (r == VKA_SUCCESS && offset)
        r = vka_lower_intermediate(lw, "mean", VKA_DTYPE_F32, 3, (uint32_t[]){p->batch, 1, p->d}, &mean);
    if (r == VKA_SUCCESS)
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = row,
                                                    .b = vka_lower_input(lw, node, ROLE_X),
                                                    .c = mean,
                                                    .slices = p->batch,
                                                    .m = 1,
                                                    .n = p->d,
                                                    .k = p->n,
                                                    .alpha = 1.0f,
                                                    .a_whole = true});
    if (r != VKA_SUCCESS || !offset)
        return r;
    for (uint32_t b = 0; r == VKA_SUCCESS && b < p->batch; b++)
        r = vka_lower_copy_rows(
            lw,
            &(vka_copy_desc){
                .src = offset, .dst = out, .slices = 1, .count = p->m * vka_div_up(p->d, 4), .dst_slice_offset = b});
    if (r == VKA_SUCCESS)
        r = filled(lw, "ones", p->m, 1, 1.0f, &column);
    if (r == VKA_SUCCESS)
        r = vka_lower_matmul(lw, &(vka_matmul_desc){.a = column,
                                                    .b = mean,
                                                    .c = out,
                                                    .slices = p->batch,
                                                    .m = p->m,
                                                    .n = p->d,
                                                    .k = 1,
                                                    .alpha = 1.0f,
                                                    .a_whole = true,
                                                    .accumulate = true});
    return r;
}

static vka_result reference(vka_context *ctx, const vka_op_node *node, const vka_ref_view *in, vka_ref_view *out)
{
    (void)ctx;
    const mean_params *p = node->params;
    for (uint32_t b = 0; b < p->batch; b++)
        for (uint32_t c = 0; c < p->d; c++) {
            double s = 0;
            for (uint32_t n = 0; n < p->n; n++)
                s += in[ROLE_X].data[((size_t)b * p->n + n) * p->d + c];
            for (uint32_t m = 0; m < p->m; m++)
                out->data[((size_t)b * p->m + m) * p->d + c] =
                    s / p->n + (in[ROLE_OFFSET].data ? in[ROLE_OFFSET].data[(size_t)m * p->d + c] : 0.0);
        }
    return VKA_SUCCESS;
}

static double flops(const vka_graph *g, const vka_op_node *node)
{
    (void)g;
    const mean_params *p = node->params;
    return (double)p->batch * p->d * (p->n + p->m);
}

VKA_OP_CLASS(mean_tokens) = {
    .name = "mean_tokens",
    .summary = "offset[m] + the mean of x over its tokens: x [B, N, D], offset [M, D] optional → [B, M (or 1), D]",
    .inputs = roles,
    .output_shape = "B,1,D",
    .params_size = sizeof(mean_params),
    .build = build,
    .lower = lower,
    .reference = reference,
    .flops = flops,
};
