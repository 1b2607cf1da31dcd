/* The batched matrix product with its epilogue, for any operation family. */
#ifndef VKA_LOWERING_MATMUL_H
#define VKA_LOWERING_MATMUL_H

#include "graph/lower.h"

/* C = act(alpha · op(A) · op(B) + bias [+ C]) per slice: op(A) is M×K (A stored K×M when
 * trans_a), op(B) K×N (B stored N×K when trans_b; not with trans_a), C M×N.
 * Row strides in vec4; zero means the dense stride (ceil(K/4) or ceil(M/4) for A,
 * ceil(K/4) or ceil(N/4) for B, ceil(N/4) for C). Offsets in vec4 from the start of the slice.
 * Groups (optional): rows are taken m at a time; group g uses B number
 * clamp(g + b_group_base, 0, b_group_last), strides in vec4; m_total rows exist. */
typedef struct vka_matmul_desc {
    uint32_t a, b, c; /* plan tensors */
    uint32_t slices;
    uint32_t m, n, k;
    float alpha;
    bool trans_a, trans_b;
    bool a_whole, b_whole;    /* one A (B) for every slice */
    uint32_t a_slice_divisor; /* > 1: A has one slice per a_slice_divisor slices (per batch) */
    uint32_t b_slice_divisor; /* > 1: B has one slice per b_slice_divisor slices (grouped k/v heads) */
    uint32_t lda, ldb, ldc, a_offset, b_offset, c_offset;
    /* The epilogue, per element of C, in this order: */
    float diagonal;            /* added where row = column (c·I − A·B with alpha −1) */
    uint32_t bias;             /* plan tensor [N] added to every row, or 0 */
    bool accumulate;           /* add C's previous content (a contraction in chunks) */
    vka_activation activation; /* then this */
    /* trans_a only: the contraction stops at kv_len[batch] − k_base, batch = slice / heads
     * (the global slice index): keys past kv_len do not exist. */
    uint32_t key_counts; /* plan tensor: int32 [B], or 0 */
    uint32_t heads, k_base;
    uint32_t groups; /* 0: one */
    uint32_t a_group_stride, b_group_stride, c_group_stride;
    int32_t b_group_base;
    uint32_t b_group_last, m_total;
} vka_matmul_desc;

vka_result vka_lower_matmul(vka_lowering *lw, const vka_matmul_desc *desc);

#endif
