// Translation-equivariant attention (TE-TNP; SCHEMES.md §11). Per pair (i, j) of query
// and key the logits of all H heads come from one small MLP of
//   in = [xq_i − xk_j  (DX values),  q_i^h · k_j^h · scale  (h = 0 … H−1)]
//   logits = W3 relu(W2 relu(W1 in + b1) + b2) + b3          (H values)
// and each head takes a softmax over the keys: o_i^h = Σ_j softmax_j(logit^h) v_j^h.
//
// te_attn.comp (flash): an invocation owns one query and one chunk of keys (a workgroup:
// WG queries × the chunk). It evaluates the MLP for each of its pairs in registers and
// folds the logits into an online softmax per head, so nothing of size Nq·Nk exists. The
// weights (packed once at plan time, te_attention.c) are read at addresses uniform across
// the workgroup: every lane uses the same weight at the same time, which caches serve.
// With one chunk it writes o. With several (split-K: llvmpipe's loop budget, or too few
// queries to fill the device) it keeps per query and head (m, l, Σ p·v) in a state row:
// gl_WorkGroupID.y picks one of the dispatch's parallel rows; dispatches that follow
// (rounds) continue each row's softmax with later key chunks; te_combine.comp merges the
// rows and normalises. So the state is parallel rows × Nq, not chunks × Nq.
//
// te_logits.comp (VKA_TE_LOGITS, the materialised form for comparison): an invocation
// per pair writes its H logits into scores [B, Nq·H, Nk]; a row softmax and a product
// with v follow (te_attention.c).
//
// VKA_TE_PACKED (te_attn_packed.comp, te_logits_packed.comp): for devices with fewer than
// 7 storage buffers per stage (android-2021 allows 4), the lowering first packs each query
// row [q | xq] and each key row [k | xk | v] side by side, so the kernel binds 4: the two
// packed tensors, o and the weights. Only the accessors below differ.
//
// Loops (llvmpipe's budget, flash_attn_cpu.glsl): only the MLP's inputs (first layer),
// the second layer's units, UB per iteration, and the keys of the chunk are loops;
// everything else is unrolled. Per key: 1 + (DX + H) + H2 / UB iterations.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint H = 8;    // heads: MLP outputs
layout(constant_id = 2) const uint DH = 16;  // q / k features per head
layout(constant_id = 3) const uint DV = 16;  // v features per head
layout(constant_id = 4) const uint DX = 2;   // location dimensions
layout(constant_id = 5) const uint H1 = 128; // first hidden layer
layout(constant_id = 6) const uint H2 = 128; // second hidden layer
layout(constant_id = 7) const uint UB = 8;   // second-layer units per loop iteration (divides H2)

const uint IN = DX + H;
const uint H1_4 = (H1 + 3) / 4;
const uint H2_4 = (H2 + 3) / 4;
const uint H4 = (H + 3) / 4;
const uint DX4 = (DX + 3) / 4;
const uint QK4 = (H * DH + 3) / 4; // vec4 per q / k row
const uint V4 = (H * DV + 3) / 4;  // vec4 per v / o row
// The packed weights, in vec4 (te_attention.c pack_weights writes the same layout).
const uint OFF_W1T = 0;                  // IN rows of H1_4: W1 transposed
const uint OFF_B1 = OFF_W1T + IN * H1_4; // H1_4
const uint OFF_W2 = OFF_B1 + H1_4;       // H2 rows of H1_4
const uint OFF_B2 = OFF_W2 + H2 * H1_4;  // H2_4
const uint OFF_W3T = OFF_B2 + H2_4;      // H2 rows of H4: W3 transposed
const uint OFF_B3 = OFF_W3T + H2 * H4;   // H4

#if VKA_TE_PACKED
VKA_TENSOR_IN(0, qx)      // per query: q (QK4 vec4), xq (DX4)
VKA_TENSOR_IN(1, kxv)     // per key: k (QK4), xk (DX4), v (V4)
VKA_TENSOR_INOUT(2, o)    // o, the state rows, or the logits
VKA_TENSOR_IN(3, w)
const uint O_BINDING = 2;
const uint QX4 = QK4 + DX4, KXV4 = QK4 + DX4 + V4;
#else
VKA_TENSOR_IN(0, q)
VKA_TENSOR_IN(1, k)
VKA_TENSOR_IN(2, v)
VKA_TENSOR_INOUT(3, o) // o, the state rows, or the logits
VKA_TENSOR_IN(4, xq)
VKA_TENSOR_IN(5, xk)
VKA_TENSOR_IN(6, w)
const uint O_BINDING = 3;
#endif

