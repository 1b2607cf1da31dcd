#version 450
// Feature maps of kernel attention (SCHEMES.md §2–3), for queries and keys in one pass.
//
// Output rows (queries first, then keys) hold F4 vec4 of features, then one vec4
// (s, 0, 0, 0): φ(x) = features · exp(s). Each group of m features starts at a multiple
// of 4 (F4 = ceil(m/4) or 2·ceil(m/4); ceil(D/4) for elu); the padding holds zeros. Exponential maps keep their
// features ≤ 1 by moving each row's largest exponent into s (a per-row constant that
// the attention kernels cancel exactly), so nothing overflows in f32 however large x.
//   MODE 0 elu:        φ = elu(x) + 1, s = 0                                (F = D)
//   MODE 1 positive:   φ = exp(u − h) / √m, u = W x', h = |x'|²/2, x' = x·D^(−1/4)   (F = m)
//   MODE 2 hyperbolic: φ = [exp(u − h), exp(−u − h)] / √(2m)               (F = 2m)
//   MODE 3 trig:       φ = [sin u, cos u] · exp(h) / √m                      (F = 2m)
// Each invocation owns ROWS rows held in registers; each projection row of W is loaded
// once for all of them. Loops: ceil(m/4) + F4 iterations (llvmpipe's loop budget).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D4 = 16;    // vec4 per input row
layout(constant_id = 2) const uint MODE = 0;
layout(constant_id = 3) const uint ROWS = 4;
layout(constant_id = 4) const uint F4 = 16;    // vec4 of features per output row (then one vec4 for s)

VKA_TENSOR_IN(0, xq)
VKA_TENSOR_IN(1, xk)
VKA_TENSOR_IN(2, w)  // m rows of D4 vec4
VKA_TENSOR_INOUT(3, phi)

layout(push_constant) uniform feature_map_push {
    VKA_PUSH_HEADER
    uint nq;
    uint nk;
    uint m;       // projections
    uint d;       // input features (head dim)
    uint kv_group; // query heads per k head (grouped heads): k bound with that slice divisor
} pc;

// Loop budget (tools/kernel_interface.py): two passes, over the m projections and the features.
#pragma vka_loops(div_up(pc.m, 4) + F4 + 2)

const uint ELU = 0, POSITIVE = 1, HYPERBOLIC = 2, TRIG = 3;
const uint FP4 = F4 + 1;
const uint HALF4 = MODE == POSITIVE ? F4 : F4 / 2; // where the second group of features starts

vec4 load_row(uint slice, uint row, uint c)
{
    return row < pc.nq ? xq(slice * pc.slice_stride[0] + row * D4 + c)
                       : xk(VKA_GROUP_SLICE(slice, pc.kv_group) * pc.slice_stride[1] + (row - pc.nq) * D4 + c);
}

