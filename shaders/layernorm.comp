#version 450
// Layer normalisation over the last axis, one row per invocation:
//   y = (x − mean) / sqrt(var + eps) · gamma + beta      (var: the biased variance)
// Two passes over the row (mean, then the squared deviations), the first shifted by the
// row's first element, keep mean and variance accurate when |mean| ≫ std. Padding lanes are skipped in the sums and written as 0.
// Loops: 3 · ROW_VEC4 (llvmpipe's loop budget, flash_attn_cpu.comp).

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool AFFINE = true;

VKA_TENSOR_IN(0, x)
VKA_TENSOR_IN(1, gamma)
VKA_TENSOR_IN(2, beta)
VKA_TENSOR_OUT(3, y)

layout(push_constant) uniform layernorm_push {
    VKA_PUSH_HEADER
    uint rows;     // per slice
    uint row_vec4;
    uint width;    // elements per row
    float eps;
} pc;

// Loop budget (tools/kernel_interface.py): three passes over a row of row_vec4.
#pragma vka_loops(3 * pc.row_vec4 + 1)

vec4 live_lanes(uint c)
{
    return vec4(lessThan(uvec4(4 * c) + uvec4(0, 1, 2, 3), uvec4(pc.width)));
}

void main()
{
    const uint row = gl_GlobalInvocationID.x;
    if (row >= pc.rows)
        return;
    const uint slice = gl_WorkGroupID.z;
    const uint in_base = slice * pc.slice_stride[0] + row * pc.row_vec4;
    const uint out_base = slice * pc.slice_stride[3] + row * pc.row_vec4;
    // The mean of x − x₀ (x₀ the row's first element): near a large common offset those
    // differences are exact, and summing them loses far less than summing x.
    const float shift = x(in_base).x;
    vec4 sum = vec4(0.0);
    for (uint c = 0; c < pc.row_vec4; c++)
        sum += (x(in_base + c) - shift) * live_lanes(c);
    const float mean = shift + (sum.x + sum.y + sum.z + sum.w) / float(pc.width);
    vec4 squares = vec4(0.0);
    for (uint c = 0; c < pc.row_vec4; c++) {
        const vec4 d = (x(in_base + c) - mean) * live_lanes(c);
        squares += d * d;
    }
    const float inv_std = inversesqrt((squares.x + squares.y + squares.z + squares.w) / float(pc.width) + pc.eps);
    for (uint c = 0; c < pc.row_vec4; c++) {
        vec4 v = (x(in_base + c) - mean) * inv_std;
        if (AFFINE)
            v = v * gamma(c) + beta(c);
        y_store(out_base + c, v * live_lanes(c));
    }
}
