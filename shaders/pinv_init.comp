#version 450
// The Nyström pseudo-inverse's starting point (SCHEMES.md §8), one workgroup per slice:
// Z₀ = Aᵀ / (max column sum · max row sum) of the m × m matrix A (absolute sums; A is a
// row softmax, so its row sums are 1 up to rounding). Each invocation sums every
// 64th row and column, the workgroup takes the maxima in shared memory, then writes Z₀.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
#pragma vka_workgroup_size(64) // the shared arrays hold one value per invocation

VKA_TENSOR_IN(0, a)
VKA_TENSOR_OUT(1, z)

layout(push_constant) uniform pinv_init_push {
    VKA_PUSH_HEADER
    uint m;
} pc;

// The planner's checks (tools/kernel_interface.py): a fixed 64-invocation workgroup per slice;
// per invocation m/64 columns of m, then m·m/4/64 writes of 4; two shared arrays of 64.
#pragma vka_loops(div_up(pc.m, 64) * (pc.m + 1) + 6 + div_up(pc.m * div_up(pc.m, 4), 64) * 5)
#pragma vka_shared_bytes(2 * 64 * 4)

shared float column_max[64];
shared float row_max[64];

float element(uint base, uint m4, uint i, uint j)
{
    return a(base + i * m4 + j / 4)[j % 4];
}

void main()
{
    const uint t = gl_LocalInvocationID.x, m = pc.m, m4 = (m + 3) / 4;
    const uint base = gl_WorkGroupID.z * pc.slice_stride[0], out_base = gl_WorkGroupID.z * pc.slice_stride[1];
    float cmax = 0.0, rmax = 0.0;
    for (uint j = t; j < m; j += 64) {
        float column = 0.0, row = 0.0;
        for (uint i = 0; i < m; i++) {
            column += abs(element(base, m4, i, j));
            row += abs(element(base, m4, j, i));
        }
        cmax = max(cmax, column);
        rmax = max(rmax, row);
    }
    column_max[t] = cmax;
    row_max[t] = rmax;
    barrier();
    for (uint stride = 32; stride > 0; stride /= 2) {
        if (t < stride) {
            column_max[t] = max(column_max[t], column_max[t + stride]);
            row_max[t] = max(row_max[t], row_max[t + stride]);
        }
        barrier();
    }
    const float inverse = 1.0 / (column_max[0] * row_max[0]);
    for (uint e = t; e < m * m4; e += 64) { // Z₀[i][j] = A[j][i] · inverse, row by vec4
        const uint i = e / m4, j0 = (e % m4) * 4;
        vec4 value = vec4(0.0);
        for (uint c = 0; c < 4; c++)
            if (j0 + c < m)
                value[c] = element(base, m4, j0 + c, i) * inverse;
        z_store(out_base + e, value);
    }
}
