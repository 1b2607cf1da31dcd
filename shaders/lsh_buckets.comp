#version 450
// Reformer's buckets (SCHEMES.md §9) from the projections x·R the matrix product wrote
// (`proj`: per token, the rounds' H4 vec4 one after another; row N of each slice holds
// the rotation columns' norms, written by PASS 0). PASS 1, one invocation per token: per
// round the bucket argmax([xR, −xR]), the first of equal maxima. An argmax taken near a
// tie in f32 could differ from the definition's (a double product) and move the token's
// whole row, so the decision is checked: each projection is within γ·|x|·|r_t| of the
// exact one (γ for a sum of D f32 products, any order), and when a rival could reach the
// winner within those bounds the round is redone with compensated products (Dot2: exact
// products by fma, exact sums; hashing.glsl) from the exact queries (lsh_keys' rows).
// Tokens at or past kv_len[b] are padding: bucket `buckets`, after all others, so the
// valid tokens sort and chunk exactly as the shorter sequence would.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "hashing.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;
layout(constant_id = 2) const uint H4 = 4;      // vec4 per round in a projection row
layout(constant_id = 3) const uint KV_VEC4 = 1; // ivec4 entries of the kv_len table
layout(constant_id = 4) const uint PASS = 1;    // 0: the columns' norms, 1: the buckets

VKA_TENSOR_INOUT(0, proj) // [N + 1, rounds · H4 · 4] per slice
VKA_TENSOR_IN(1, keys)    // lsh_keys' rows: q, then vec4(|q|, 1/|q|, 0, 0)
VKA_TENSOR_IN(2, rotations) // [rounds · D, buckets / 2]: rows of H4 vec4
layout(std430, set = 0, binding = 3) writeonly buffer Buckets { int buckets[]; }; // [rounds, N] per slice
layout(std140, set = 0, binding = 4) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform lsh_buckets_push {
    VKA_PUSH_HEADER
    uint n;
    uint d;
    uint half_buckets;
    uint rounds;
    uint heads;
} pc;

#pragma vka_loops(PASS < 1 ? pc.d + 1 : pc.rounds * (2 * H4 + 2 * pc.half_buckets + 1) + 1)

float rotation(uint round, uint i, uint t)
{
    return rotations((round * pc.d + i) * H4 + t / 4u)[t % 4u];
}

// The four columns 4·t4 .. 4·t4 + 3 of a round: their norms.
void column_norms(uint slice, uint at)
{
    const uint round = at / H4, t4 = at % H4;
    vec4 sum = vec4(0.0);
    for (uint i = 0; i < pc.d; i++) {
        const vec4 r = rotations((round * pc.d + i) * H4 + t4);
        sum += r * r;
    }
    proj_store(slice * pc.slice_stride[0] + pc.n * pc.rounds * H4 + at, sqrt(sum));
}

// Unrolled over the head dim (D4 is a constant): the rare exact pass spends none of the loop
// budget per element, so many buckets stay within it.
float projection_exact(uint row, uint round, uint t)
{
    vka_dot2 acc = vka_dot2_begin();
    [[unroll]] for (uint c = 0; c < D4; c++) {
        const vec4 x = keys(row + c);
        [[unroll]] for (uint e = 0; e < 4u; e++)
            if (4u * c + e < pc.d)
                acc = vka_dot2_add(acc, x[e], rotation(round, 4u * c + e, t));
    }
    return vka_dot2_value(acc);
}

uint bucket_of(uint slice, uint token, uint round, uint row, float x_norm)
{
    const uint at = slice * pc.slice_stride[0] + token * pc.rounds * H4 + round * H4;
    const uint norms_at = slice * pc.slice_stride[0] + pc.n * pc.rounds * H4 + round * H4;
    const float gamma = 1.2e-7 * float(pc.d + 2u) * x_norm;
    float best = VKA_NEG_BIG, best_error = 0.0;
    uint arg = 0;
    for (uint t4 = 0; t4 < H4; t4++) {
        const vec4 p = proj(at + t4), norm = proj(norms_at + t4);
        [[unroll]] for (uint e = 0; e < 4u; e++) {
            const uint t = 4u * t4 + e;
            if (t < pc.half_buckets && abs(p[e]) > best) {
                best = abs(p[e]);
                best_error = gamma * norm[e];
                arg = p[e] >= 0.0 ? t : t + pc.half_buckets;
            }
        }
    }
    bool near = false; // could a rival reach the winner within the bounds?
    for (uint t4 = 0; t4 < H4; t4++) {
        const vec4 p = proj(at + t4), norm = proj(norms_at + t4);
        [[unroll]] for (uint e = 0; e < 4u; e++) {
            const uint t = 4u * t4 + e;
            const float error = gamma * norm[e];
            // each column is two candidates, ±p: the one that is not the winner
            const bool rival_pos = t < pc.half_buckets && t != arg && p[e] + error >= best - best_error;
            const bool rival_neg = t < pc.half_buckets && t + pc.half_buckets != arg && -p[e] + error >= best - best_error;
            near = near || rival_pos || rival_neg;
        }
    }
    if (!near)
        return arg;
    best = VKA_NEG_BIG;
    for (uint t = 0; t < 2u * pc.half_buckets; t++) { // in the definition's order: ties keep the first
        const float p = projection_exact(row, round, t % pc.half_buckets);
        const float value = t < pc.half_buckets ? p : -p;
        if (value > best) {
            best = value;
            arg = t;
        }
    }
    return arg;
}

void main()
{
    const uint i = gl_GlobalInvocationID.x, slice = gl_WorkGroupID.z;
    if (PASS == 0u) {
        if (i < pc.rounds * H4)
            column_norms(slice, i);
        return;
    }
    if (i >= pc.n)
        return;
    const uint global = pc.slice_base + slice, row = slice * pc.slice_stride[1] + i * (D4 + 1u);
    const bool padding = int(i) >= VKA_KV_LEN(kv_len, global / pc.heads);
    const float x_norm = keys(row + D4).x;
    const uint base = slice * pc.slice_stride[3] * 4u;
    for (uint round = 0; round < pc.rounds; round++)
        buckets[base + round * pc.n + i] = padding ? int(2u * pc.half_buckets) : int(bucket_of(slice, i, round, row, x_norm));
}
