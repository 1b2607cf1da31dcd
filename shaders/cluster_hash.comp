#version 450
// Clustered attention's query codes (SCHEMES.md §9) from the products x·w_b the matrix
// product wrote (`proj`: B4 vec4 per query; row Nq of each slice holds the planes' norms
// |w_b|, written by PASS 0). PASS 1, one invocation per query: bit b of the code is
// (x·w_b + w_b[D] > 0) (a hyperplane with its offset: Hamming distance then follows
// Euclidean distance), and the query's first cluster, i·C/Nq (contiguous blocks). A sign
// taken in f32 near 0 could differ from the definition's (a double product), so a bit whose
// value lies within the f32 error bound (γ·|x|·|w_b| for the product, and the sum's
// rounding) is decided again with compensated products (Dot2, hashing.glsl). A code is an
// int row (low 32 bits, high bits, cluster, 0): cluster_update/assign/means and bucket_sort
// read the cluster in place.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "hashing.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;   // vec4 per query row
layout(constant_id = 2) const uint B4 = 16;   // vec4 per projection row: ceil(bits / 4)
layout(constant_id = 3) const uint PASS = 1;  // 0: the planes' norms, 1: the codes

VKA_TENSOR_INOUT(0, proj) // [Nq + 1, B4 · 4] per slice
VKA_TENSOR_IN(1, q)
VKA_TENSOR_IN(2, planes)  // [bits, D + 1]: rows of P4 vec4
layout(std430, set = 0, binding = 3) writeonly buffer Codes { ivec4 codes[]; };

layout(push_constant) uniform cluster_hash_push {
    VKA_PUSH_HEADER
    uint nq;
    uint d;
    uint bits;
    uint p4;       // vec4 per plane row: ceil((D + 1) / 4)
    uint clusters;
} pc;

#pragma vka_loops(PASS < 1 ? pc.d + 1 : B4 + 40)

float plane(uint b, uint i)
{
    return planes(b * pc.p4 + i / 4u)[i % 4u];
}

// |w_b| over the D weights (not the offset), for bits 4·b4 .. 4·b4 + 3.
void plane_norms(uint slice, uint b4)
{
    vec4 sum = vec4(0.0);
    for (uint i = 0; i < pc.d; i++)
        [[unroll]] for (uint e = 0; e < 4u; e++) {
            const float w = 4u * b4 + e < pc.bits ? plane(4u * b4 + e, i) : 0.0;
            sum[e] += w * w;
        }
    proj_store(slice * pc.slice_stride[0] + pc.nq * B4 + b4, sqrt(sum));
}

// Unrolled over the head dim (D4 is a constant): no loop budget spent per element.
bool side_exact(uint row, uint b)
{
    vka_dot2 acc = vka_dot2_add(vka_dot2_begin(), plane(b, pc.d), 1.0);
    [[unroll]] for (uint c = 0; c < D4; c++) {
        const vec4 x = q(row + c);
        [[unroll]] for (uint e = 0; e < 4u; e++)
            if (4u * c + e < pc.d)
                acc = vka_dot2_add(acc, x[e], plane(b, 4u * c + e));
    }
    return vka_dot2_value(acc) > 0.0;
}

// floor(a·b / d) for a < d, exactly: the 64-bit product divided bit by bit.
uint mul_div(uint a, uint b, uint d)
{
    uint high, low;
    umulExtended(a, b, high, low);
    uint quotient = 0u, rest = high;
    for (int bit = 31; bit >= 0; bit--) {
        const bool carry = (rest >> 31) != 0u;
        rest = (rest << 1) | ((low >> uint(bit)) & 1u);
        quotient <<= 1;
        if (carry || rest >= d) {
            rest -= d;
            quotient |= 1u;
        }
    }
    return quotient;
}

void main()
{
    const uint i = gl_GlobalInvocationID.x, slice = gl_WorkGroupID.z;
    if (PASS == 0u) {
        if (i < B4)
            plane_norms(slice, i);
        return;
    }
    if (i >= pc.nq)
        return;
    const uint row = slice * pc.slice_stride[1] + i * D4;
    float norm2 = 0.0;
    [[unroll]] for (uint c = 0; c < D4; c++)
        norm2 += dot(q(row + c), q(row + c));
    const float gamma = 1.2e-7 * float(pc.d + 2u) * sqrt(norm2);
    const uint at = slice * pc.slice_stride[0] + i * B4, norms_at = slice * pc.slice_stride[0] + pc.nq * B4;
    uvec2 code = uvec2(0u);
    for (uint b4 = 0; b4 < B4; b4++) {
        const vec4 p = proj(at + b4), norm = proj(norms_at + b4);
        [[unroll]] for (uint e = 0; e < 4u; e++) {
            const uint b = 4u * b4 + e;
            if (b >= pc.bits)
                continue;
            const float offset = plane(b, pc.d), value = p[e] + offset;
            const float margin = gamma * norm[e] + 2.4e-7 * (abs(p[e]) + abs(offset));
            if (abs(value) > margin ? value > 0.0 : side_exact(row, b))
                code[b / 32u] |= 1u << (b % 32u);
        }
    }
    codes[slice * pc.slice_stride[3] + i] = ivec4(code, int(mul_div(i, pc.clusters, pc.nq)), 0);
}
