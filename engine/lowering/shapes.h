/* Shape checks every operation family needs, with messages that name the tensor, the
 * axis and what it should have matched. */
#ifndef VKA_LOWERING_SHAPES_H
#define VKA_LOWERING_SHAPES_H

#include "graph/op.h"

/* The input in role `role` must have this rank and dtype (F32: any float, f32 or f16);
 * `layout` describes it for the message ("[batch, heads, tokens, head_dim]"). */
vka_result vka_expect_tensor(vka_op_build *b, int role, uint32_t rank, vka_dtype dtype, const char *layout);

/* Grouped heads (SCHEMES.md §Conventions): k (role 1) has H or a divisor of H heads, q's
 * (role 0) H; v (role 2) as many as k. *kv_heads gets k's. */
vka_result vka_expect_grouped_heads(vka_op_build *b, uint32_t *kv_heads);

/* q, k, v in roles 0, 1, 2: float32 [batch, heads, tokens, head_dim] each (their axes are
 * the family's to compare). */
vka_result vka_expect_qkv(vka_op_build *b);

/* The optional sinks input in role `role`: f32 [heads], q's (role 0) heads. */
vka_result vka_expect_sinks(vka_op_build *b, int role);

/* The optional additive mask in role `role`: [1 or batch, 1 or heads, nq, nk]; its leading
 * dims into *mask_batch, *mask_heads (0, 0 without one). */
vka_result vka_expect_mask(vka_op_build *b, int role, uint32_t batch, uint32_t heads, uint32_t nq, uint32_t nk,
                           uint32_t *mask_batch, uint32_t *mask_heads);

/* Axis `axis` of input `role` must equal axis `ref_axis` of input `ref_role`. */
typedef struct vka_axis_rule {
    int role;
    uint32_t axis;
    const char *axis_name;
    int ref_role;
    uint32_t ref_axis;
} vka_axis_rule;

vka_result vka_expect_axes(vka_op_build *b, const vka_axis_rule *rules, size_t count);

#endif
