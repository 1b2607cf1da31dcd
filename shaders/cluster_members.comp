#version 450
// Improved clustered attention's members (SCHEMES.md §9), one invocation per query: on its
// cluster's top keys T, the query's own softmax scaled to the mass A(T) the centroid gave
// them replaces the centroid's weights there:
//   o_i = centroid output + Σ_{j∈T} (A(T) · softmax_T(q_i k_j · scale) − A_j) v_j.
// Its row (cluster_scatter.comp): q_i (D4 vec4), then its cluster's row of cluster_topk.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;
layout(constant_id = 2) const uint DV4 = 16;
layout(constant_id = 3) const uint K4 = 8;

VKA_TENSOR_IN(0, rows)
VKA_TENSOR_IN(1, k)
VKA_TENSOR_IN(2, v)
VKA_TENSOR_OUT(3, o)

layout(push_constant) uniform cluster_members_push {
    VKA_PUSH_HEADER
    uint nq;
    uint kv_group; // query heads per k/v head
    float scale;
} pc;

#pragma vka_loops(4 * K4 + 1)

vec4 own[DV4], centroid_part[DV4];

void main()
{
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.nq)
        return;
    const uint slice = gl_WorkGroupID.z, width = D4 + DV4 + 2u * K4 + 1u;
    const uint row = slice * pc.slice_stride[0] + i * width, kv = VKA_GROUP_SLICE(slice, pc.kv_group);
    const uint k_base = kv * pc.slice_stride[1], v_base = kv * pc.slice_stride[2];
    const uint out_at = row + D4, index_at = out_at + DV4, weight_at = index_at + K4;
    const vec4 stats = rows(weight_at + K4);
    const float mass = stats.x;
    const uint count = uint(stats.y);
    [[unroll]] for (uint c = 0; c < DV4; c++) {
        own[c] = vec4(0.0);
        centroid_part[c] = vec4(0.0);
    }
    float run_max = VKA_NEG_BIG, run_sum = 0.0;
    for (uint t = 0; t < count; t++) {
        const uint j = uint(rows(index_at + t / 4u)[t % 4u]);
        const float a = rows(weight_at + t / 4u)[t % 4u];
        float s = 0.0;
        [[unroll]] for (uint c = 0; c < D4; c++)
            s += dot(rows(row + c), k(k_base + j * D4 + c));
        s *= pc.scale;
        const float top = max(run_max, s), shrink = exp(run_max - top), w = exp(s - top);
        [[unroll]] for (uint c = 0; c < DV4; c++) {
            const vec4 value = v(v_base + j * DV4 + c);
            own[c] = own[c] * shrink + value * w;
            centroid_part[c] += value * a;
        }
        run_sum = run_sum * shrink + w;
        run_max = top;
    }
    const float scale_own = run_sum > 0.0 ? mass / run_sum : 0.0;
    [[unroll]] for (uint c = 0; c < DV4; c++)
        o_store(slice * pc.slice_stride[3] + i * DV4 + c, rows(out_at + c) + own[c] * scale_own - centroid_part[c]);
}
