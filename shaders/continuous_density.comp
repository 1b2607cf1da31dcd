#version 450
// ∞-former continuous attention, the per-query step (SCHEMES.md §6): each row of S holds
// one query's scores against the N basis coefficients, s = Kᵐ q · scale. From them the
// query's Gaussian attention density, μ = sigmoid(w_μ · s) and σ² = max(softplus(w_σ · s),
// 1e-4), and in place of s its expectations of the basis functions,
// r_j = 𝒩(μ; μ_j, σ_j² + σ²) (the integral over ℝ in closed form). One row per invocation.
// The basis comes from push constants: groups of `per_group` functions, one per width, the
// centres of each group linspace(0, 1, per_group). With `keep_moments` each query's (μ, σ²)
// is kept too (the ∞-former's sticky memories read them between runs).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

VKA_TENSOR_INOUT(0, s)                 // [B, H, Nq, N]
VKA_TENSOR_IN(1, w_mu)   // [1, H, 1, N], whole
VKA_TENSOR_IN(2, w_sig) // [1, H, 1, N], whole
VKA_TENSOR_OUT(3, moments) // [B, H, Nq, 2]

layout(push_constant, std430) uniform continuous_density_push {
    VKA_PUSH_HEADER
    uint rows;      // queries per slice
    uint n;         // basis functions
    uint heads;     // the slice's head is its global index modulo heads
    uint per_group; // basis functions per width
    uint keep_moments;
    float widths[8];
} pc;

// Loop budget (tools/kernel_interface.py): two passes over a row of n basis functions, in vec4.
#pragma vka_loops(2 * div_up(pc.n, 4) + 2)

vec2 basis_function(uint j) // its centre and variance
{
    const uint g = j / pc.per_group, i = j - g * pc.per_group;
    const float centre = pc.per_group > 1u ? float(i) / float(pc.per_group - 1u) : 0.0;
    return vec2(centre, pc.widths[g] * pc.widths[g]);
}

void main()
{
    const uint row = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (row >= pc.rows)
        return;
    const uint n4 = (pc.n + 3) / 4;
    const uint base = gl_WorkGroupID.z * pc.slice_stride[0] + row * n4;
    const uint w_base = ((pc.slice_base + gl_WorkGroupID.z) % pc.heads) * n4;
    float a = 0.0, b = 0.0;
    for (uint i = 0; i < n4; i++) { // the padding lanes are zero in all three
        const vec4 x = s(base + i);
        a += dot(x, w_mu(w_base + i));
        b += dot(x, w_sig(w_base + i));
    }
    const float mu = 1.0 / (1.0 + exp(-a));
    const float softplus_b = max(b, 0.0) + log(1.0 + exp(-abs(b)));
    const float sigma2 = max(softplus_b, 1e-4);
    if (pc.keep_moments != 0u)
        moments_store(gl_WorkGroupID.z * pc.slice_stride[3] + row, vec4(mu, sigma2, 0.0, 0.0));
    for (uint i = 0; i < n4; i++) {
        vec4 r = vec4(0.0);
        [[unroll]] for (uint e = 0; e < 4; e++) {
            const uint j = i * 4 + e;
            if (j < pc.n) {
                const vec2 fj = basis_function(j); // x: μ_j, y: σ_j²
                const float var = fj.y + sigma2, d = mu - fj.x;
                r[e] = exp(-0.5 * d * d / var) * inversesqrt(6.283185307179586 * var);
            }
        }
        s_store(base + i, r);
    }
}
