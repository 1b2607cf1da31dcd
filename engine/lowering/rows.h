/* Small lowering helpers shared by operation families: row copies between tensors and
 * the "every key exists" table. */
#ifndef VKA_LOWERING_ROWS_H
#define VKA_LOWERING_ROWS_H

#include "graph/lower.h"

/* copy_rows.comp: `count` vec4 per slice from src (at src_offset) to dst (at dst_offset),
 * over `slices` slices; dst's binding may start at slice dst_slice_offset. With rows > 1,
 * `count` vec4 of each of `rows` rows, the rows src_row_stride and dst_row_stride vec4
 * apart: a tensor's columns placed beside another's (te_attention's packed rows). */
typedef struct vka_copy_desc {
    uint32_t src, dst;
    uint32_t slices, count;
    uint32_t src_offset, dst_offset; /* vec4 into each slice */
    uint32_t dst_slice_offset;
    uint32_t rows, src_row_stride, dst_row_stride; /* rows 0: one */
    uint32_t src_divisor; /* > 1: each source slice feeds that many destination slices (grouped heads) */
} vka_copy_desc;

vka_result vka_lower_copy_rows(vka_lowering *lw, const vka_copy_desc *c);

/* The random matrix [rows, cols] of N(0, 1) values an op takes as input `given` (a plan
 * tensor, used as it is) or, when 0, draws from `seed` (vka_plan_redraw draws it again):
 * LSH rotations, sign-hash planes. */
vka_result vka_lower_gaussian_or(vka_lowering *lw, const char *name, uint32_t given, uint32_t rows, uint32_t cols,
                                 uint64_t seed, uint32_t *out);

/* A constant int32 [batch] table holding `keys` everywhere: every key exists. */
vka_result vka_lower_key_counts(vka_lowering *lw, const char *name, uint32_t batch, uint32_t keys, uint32_t *out);

#endif
