#version 450
// Element-wise building blocks, one vec4 per invocation: MODE 0 gelu (the exact erf
// form), 1 relu, 2 softplus, 3 add (a + b, same shapes), 4 bias (a + b, b one row
// added to every row: bound whole), 5 sqrt(softplus). Rows keep their zero padding:
// lanes past the last axis's width are written as 0 whatever f(0) is (softplus(0) ≠ 0),
// since other kernels run dot products over the padding.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "activation.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MODE = 0;

VKA_TENSOR_IN(0, a)
VKA_TENSOR_IN(1, b)
VKA_TENSOR_OUT(2, o)

layout(push_constant) uniform pointwise_push {
    VKA_PUSH_HEADER
    uint count;    // vec4 per slice
    uint row_vec4; // vec4 per row
    uint width;    // elements per row (the last axis)
} pc;

// The planner's checks (tools/kernel_interface.py): loop iterations per invocation.
#pragma vka_loops(1)

vec4 apply(vec4 x, vec4 y)
{
    if (MODE <= 2)
        return vka_activation(x, MODE + 1); // gelu, relu, softplus
    if (MODE == 5)
        return vka_activation(x, 4u); // sqrt(softplus)
    return x + y;                           // add, bias
}

void main()
{
    const uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
                   gl_LocalInvocationID.x;
    if (i >= pc.count)
        return;
    const uint slice = gl_WorkGroupID.z;
    const vec4 x = a(slice * pc.slice_stride[0] + i);
    const vec4 y = MODE == 3 ? b(slice * pc.slice_stride[1] + i) : MODE == 4 ? b(i % pc.row_vec4) : vec4(0.0);
    const uint col = (i % pc.row_vec4) * 4;
    const bvec4 live = lessThan(uvec4(col) + uvec4(0, 1, 2, 3), uvec4(pc.width));
    o_store(slice * pc.slice_stride[2] + i, mix(vec4(0.0), apply(x, y), live));
}