void main()
{
    const uint slice = gl_WorkGroupID.z;
    const uint rows_total = pc.nq + pc.nk;
    const uint row0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * ROWS;
    if (row0 >= rows_total)
        return;
    const uint out_base = slice * pc.slice_stride[3];
    const float data_scale = MODE == ELU ? 1.0 : inversesqrt(sqrt(float(pc.d)));

    vec4 x[ROWS][D4];
    float h[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        const uint row = min(row0 + r, rows_total - 1);
        h[r] = 0.0;
        [[unroll]] for (uint c = 0; c < D4; c++) {
            x[r][c] = load_row(slice, row, c) * data_scale;
            h[r] += 0.5 * dot(x[r][c], x[r][c]);
        }
    }

    if (MODE == ELU) {
        [[unroll]] for (uint r = 0; r < ROWS; r++) {
            if (row0 + r >= rows_total)
                break;
            const uint base = out_base + (row0 + r) * FP4;
            [[unroll]] for (uint c = 0; c < F4; c++) {
                vec4 e = mix(exp(x[r][c]), x[r][c] + 1.0, greaterThan(x[r][c], vec4(0.0)));
                [[unroll]] for (uint k = 0; k < 4; k++)
                    if (c * 4 + k >= pc.d)
                        e[k] = 0.0;
                phi_store(base + c, e);
            }
            phi_store(base + F4, vec4(0.0));
        }
        return;
    }

    // f16 features (binding 3 holds f16): pass 1 cannot park its exponents in the feature
    // rows — rounded to f16 they would move exp by up to a percent (measured: max error
    // 3.9e-3 against 4.9e-4) — so pass 2 computes the projections again, the price of
    // half the bytes.
    const bool keep_exponents = !VKA_F16(3);

    // Pass 1: u for 4 projections at a time; exponents (or sin/cos) into the row, and
    // the row's largest exponent.
    float top[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; r++)
        top[r] = VKA_NEG_BIG;
    for (uint p0 = 0; p0 < pc.m; p0 += 4) {
        vec4 u[ROWS];
        [[unroll]] for (uint r = 0; r < ROWS; r++)
            u[r] = vec4(0.0);
        [[unroll]] for (uint k = 0; k < 4; k++) {
            const uint p = min(p0 + k, pc.m - 1);
            [[unroll]] for (uint c = 0; c < D4; c++) {
                const vec4 wc = w(p * D4 + c);
                [[unroll]] for (uint r = 0; r < ROWS; r++)
                    u[r][k] += dot(wc, x[r][c]);
            }
        }
        // Projections past m are absent: exponent −∞ (a zero feature), or 0 for sin/cos.
        const bvec4 present = lessThan(uvec4(p0) + uvec4(0, 1, 2, 3), uvec4(pc.m));
        [[unroll]] for (uint r = 0; r < ROWS; r++) {
            if (row0 + r >= rows_total)
                break;
            const uint base = out_base + (row0 + r) * FP4;
            if (MODE == TRIG) {
                phi_store(base + p0 / 4, mix(vec4(0.0), sin(u[r]), present));
                phi_store(base + HALF4 + p0 / 4, mix(vec4(0.0), cos(u[r]), present));
            } else {
                const vec4 a = mix(vec4(VKA_NEG_BIG), u[r] - h[r], present);
                if (keep_exponents)
                    phi_store(base + p0 / 4, a);
                top[r] = max(top[r], max(max(a.x, a.y), max(a.z, a.w)));
                if (MODE == HYPERBOLIC) {
                    const vec4 b = mix(vec4(VKA_NEG_BIG), -u[r] - h[r], present);
                    if (keep_exponents)
                        phi_store(base + HALF4 + p0 / 4, b);
                    top[r] = max(top[r], max(max(b.x, b.y), max(b.z, b.w)));
                }
            }
        }
    }

    // Pass 2: exponentials relative to the row's top (tiny ones flushed to zero: lavapipe
    // computes with denormals, and products of them were measured 1000× slower), and s.
    const float log_norm = 0.5 * log(float(MODE == HYPERBOLIC ? 2u * pc.m : pc.m));
    if (MODE != TRIG && !keep_exponents) {
        for (uint p0 = 0; p0 < pc.m; p0 += 4) {
            vec4 u[ROWS];
            [[unroll]] for (uint r = 0; r < ROWS; r++)
                u[r] = vec4(0.0);
            [[unroll]] for (uint k = 0; k < 4; k++) {
                const uint p = min(p0 + k, pc.m - 1);
                [[unroll]] for (uint c = 0; c < D4; c++) {
                    const vec4 wc = w(p * D4 + c);
                    [[unroll]] for (uint r = 0; r < ROWS; r++)
                        u[r][k] += dot(wc, x[r][c]);
                }
            }
            const bvec4 present = lessThan(uvec4(p0) + uvec4(0, 1, 2, 3), uvec4(pc.m));
            [[unroll]] for (uint r = 0; r < ROWS; r++) {
                if (row0 + r >= rows_total)
                    break;
                const uint base = out_base + (row0 + r) * FP4;
                const vec4 a = mix(vec4(VKA_NEG_BIG), u[r] - h[r], present) - top[r];
                phi_store(base + p0 / 4, mix(exp(a), vec4(0.0), lessThan(a, vec4(-80.0))));
                if (MODE == HYPERBOLIC) {
                    const vec4 b = mix(vec4(VKA_NEG_BIG), -u[r] - h[r], present) - top[r];
                    phi_store(base + HALF4 + p0 / 4, mix(exp(b), vec4(0.0), lessThan(b, vec4(-80.0))));
                }
            }
        }
    }
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        if (row0 + r >= rows_total)
            break;
        const uint base = out_base + (row0 + r) * FP4;
        if (MODE != TRIG && keep_exponents) {
            for (uint c = 0; c < F4; c++) {
                const vec4 a = phi(base + c) - top[r];
                phi_store(base + c, mix(exp(a), vec4(0.0), lessThan(a, vec4(-80.0))));
            }
        }
        const float s = (MODE == TRIG ? h[r] : top[r]) - log_norm;
        phi_store(base + F4, vec4(s, 0.0, 0.0, 0.0));
    }
}