layout(push_constant) uniform te_attn_push {
    VKA_PUSH_HEADER
    uint nq;
    uint nk;
    uint chunk_keys; // keys per chunk
    uint mode;       // bit 0: write the state row (else o); bit 1: continue from it
    float scale;
    uint chunk_base; // this dispatch's first chunk: chunk_base + gl_WorkGroupID.y
} pc;

// Loop budget: each pair evaluates the MLP's DX + H inputs and H2 / UB second-layer steps;
// the flash form walks its chunk's keys, one more iteration each.
#if VKA_TE_LOGITS
#pragma vka_loops(DX + H + H2 / UB + 1)
#else
#pragma vka_loops(pc.chunk_keys * (1 + DX + H + H2 / UB) + 1)
#endif

// Vec4 c of query i's q or xq, and of key j's k, xk or v, in this slice.
#if VKA_TE_PACKED
vec4 q_at(uint slice, uint i, uint c) { return qx(slice * pc.slice_stride[0] + i * QX4 + c); }
vec4 xq_at(uint slice, uint i, uint c) { return qx(slice * pc.slice_stride[0] + i * QX4 + QK4 + c); }
vec4 k_at(uint slice, uint j, uint c) { return kxv(slice * pc.slice_stride[1] + j * KXV4 + c); }
vec4 xk_at(uint slice, uint j, uint c) { return kxv(slice * pc.slice_stride[1] + j * KXV4 + QK4 + c); }
vec4 v_at(uint slice, uint j, uint c) { return kxv(slice * pc.slice_stride[1] + j * KXV4 + QK4 + DX4 + c); }
#else
vec4 q_at(uint slice, uint i, uint c) { return q(slice * pc.slice_stride[0] + i * QK4 + c); }
vec4 xq_at(uint slice, uint i, uint c) { return xq(slice * pc.slice_stride[4] + i * DX4 + c); }
vec4 k_at(uint slice, uint j, uint c) { return k(slice * pc.slice_stride[1] + j * QK4 + c); }
vec4 xk_at(uint slice, uint j, uint c) { return xk(slice * pc.slice_stride[5] + j * DX4 + c); }
vec4 v_at(uint slice, uint j, uint c) { return v(slice * pc.slice_stride[2] + j * V4 + c); }
#endif

float element(const vec4 row[QK4], uint e)
{
    return row[e / 4][e % 4];
}

// The H logits of the pair (query features qf at location xi, key j of this slice).
void pair_logits(const vec4 qf[QK4], const vec4 xi[DX4], uint slice, uint j, out vec4 logits[H4])
{
    vec4 kf[QK4];
    [[unroll]] for (uint c = 0; c < QK4; c++)
        kf[c] = k_at(slice, j, c);
    float inp[IN];
    [[unroll]] for (uint c = 0; c < DX; c++)
        inp[c] = xi[c / 4][c % 4] - xk_at(slice, j, c / 4)[c % 4];
    [[unroll]] for (uint h = 0; h < H; h++) {
        float s = 0.0;
        [[unroll]] for (uint d = 0; d < DH; d++)
            s += element(qf, h * DH + d) * element(kf, h * DH + d);
        inp[DX + h] = s * pc.scale;
    }

    // h1 = relu(b1 + Σ_c in_c · W1ᵀ[c]): one input per iteration, the hidden units as
    // vec4 in registers.
    vec4 h1[H1_4];
    [[unroll]] for (uint u4 = 0; u4 < H1_4; u4++)
        h1[u4] = w(OFF_B1 + u4);
    for (uint c = 0; c < IN; c++) {
        const float x = inp[c];
        [[unroll]] for (uint u4 = 0; u4 < H1_4; u4++)
            h1[u4] += x * w(OFF_W1T + c * H1_4 + u4);
    }
    [[unroll]] for (uint u4 = 0; u4 < H1_4; u4++)
        h1[u4] = max(h1[u4], vec4(0.0)); // padding units are 0: b1 and W1ᵀ are 0 there

    [[unroll]] for (uint c = 0; c < H4; c++)
        logits[c] = w(OFF_B3 + c);
    for (uint u0 = 0; u0 < H2; u0 += UB) {
        [[unroll]] for (uint t = 0; t < UB; t++) {
            const uint u = u0 + t;
            float a = w(OFF_B2 + u / 4)[u % 4];
            [[unroll]] for (uint c = 0; c < H1_4; c++)
                a += dot(w(OFF_W2 + u * H1_4 + c), h1[c]);
            a = max(a, 0.0);
            [[unroll]] for (uint c = 0; c < H4; c++)
                logits[c] += w(OFF_W3T + u * H4 + c) * a;
        }
    }
}

