// The device's peak arithmetic rate (`vkattn roofline`, as vkpeak and clpeak measure it):
// each invocation runs `iterations` steps of eight independent vec4 multiply-adds,
//   c_j ← c_j·½ + x/2,   c_j starting at x·(j + 1)/8,
// so c_j = x + (c_j(0) − x)·2^−n: bounded, never denormal, and no compiler can fold the
// chains into a closed form it does not know the step count of. Eight chains of four lanes
// give every core enough independent work to hide the multiply-add's latency. The output,
// the chains' mean, is x·(1 − 0.4375·2^−n), which the double reference checks.
// The includer defines T (the scalar type the arithmetic runs in) and T4.

#include "common.glsl"

layout(local_size_x_id = 0) in;

VKA_TENSOR_IN(0, x)
VKA_TENSOR_OUT(1, o)

layout(push_constant) uniform fma_peak_push {
    VKA_PUSH_HEADER
    uint count;      // vec4 per slice
    uint iterations; // steps of the eight chains
} pc;

#pragma vka_loops(pc.iterations + 1)

void main()
{
    const uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
                   gl_LocalInvocationID.x;
    if (i >= pc.count)
        return;
    const uint slice = gl_WorkGroupID.z;
    const vec4 xv = x(slice * pc.slice_stride[0] + i);
    const T4 h = T4(xv * 0.5), half_ = T4(0.5);
    T4 c0 = T4(xv * 0.125), c1 = T4(xv * 0.25), c2 = T4(xv * 0.375), c3 = T4(xv * 0.5);
    T4 c4 = T4(xv * 0.625), c5 = T4(xv * 0.75), c6 = T4(xv * 0.875), c7 = T4(xv);
    for (uint n = 0; n < pc.iterations; n++) {
        c0 = fma(c0, half_, h);
        c1 = fma(c1, half_, h);
        c2 = fma(c2, half_, h);
        c3 = fma(c3, half_, h);
        c4 = fma(c4, half_, h);
        c5 = fma(c5, half_, h);
        c6 = fma(c6, half_, h);
        c7 = fma(c7, half_, h);
    }
    const vec4 sum = (vec4(c0) + vec4(c1) + vec4(c2) + vec4(c3)) + (vec4(c4) + vec4(c5) + vec4(c6) + vec4(c7));
    o_store(slice * pc.slice_stride[1] + i, sum * 0.125);
}
