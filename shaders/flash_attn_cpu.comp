#version 450
// Exact softmax attention, tiled online softmax — the CPU-class variant.
//
// What llvmpipe rewards (research/lavapipe-performance.md): no shared memory and no
// barriers (a barrier is a coroutine switch there), vec4 loads, and register
// blocking. Each invocation owns ROWS query rows: it keeps them and their output
// accumulators in registers and streams every visible key and value row once, so one
// vec4 load of K or V feeds ROWS rows. Neighbouring invocations read the same key at
// the same time, which the CPU's caches serve.
//
// The running max is updated lazily: a row rescales its accumulator only when a score
// exceeds the current reference by more than LAZY_MARGIN (in log2 units), so that
// exp2(s − m) ≤ 2^LAZY_MARGIN and the sums stay far from f32 overflow. The reference
// cancels exactly in O = Σ p v / Σ p.

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;      // vec4 per q/k row
layout(constant_id = 2) const uint DV4 = 16;     // vec4 per v/o row
layout(constant_id = 3) const uint ROWS = 4;     // query rows per invocation
layout(constant_id = 4) const uint KV_VEC4 = 1;  // ivec4 entries of the kv_len table

layout(std430, set = 0, binding = 0) readonly buffer Q { vec4 q[]; };
layout(std430, set = 0, binding = 1) readonly buffer K { vec4 k[]; };
layout(std430, set = 0, binding = 2) readonly buffer V { vec4 v[]; };
layout(std430, set = 0, binding = 3) writeonly buffer O { vec4 o[]; };
layout(std140, set = 0, binding = 4) uniform KvLen { ivec4 kv_len[KV_VEC4]; };

layout(push_constant) uniform Push {
    VKA_PUSH_HEADER
    uint nq;
    uint nk;
    uint heads;
    uint causal;
    float scale;
} pc;

const float LAZY_MARGIN = 8.0;

void main()
{
    const uint slice = gl_WorkGroupID.z;
    const uint batch = (pc.slice_base + slice) / pc.heads;
    const int kvl = VKA_KV_LEN(kv_len, batch);
    const uint q_base = slice * pc.slice_stride[0];
    const uint k_base = slice * pc.slice_stride[1];
    const uint v_base = slice * pc.slice_stride[2];
    const uint o_base = slice * pc.slice_stride[3];
    const uint row0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * ROWS;
    if (row0 >= pc.nq)
        return;

    // Scores in log2 units: exp2(s·log2 e) = exp(s).
    const float qscale = pc.scale * VKA_LOG2E;
    vec4 qr[ROWS][D4];
    vec4 acc[ROWS][DV4];
    float m[ROWS];
    float l[ROWS];
    uint visible[ROWS];
    uint key_end = 0;
    for (uint r = 0; r < ROWS; r++) {
        const uint row = min(row0 + r, pc.nq - 1);
        for (uint c = 0; c < D4; c++)
            qr[r][c] = q[q_base + row * D4 + c] * qscale;
        for (uint c = 0; c < DV4; c++)
            acc[r][c] = vec4(0.0);
        m[r] = VKA_NEG_BIG;
        l[r] = 0.0;
        visible[r] = row0 + r < pc.nq ? vka_visible_keys(row0 + r, pc.nq, pc.nk, kvl, pc.causal != 0u) : 0u;
        key_end = max(key_end, visible[r]);
    }

    for (uint j = 0; j < key_end; j++) {
        float s[ROWS];
        for (uint r = 0; r < ROWS; r++)
            s[r] = 0.0;
        for (uint c = 0; c < D4; c++) {
            const vec4 kc = k[k_base + j * D4 + c];
            for (uint r = 0; r < ROWS; r++)
                s[r] += dot(qr[r][c], kc);
        }
        float p[ROWS];
        for (uint r = 0; r < ROWS; r++) {
            if (j >= visible[r]) {
                p[r] = 0.0;
                continue;
            }
            if (s[r] > m[r] + LAZY_MARGIN) {
                const float alpha = exp2(m[r] - s[r]);
                m[r] = s[r];
                l[r] *= alpha;
                for (uint c = 0; c < DV4; c++)
                    acc[r][c] *= alpha;
            }
            p[r] = exp2(s[r] - m[r]);
            l[r] += p[r];
        }
        for (uint c = 0; c < DV4; c++) {
            const vec4 vc = v[v_base + j * DV4 + c];
            for (uint r = 0; r < ROWS; r++)
                acc[r][c] += p[r] * vc;
        }
    }

    for (uint r = 0; r < ROWS; r++) {
        if (row0 + r >= pc.nq)
            break;
        // A row that sees no key has l == 0 and outputs 0 (never NaN).
        const float inv_l = l[r] > 0.0 ? 1.0 / l[r] : 0.0;
        for (uint c = 0; c < DV4; c++)
            o[o_base + (row0 + r) * DV4 + c] = acc[r][c] * inv_l;
    }
}
