#version 450
// The gated recurrent forms of SCHEMES.md §10 as a scan over tokens: per [batch, head]
// a state S (D × Dv) and, for each token t,
//   gla        S = diag(α_t) S + k_t v_tᵀ,              α_t = exp(g_t) ∈ (0, 1]^D
//   retention  S = γ_h S + k_t v_tᵀ                     (gla with a constant decay)
//   deltanet   S = α_t (S − β_t k_t (k_tᵀ S)) + β_t k_t v_tᵀ,  α_t = exp(g_t), q, k
//              L2-normalised when qk_l2norm
//   o_t = scale · Sᵀ q_t.
// One invocation per [batch, head] and vec4 of value columns: it holds those 4 columns of
// S (D vec4) in registers and walks the dispatch's tokens in order; every invocation of a
// slice reads the same token rows (the caches serve them). The state starts at 0
// (`fresh`) or from the state tensor, and is written back after the last token: a run
// longer than the loop budget is several dispatches, and decoding keeps it across runs.
// Tokens at or past kv_len[b] leave the state as it is (their outputs read it).
//
// Bindings stay within four storage buffers (android-2021): each token's q, k, v (and
// gla's gates) are one packed row of `x`, copied side by side by the lowering; deltanet's
// per-token g and β are two rows of `scalars` per slice.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 4;     // vec4 per q / k row
layout(constant_id = 2) const uint KV_VEC4 = 1;
layout(constant_id = 3) const uint GAMMA_VEC4 = 1;
// The form, a constant so each pipeline holds one of the three updates (llvmpipe compiles
// the unrolled D-long loops of all three for minutes at D = 128 when it is a push field).
layout(constant_id = 4) const uint KIND = 0; // 0 gla, 1 retention, 2 deltanet

VKA_TENSOR_IN(0, x)                // per slice, per token: q (D4) | k (D4) | v (dv4) | gla: gates (D4)
VKA_TENSOR_IN(1, scalars)          // deltanet: per batch (bound with divisor heads), H rows of g_t, H rows of β_t
VKA_TENSOR_OUT(2, o)               // per slice, per token: dv4 vec4
layout(std430, set = 0, binding = 3) buffer State { vec4 state[]; }; // per slice: D rows of dv4 vec4 (f32)
layout(std140, set = 0, binding = 4) uniform KvLen { ivec4 kv_len[KV_VEC4]; };
layout(std140, set = 0, binding = 5) uniform Gamma { vec4 gamma[GAMMA_VEC4]; }; // retention: γ per head

layout(push_constant) uniform gated_scan_push {
    VKA_PUSH_HEADER
    uint t0;       // the dispatch's first token
    uint n;        // its tokens
    uint n_all;    // tokens per slice in x, o and scalars
    uint dv4;      // vec4 of value columns
    uint x_width;  // vec4 per packed row
    uint heads;
    uint fresh;    // 1: the state starts at 0 (else: read it)
    uint qk_l2norm;
    float scale;
} pc;

// The token loop, plus the state's read and write (D iterations each, not unrolled).
#pragma vka_loops(pc.n + 2 * 4 * D4 + 2)

const uint GLA = 0u, RETENTION = 1u, DELTANET = 2u;

void main()
{
    const uint cg = gl_GlobalInvocationID.x; // the vec4 of value columns
    if (cg >= pc.dv4)
        return;
    const uint slice = gl_WorkGroupID.z, global = pc.slice_base + slice;
    const uint batch = global / pc.heads, head = global % pc.heads;
    const int kvl = VKA_KV_LEN(kv_len, batch);
    const uint x_base = slice * pc.slice_stride[0];
    const uint s_base = VKA_GROUP_SLICE(slice, pc.heads) * pc.slice_stride[1], n4 = (pc.n_all + 3u) / 4u;
    const uint o_base = slice * pc.slice_stride[2], st_base = slice * pc.slice_stride[3];
    const uint D = D4 * 4u;

    vec4 S[D4 * 4];
    for (uint d = 0; d < D; d++)
        S[d] = pc.fresh != 0u ? vec4(0.0) : state[st_base + d * pc.dv4 + cg];
    const float decay = KIND == RETENTION ? gamma[head >> 2][head & 3u] : 1.0;

    for (uint t = pc.t0; t < pc.t0 + pc.n; t++) {
        const uint row = x_base + t * pc.x_width;
        vec4 q4[D4], k4[D4];
        [[unroll]] for (uint c = 0; c < D4; c++) {
            q4[c] = x(row + c);
            k4[c] = x(row + D4 + c);
        }
        if (int(t) < kvl) {
            const vec4 v = x(row + 2u * D4 + cg);
            if (KIND == GLA) {
                [[unroll]] for (uint c = 0; c < D4; c++) {
                    const vec4 alpha = exp(x(row + 2u * D4 + pc.dv4 + c));
                    [[unroll]] for (uint e = 0; e < 4u; e++)
                        S[c * 4u + e] = alpha[e] * S[c * 4u + e] + k4[c][e] * v;
                }
            } else if (KIND == RETENTION) {
                [[unroll]] for (uint c = 0; c < D4; c++)
                    [[unroll]] for (uint e = 0; e < 4u; e++)
                        S[c * 4u + e] = decay * S[c * 4u + e] + k4[c][e] * v;
            } else {
                const uint sc = s_base + head * n4 + t / 4u, sb = s_base + (pc.heads + head) * n4 + t / 4u;
                const float alpha = exp(scalars(sc)[t & 3u]), beta = scalars(sb)[t & 3u];
                if (pc.qk_l2norm != 0u) {
                    float kk = 0.0, qq = 0.0;
                    [[unroll]] for (uint c = 0; c < D4; c++) {
                        kk += dot(k4[c], k4[c]);
                        qq += dot(q4[c], q4[c]);
                    }
                    const float ik = kk > 0.0 ? inversesqrt(kk) : 0.0, iq = qq > 0.0 ? inversesqrt(qq) : 0.0;
                    [[unroll]] for (uint c = 0; c < D4; c++) {
                        k4[c] *= ik;
                        q4[c] *= iq;
                    }
                }
                vec4 u = vec4(0.0); // kᵀ S, for these 4 columns
                [[unroll]] for (uint c = 0; c < D4; c++)
                    [[unroll]] for (uint e = 0; e < 4u; e++)
                        u += k4[c][e] * S[c * 4u + e];
                [[unroll]] for (uint c = 0; c < D4; c++)
                    [[unroll]] for (uint e = 0; e < 4u; e++)
                        S[c * 4u + e] = alpha * (S[c * 4u + e] - beta * k4[c][e] * u) + beta * k4[c][e] * v;
            }
        } else if (KIND == DELTANET && pc.qk_l2norm != 0u) { // a query past kv_len: normalised too
            float qq = 0.0;
            [[unroll]] for (uint c = 0; c < D4; c++)
                qq += dot(q4[c], q4[c]);
            const float iq = qq > 0.0 ? inversesqrt(qq) : 0.0;
            [[unroll]] for (uint c = 0; c < D4; c++)
                q4[c] *= iq;
        }
        vec4 result = vec4(0.0);
        [[unroll]] for (uint c = 0; c < D4; c++)
            [[unroll]] for (uint e = 0; e < 4u; e++)
                result += q4[c][e] * S[c * 4u + e];
        o_store(o_base + t * pc.dv4 + cg, result * pc.scale);
    }
    for (uint d = 0; d < D; d++)
        state[st_base + d * pc.dv4 + cg] = S[d];
}
