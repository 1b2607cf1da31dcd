/* Lowering helpers shared by operation families. */
#ifndef VKA_OPS_MATMUL_H
#define VKA_OPS_MATMUL_H

#include "../graph/lower.h"

/* C = alpha · A · op(B) per slice: A is M×K, op(B) K×N (B stored N×K when trans_b), C M×N.
 * Row strides in vec4; zero means the dense stride (ceil(K/4) for A, ceil(K/4) or
 * ceil(N/4) for B, ceil(N/4) for C). Offsets in vec4 from the start of the slice.
 * Groups (optional): rows are taken m at a time; group g uses B number
 * clamp(g + b_group_base, 0, b_group_last), strides in vec4; m_total rows exist. */
typedef struct vka_matmul_desc {
    uint32_t a, b, c; /* plan tensors */
    uint32_t slices;
    uint32_t m, n, k;
    float alpha;
    bool trans_b;
    bool b_whole; /* one B for every slice */
    uint32_t lda, ldb, ldc, b_offset, c_offset;
    uint32_t groups; /* 0: one */
    uint32_t a_group_stride, b_group_stride, c_group_stride;
    int32_t b_group_base;
    uint32_t b_group_last, m_total;
} vka_matmul_desc;

vka_result vka_lower_matmul(vka_lowering *lw, const vka_matmul_desc *desc);

uint32_t vka_float_bits(float x);

#endif
