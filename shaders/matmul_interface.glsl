// The matrix-product kernels' interface, shared by both classes (matmul_cpu.comp,
// matmul_gpu.comp): A, B, C, the epilogue's binding 3 (matmul_epilogue.glsl) and the push
// block engine/lowering/matmul.c writes by name (vka_matmul_push).

VKA_TENSOR_IN(0, a)
VKA_TENSOR_IN(1, b)
VKA_TENSOR_INOUT(2, c)

layout(push_constant) uniform matmul_push {
    VKA_PUSH_HEADER
    uint m;
    uint n;
    uint k;
    float alpha;
    uint lda;      // vec4 from one row of A to the next
    uint ldb;      // of B (rows of length K when TRANS_B, else N)
    uint ldc;      // of C
    uint b_offset; // vec4 from the start of B's slice to B
    uint c_offset; // and of C's
    // Groups (gl_WorkGroupID.y): group g multiplies rows [g·m, g·m + m) of A by B number
    // clamp(g + b_group_base, 0, b_group_last); rows at or past m_total do not exist.
    uint a_group_stride;
    uint b_group_stride;
    uint c_group_stride;
    int b_group_base;
    uint b_group_last;
    uint m_total;
    uint epilogue; // matmul_epilogue.glsl: activation, bias, accumulate, key limit
    uint heads;    // slices per batch, for the key limit
    uint k_base;   // the first key of this chunk, for the key limit
    uint a_offset; // vec4 from the start of A's slice to A
    uint a_divisor; // > 1: one A per `a_divisor` slices (a [batch] tensor beside [batch, head] slices)
    uint b_divisor; // > 1: one B per `b_divisor` slices (grouped k/v heads)
    float diagonal; // added where row = column (cI − AB: the Nyström pseudo-inverse)
} pc;

#include "matmul_epilogue.glsl"
