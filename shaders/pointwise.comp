#version 450
// Element-wise building blocks, one vec4 per invocation: MODE 0 gelu (the exact erf
// form), 1 relu, 2 softplus, 3 add (a + b, same shapes), 4 bias (a + b, b one row
// added to every row: bound whole). Rows keep their zero padding:
// lanes past the last axis's width are written as 0 whatever f(0) is (softplus(0) ≠ 0),
// since other kernels run dot products over the padding.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MODE = 0;

layout(std430, set = 0, binding = 0) readonly buffer A { vec4 a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { vec4 b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer O { vec4 o[]; };

layout(push_constant) uniform Push {
    VKA_PUSH_HEADER
    uint count;    // vec4 per slice
    uint row_vec4; // vec4 per row
    uint width;    // elements per row (the last axis)
} pc;

// erf by Abramowitz & Stegun 7.1.26: |error| < 1.5e-7. GLSL has no erf.
vec4 erf4(vec4 x)
{
    const vec4 ax = abs(x);
    const vec4 t = 1.0 / (1.0 + 0.3275911 * ax);
    const vec4 poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    // exp(−x²) underflows to a denormal past |x| ≈ 9.4, slow on CPUs: it is 0 there.
    const vec4 e = mix(exp(-ax * ax), vec4(0.0), greaterThan(ax, vec4(9.0)));
    return sign(x) * (1.0 - poly * e);
}

vec4 apply(vec4 x, vec4 y)
{
    if (MODE == 0)
        return 0.5 * x * (1.0 + erf4(x * 0.70710678118654752));
    if (MODE == 1)
        return max(x, vec4(0.0));
    if (MODE == 2) {
        // max(x, 0) + log(1 + e^−|x|); e^−|x| is 0 past 80 (no denormals).
        const vec4 ax = abs(x);
        return max(x, vec4(0.0)) + log(1.0 + mix(exp(-ax), vec4(0.0), greaterThan(ax, vec4(80.0))));
    }
    return x + y; // add, bias
}

void main()
{
    const uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
                   gl_LocalInvocationID.x;
    if (i >= pc.count)
        return;
    const uint slice = gl_WorkGroupID.z;
    const vec4 x = a[slice * pc.slice_stride[0] + i];
    const vec4 y = MODE == 3 ? b[slice * pc.slice_stride[1] + i] : MODE == 4 ? b[i % pc.row_vec4] : vec4(0.0);
    const uint col = (i % pc.row_vec4) * 4;
    const bvec4 live = lessThan(uvec4(col) + uvec4(0, 1, 2, 3), uvec4(pc.width));
    o[slice * pc.slice_stride[2] + i] = mix(vec4(0.0), apply(x, y), live);
}