void load_query(uint slice, uint i, out vec4 qf[QK4], out vec4 xi[DX4])
{
    [[unroll]] for (uint c = 0; c < QK4; c++)
        qf[c] = q_at(slice, i, c);
    [[unroll]] for (uint c = 0; c < DX4; c++)
        xi[c] = xq_at(slice, i, c);
}

#if VKA_TE_LOGITS

// One pair per invocation: x over keys, y over queries; scores row (i·H + h).
void main()
{
    const uint j = gl_GlobalInvocationID.x, i = gl_WorkGroupID.y, slice = gl_WorkGroupID.z;
    if (j >= pc.nk)
        return;
    vec4 qf[QK4], xi[DX4];
    load_query(slice, i, qf, xi);
    vec4 logits[H4];
    pair_logits(qf, xi, slice, j, logits);
    const uint nk4 = (pc.nk + 3) / 4;
    [[unroll]] for (uint h = 0; h < H; h++) {
        const uint at = slice * pc.slice_stride[O_BINDING] + (i * H + h) * nk4 + j / 4;
        o_v[at][j % 4] = logits[h / 4][h % 4]; // the logits: an f32 intermediate, one float each
    }
}

#else

void main()
{
    const uint i = gl_GlobalInvocationID.x, row = gl_WorkGroupID.y, slice = gl_WorkGroupID.z;
    if (i >= pc.nq)
        return;
    vec4 qf[QK4], xi[DX4];
    load_query(slice, i, qf, xi);
    const uint j0 = (pc.chunk_base + row) * pc.chunk_keys, j1 = min(pc.nk, j0 + pc.chunk_keys);
    // state rows [B, rows·Nq, 2H + H·DV]: m (H), l (H), Σ p·v (H·DV)
    const uint P4 = (2 * H + H * DV + 3) / 4;
    const uint p_row = slice * pc.slice_stride[O_BINDING] + (row * pc.nq + i) * P4;

    float m[H], l[H], acc[V4 * 4];
    [[unroll]] for (uint h = 0; h < H; h++) {
        m[h] = VKA_NEG_BIG;
        l[h] = 0.0;
    }
    [[unroll]] for (uint e = 0; e < V4 * 4; e++)
        acc[e] = 0.0;
    if ((pc.mode & 2u) != 0u) {
        [[unroll]] for (uint c = 0; c < P4; c++) {
            const vec4 r = o(p_row + c);
            [[unroll]] for (uint lane = 0; lane < 4; lane++) {
                const uint e = 4 * c + lane;
                if (e < H)
                    m[e] = r[lane];
                else if (e < 2 * H)
                    l[e - H] = r[lane];
                else if (e < 2 * H + H * DV)
                    acc[e - 2 * H] = r[lane];
            }
        }
    }

    for (uint j = j0; j < j1; j++) {
        vec4 logits[H4];
        pair_logits(qf, xi, slice, j, logits);
        vec4 vf[V4];
        [[unroll]] for (uint c = 0; c < V4; c++)
            vf[c] = v_at(slice, j, c);
        [[unroll]] for (uint h = 0; h < H; h++) {
            const float s = logits[h / 4][h % 4];
            const float m_new = max(m[h], s);
            const float alpha = exp(m[h] - m_new), p = exp(s - m_new);
            m[h] = m_new;
            l[h] = l[h] * alpha + p;
            [[unroll]] for (uint d = 0; d < DV; d++) {
                const uint e = h * DV + d;
                acc[e] = acc[e] * alpha + p * vf[e / 4][e % 4];
            }
        }
    }

    if ((pc.mode & 1u) == 0u) {
        const uint o_row = slice * pc.slice_stride[O_BINDING] + i * V4;
        [[unroll]] for (uint c = 0; c < V4; c++) {
            vec4 r = vec4(0.0);
            [[unroll]] for (uint lane = 0; lane < 4; lane++) {
                const uint e = 4 * c + lane;
                if (e < H * DV)
                    r[lane] = acc[e] / l[e / DV];
            }
            o_store(o_row + c, r);
        }
        return;
    }
    [[unroll]] for (uint c = 0; c < P4; c++) {
        vec4 r = vec4(0.0);
        [[unroll]] for (uint lane = 0; lane < 4; lane++) {
            const uint e = 4 * c + lane;
            if (e < H)
                r[lane] = m[e];
            else if (e < 2 * H)
                r[lane] = l[e - H];
            else if (e < 2 * H + H * DV)
                r[lane] = acc[e - 2 * H];
        }
        o_store(p_row + c, r);
    }
}

#endif
