#version 450
// Improved clustered attention's selection (SCHEMES.md §9), one workgroup per cluster: the
// topk keys with the largest centroid logits (ties: the lower index), found by a radix
// select — three passes of an 11/11/10-bit histogram over the logits' order-preserving bits
// narrow down the k-th largest; a last pass gathers, in key order, every key above it and
// as many equal to it as are still wanted. The logits come from a matrix product
// (`scores`: per cluster a row of its Nk scaled logits), read four keys to a vec4; no pass
// computes a dot product. The cluster's row of `selection` (f32):
//   its centroid's output (DV4 vec4, copied from the flash kernel's), the keys' indices
//   (K4 vec4, as floats: exact below 2^24), their centroid weights A_j = e^(s_j − m) / l
//   (K4 vec4), then vec4(mass = Σ A_j over them, how many, 0, 0).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DV4 = 16;
layout(constant_id = 2) const uint K4 = 8;      // ceil(topk / 4)
layout(constant_id = 3) const uint KV_VEC4 = 1; // ivec4 entries of the kv_len table

VKA_TENSOR_IN(0, scores) // [C, Nk] per slice: rows of NK4 vec4
VKA_TENSOR_IN(1, centroid_out)
layout(std430, set = 0, binding = 2) writeonly buffer Selection { float selection[]; };
layout(std140, set = 0, binding = 3) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform cluster_topk_push {
    VKA_PUSH_HEADER
    uint nk;
    uint nk4; // vec4 per scores row
    uint heads;
    uint topk;
} pc;

#pragma vka_workgroup_size(64)
// Loop budget: four passes over the key vec4, the gathering tiles with their two scans,
// lane 0's digit searches, the clearing of the histogram and the selection's slots.
#pragma vka_loops(17 * div_up(pc.nk4, 64) + 3 * 2048 + 3 * 32 + 4 * K4 + DV4 + 3 * 64 + 8)
#pragma vka_shared_bytes(4 * 2048 + 4 * 64 * 4 + 16)

const uint LANES = 64u;
shared uint histogram[2048];
shared float lane_max[LANES], lane_sum[LANES];
shared uint scan_a[LANES], scan_b[LANES];
shared uint chosen_digit, still_wanted;

// Larger logits give larger keys.
uint order_key(float s)
{
    const uint u = floatBitsToUint(s);
    return (u & 0x80000000u) != 0u ? ~u : u | 0x80000000u;
}

// Inclusive scan of scan_a over the lanes (Hillis–Steele), in place.
void scan_lanes(uint lane)
{
    for (uint step = 1u; step < LANES; step *= 2u) {
        const uint add = lane >= step ? scan_a[lane - step] : 0u;
        barrier();
        scan_a[lane] += add;
        barrier();
    }
}

