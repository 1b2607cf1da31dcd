/* Lowering element-wise work to pointwise.comp, for any family that needs it. */
#ifndef VKA_BLOCKS_POINTWISE_H
#define VKA_BLOCKS_POINTWISE_H

#include "graph/lower.h"

typedef enum vka_pointwise_mode { /* = pointwise.comp's MODE */
                                  VKA_POINTWISE_GELU,
                                  VKA_POINTWISE_RELU,
                                  VKA_POINTWISE_SOFTPLUS,
                                  VKA_POINTWISE_ADD,  /* a + b, same shapes */
                                  VKA_POINTWISE_BIAS, /* a + b, b one row of a's width added to every row */
                                  VKA_POINTWISE_SQRT_SOFTPLUS,
} vka_pointwise_mode;

typedef struct vka_pointwise_desc {
    vka_pointwise_mode mode;
    uint32_t a, b, out; /* plan tensors; b only for ADD and BIAS */
    uint32_t rank;      /* of a and out */
    uint32_t dims[VKA_MAX_RANK];
} vka_pointwise_desc;

vka_result vka_lower_pointwise(vka_lowering *lw, const vka_pointwise_desc *p);

#endif
