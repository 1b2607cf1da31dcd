#version 450
// Split-K's second pass: a query row's result from its key ranges' partial rows (the
// flash kernels with key_split > 0, flash_attn_interface.glsl): with M the largest of the
// ranges' references m_s (log2 units), O = Σ_s 2^(m_s − M) acc_s / Σ_s 2^(m_s − M) l_s.
// A range that saw no key has l_s = 0 and weighs nothing; a row that saw none outputs 0.
// One vec4 of the output per invocation.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

VKA_TENSOR_IN(0, partial)
VKA_TENSOR_OUT(1, o)

layout(push_constant) uniform flash_merge_push {
    VKA_PUSH_HEADER
    uint nq;
    uint dv4;   // vec4 per output row
    uint splits;
} pc;

// Two passes over the splits: their largest reference, then the weighted sums.
#pragma vka_loops(2 * pc.splits + 2)

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.nq * pc.dv4)
        return;
    const uint slice = gl_WorkGroupID.z, row = i / pc.dv4, c = i % pc.dv4;
    const uint stride = pc.dv4 + 1u; // a partial row: the accumulator, then (m, l, 0, 0)
    const uint base = slice * pc.slice_stride[0];
    float top = VKA_NEG_BIG;
    for (uint s = 0; s < pc.splits; s++) {
        const vec4 stats = partial(base + (s * pc.nq + row) * stride + pc.dv4);
        if (stats.y > 0.0)
            top = max(top, stats.x);
    }
    float l = 0.0;
    vec4 acc = vec4(0.0);
    for (uint s = 0; s < pc.splits; s++) {
        const uint at = base + (s * pc.nq + row) * stride;
        const vec4 stats = partial(at + pc.dv4);
        if (stats.y > 0.0) {
            const float w = exp2(stats.x - top);
            l += stats.y * w;
            acc += partial(at + c) * w;
        }
    }
    o_store(slice * pc.slice_stride[1] + row * pc.dv4 + c, l > 0.0 ? acc / l : vec4(0.0));
}
