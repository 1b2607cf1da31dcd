#version 450
// Kernel attention, causal outputs. Bottom-right aligned: query i sees keys
// j ≤ i + Nk − Nq, and j < kv_len. Query blocks of T rows are matched with key blocks so
// that every key the block's first row sees is in a prefix state; the matrix product
// (matmul.comp, grouped by query block) has already put φ(q_i)ᵀ·prefix into the
// numerators. This kernel adds the keys after the prefix that row i still sees — at most
// T − 1 of them, weighted directly — and divides by the normaliser:
//   M_i = max(M_prefix, s_j of those keys)
//   N_i = numerators_i·e^(M_prefix − M_i) + Σ_j φ(q_i)ᵀφ(k_j)·e^(s_j − M_i)·[v_j, 1]
//   O_i = N_i[:Dv] / (N_i[Dv] + eps·e^(−s_q − M_i))
// M_i never depends on keys row i cannot see. Invocations own ROWS consecutive rows of
// one query block and share each key's loads. Loops: 2·T (+ T·F4 when F4 > 32).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "kernel_state.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint F4 = 16;
layout(constant_id = 2) const uint DV4 = 16;
layout(constant_id = 3) const uint DV14 = 17;
layout(constant_id = 4) const uint ROWS = 2;
layout(constant_id = 5) const uint T = 64;
layout(constant_id = 6) const uint KV_VEC4 = 1;

VKA_TENSOR_IN(0, phi)
VKA_TENSOR_IN(1, v)
VKA_TENSOR_IN(2, scratch) // states, then numerators
VKA_TENSOR_OUT(3, o)
layout(std140, set = 0, binding = 4) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform kattn_causal_push {
    VKA_PUSH_HEADER
    uint nq;
    uint nk;
    uint heads;
    uint f;
    uint dv;
    uint nblocks;
    float eps;
    int slot_base;        // query block c reads the prefix state in slot clamp(c + slot_base, 0, nblocks)
    uint numerators_at;   // vec4 from the start of a scratch slice to the numerators
    uint kv_group;        // query heads per v head (grouped heads): v bound with that slice divisor
} pc;

// Loop budget (tools/kernel_interface.py): a row sees at most T − 1 keys past its prefix; two
// passes over them, each key's feature loop unrolled only for F4 ≤ 32.
#pragma vka_loops(2 * (T + ROWS) + (F4 > 32 ? (T + ROWS) * F4 : 0) + 2)

const uint FP4 = F4 + 1;
const bool CACHE_Q = F4 <= 32;

void main()
{
    const uint slice = gl_WorkGroupID.z;
    const uint row0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * ROWS;
    if (row0 >= pc.nq)
        return;
    const uint kvl = min(uint(max(VKA_KV_LEN(kv_len, (pc.slice_base + slice) / pc.heads), 0)), pc.nk);
    const uint q_base = slice * pc.slice_stride[0], k_base = q_base + pc.nq * FP4;
    const uint v_base = VKA_GROUP_SLICE(slice, pc.kv_group) * pc.slice_stride[1];
    const uint s_base = slice * pc.slice_stride[2];
    const int offset = int(pc.nk) - int(pc.nq);
    const uint block = row0 / T;
    const uint slot = uint(clamp(int(block) + pc.slot_base, 0, int(pc.nblocks)));
    const float m_prefix = scratch(s_base + (slot * (pc.f + 1) + pc.f) * DV14).y;
    // The first key not in the prefix: the block's first row's last key + 1.
    const int first_key = max(int(block * T) + offset + 1, 0);

    int last_key[ROWS];
    float s_q[ROWS], m_row[ROWS];
    int intra_end = -1;
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        const uint row = min(row0 + r, pc.nq - 1);
        last_key[r] = min(int(row) + offset, int(kvl) - 1);
        s_q[r] = phi(q_base + row * FP4 + F4).x;
        m_row[r] = m_prefix;
        intra_end = max(intra_end, last_key[r]);
    }
    for (int j = first_key; j <= intra_end; j++) {
        const float s = phi(k_base + uint(j) * FP4 + F4).x;
        [[unroll]] for (uint r = 0; r < ROWS; r++)
            if (j <= last_key[r])
                m_row[r] = max(m_row[r], s);
    }

    // The prefix part, moved to each row's stabiliser.
    vec4 acc[ROWS][DV14];
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        const uint row = min(row0 + r, pc.nq - 1);
        const float alpha = exp(m_prefix - m_row[r]);
        [[unroll]] for (uint c = 0; c < DV14; c++)
            acc[r][c] = scratch(s_base + pc.numerators_at + row * DV14 + c) * alpha;
    }

    // The keys after the prefix. Rows' features stay in registers when they are few.
    vec4 q[CACHE_Q ? ROWS : 1][CACHE_Q ? F4 : 1];
    uint q_row[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; r++)
        q_row[r] = q_base + min(row0 + r, pc.nq - 1) * FP4;
    if (CACHE_Q)
        [[unroll]] for (uint r = 0; r < ROWS; r++)
            [[unroll]] for (uint c = 0; c < F4; c++)
                q[r][c] = phi(q_row[r] + c);
    for (int j = first_key; j <= intra_end; j++) {
        const uint key = k_base + uint(j) * FP4;
        const float s = phi(key + F4).x;
        float weight[ROWS];
        [[unroll]] for (uint r = 0; r < ROWS; r++)
            weight[r] = 0.0;
        if (CACHE_Q) {
            [[unroll]] for (uint c = 0; c < F4; c++) {
                const vec4 kc = phi(key + c);
                [[unroll]] for (uint r = 0; r < ROWS; r++)
                    weight[r] += dot(q[r][c], kc);
            }
        } else {
            for (uint c = 0; c < F4; c++) {
                const vec4 kc = phi(key + c);
                [[unroll]] for (uint r = 0; r < ROWS; r++)
                    weight[r] += dot(phi(q_row[r] + c), kc);
            }
        }
        [[unroll]] for (uint r = 0; r < ROWS; r++)
            weight[r] = j <= last_key[r] ? weight[r] * exp(s - m_row[r]) : 0.0;
        [[unroll]] for (uint c = 0; c < DV14; c++) {
            const vec4 value = vka_value_with_one(c < DV4 ? v(v_base + uint(j) * DV4 + c) : vec4(0.0), c, pc.dv);
            [[unroll]] for (uint r = 0; r < ROWS; r++)
                acc[r][c] += weight[r] * value;
        }
    }

    const uint o_base = slice * pc.slice_stride[3];
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        const uint row = row0 + r;
        if (row >= pc.nq)
            break;
        // eps·e^(−s_q − M), kept finite: a huge term means the true denominator is eps.
        const float eps_term = pc.eps * exp(min(-s_q[r] - m_row[r], 80.0));
        const float den = acc[r][pc.dv / 4][pc.dv % 4] + eps_term;
        const float inv = last_key[r] >= 0 && den != 0.0 ? 1.0 / den : 0.0;
        [[unroll]] for (uint c = 0; c < DV4; c++) {
            vec4 value = acc[r][c] * inv;
            [[unroll]] for (uint e = 0; e < 4; e++)
                if (c * 4 + e >= pc.dv)
                    value[e] = 0.0;
            o_store(o_base + row * DV4 + c, value);
        }
    }
}