void main()
{
    const uint c = gl_WorkGroupID.x, lane = gl_LocalInvocationID.x, slice = gl_WorkGroupID.z;
    const uint limit = min(uint(max(VKA_KV_LEN(kv_len, (pc.slice_base + slice) / pc.heads), 0)), pc.nk);
    const uint limit4 = (limit + 3u) / 4u, row_at = slice * pc.slice_stride[0] + c * pc.nk4;

    // The centroid's softmax statistics.
    float m = VKA_NEG_BIG, l = 0.0;
    for (uint j4 = lane; j4 < limit4; j4 += LANES) {
        const vec4 s = scores(row_at + j4);
        [[unroll]] for (uint e = 0; e < 4u; e++)
            if (4u * j4 + e < limit) {
                const float top = max(m, s[e]);
                l = l * exp(m - top) + exp(s[e] - top);
                m = top;
            }
    }
    lane_max[lane] = m;
    lane_sum[lane] = l;
    barrier();
    m = VKA_NEG_BIG;
    for (uint i = 0; i < LANES; i++)
        m = max(m, lane_max[i]);
    l = 0.0;
    for (uint i = 0; i < LANES; i++)
        l += lane_sum[i] * exp(lane_max[i] - m);

    // The k-th largest key, 11 + 11 + 10 bits at a time.
    const uint want = min(pc.topk, limit);
    uint prefix = 0u, prefix_mask = 0u, wanted = want;
    for (uint pass = 0; pass < 3u; pass++) {
        const uint shift = pass == 0u ? 21u : (pass == 1u ? 10u : 0u), width = pass == 2u ? 10u : 11u;
        const uint digits = 1u << width;
        for (uint i = lane; i < 2048u; i += LANES)
            histogram[i] = 0u;
        barrier();
        for (uint j4 = lane; j4 < limit4 && wanted > 0u; j4 += LANES) {
            const vec4 s = scores(row_at + j4);
            [[unroll]] for (uint e = 0; e < 4u; e++) {
                const uint key = order_key(s[e]);
                if (4u * j4 + e < limit && (key & prefix_mask) == prefix)
                    atomicAdd(histogram[(key >> shift) & (digits - 1u)], 1u);
            }
        }
        barrier();
        if (lane == 0u) {
            uint above = 0u, digit = 0u;
            for (int d = int(digits) - 1; d >= 0 && wanted > 0u; d--) {
                if (above + histogram[d] >= wanted) {
                    digit = uint(d);
                    break;
                }
                above += histogram[d];
            }
            chosen_digit = digit;
            still_wanted = wanted - above;
        }
        barrier();
        prefix |= chosen_digit << shift;
        prefix_mask |= (digits - 1u) << shift;
        wanted = still_wanted;
        barrier();
    }

    // Gather in key order, four keys per lane and tile: every key above the threshold, and
    // the first `wanted` equal to it.
    const uint row = slice * pc.slice_stride[2] * 4u + c * 4u * (DV4 + 2u * K4 + 1u);
    const uint index_at = row + 4u * DV4, weight_at = index_at + 4u * K4;
    uint taken = 0u, equal_taken = 0u;
    float mass = 0.0;
    for (uint tile = 0; tile < limit4 && want > 0u; tile += LANES) {
        const uint j4 = tile + lane;
        const vec4 s = j4 < limit4 ? scores(row_at + j4) : vec4(VKA_NEG_BIG);
        bool above[4], equal[4];
        uint equal_count = 0u;
        [[unroll]] for (uint e = 0; e < 4u; e++) {
            const bool exists = 4u * j4 + e < limit;
            const uint key = order_key(s[e]);
            above[e] = exists && key > prefix;
            equal[e] = exists && key == prefix;
            equal_count += equal[e] ? 1u : 0u;
        }
        scan_a[lane] = equal_count;
        barrier();
        scan_lanes(lane);
        uint equal_before = equal_taken + scan_a[lane] - equal_count, chosen_count = 0u;
        bool chosen[4];
        [[unroll]] for (uint e = 0; e < 4u; e++) {
            chosen[e] = above[e] || (equal[e] && equal_before < wanted);
            equal_before += equal[e] ? 1u : 0u;
            chosen_count += chosen[e] ? 1u : 0u;
        }
        const uint equal_here = scan_a[LANES - 1u];
        barrier();
        scan_a[lane] = chosen_count;
        barrier();
        scan_lanes(lane);
        uint slot = taken + scan_a[lane] - chosen_count;
        [[unroll]] for (uint e = 0; e < 4u; e++)
            if (chosen[e]) {
                const float w = exp(s[e] - m) / l;
                selection[index_at + slot] = float(4u * j4 + e);
                selection[weight_at + slot] = w;
                mass += w;
                slot++;
            }
        taken += scan_a[LANES - 1u];
        equal_taken += equal_here;
        barrier();
    }
    lane_sum[lane] = mass;
    for (uint i = taken + lane; i < 4u * K4; i += LANES) { // unused slots: key 0 with weight 0
        selection[index_at + i] = 0.0;
        selection[weight_at + i] = 0.0;
    }
    for (uint i = lane; i < DV4; i += LANES) {
        const vec4 value = centroid_out(slice * pc.slice_stride[1] + c * DV4 + i);
        [[unroll]] for (uint x = 0; x < 4u; x++)
            selection[row + 4u * i + x] = value[x];
    }
    barrier();
    if (lane == 0u) {
        float total = 0.0;
        for (uint i = 0; i < LANES; i++)
            total += lane_sum[i];
        const uint at = weight_at + 4u * K4;
        selection[at] = total;
        selection[at + 1u] = float(taken);
        selection[at + 2u] = 0.0;
        selection[at + 3u] = 0.0;
    }
}
