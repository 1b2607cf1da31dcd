// What both matrix-product kernels share besides their product, after their push block `pc`
// and binding C. Binding 3 is either a bias row (bound whole) or, with the key limit, the
// kv_len table read as ivec4: the same binding seen as two blocks.
//
// pc.epilogue bits: 0–2 the activation (activation.glsl), 3 add the bias, 4 accumulate
// (C += the product, before the activation: chunked contractions), 5 the key limit
// (TRANS_A only: the contraction stops at kv_len[batch] − k_base, batch = slice / heads).

#include "activation.glsl"

VKA_TENSOR_IN(3, bias)
layout(std430, set = 0, binding = 3) readonly buffer KeyCounts { ivec4 key_counts[]; };

const uint MATMUL_BIAS = 8u, MATMUL_ACCUMULATE = 16u, MATMUL_KEY_LIMIT = 32u;

uint matmul_k_limit(uint slice)
{
    if ((pc.epilogue & MATMUL_KEY_LIMIT) == 0u)
        return pc.k;
    const uint batch = (pc.slice_base + slice) / pc.heads;
    return uint(clamp(VKA_KV_LEN(key_counts, batch) - int(pc.k_base), 0, int(pc.k)));
}

// A's (B's) slice within its binding: the dispatch's own, or with a divisor the slice's
// group (a batch, a k/v head) counted from the group the binding starts at (the recorder
// binds from there).
uint matmul_a_slice(uint slice)
{
    return VKA_GROUP_SLICE(slice, pc.a_divisor);
}

uint matmul_b_slice(uint slice)
{
    return VKA_GROUP_SLICE(slice, pc.b_divisor);
}

// The value stored at c[at] (row `row`, vec4 column col4) from the product's sum.
vec4 matmul_epilogue(vec4 sum, uint row, uint col4, uint at)
{
    vec4 value = sum * pc.alpha;
    if (pc.diagonal != 0.0 && row / 4u == col4)
        value[row % 4u] += pc.diagonal;
    if ((pc.epilogue & MATMUL_BIAS) != 0u)
        value += bias(col4);
    if ((pc.epilogue & MATMUL_ACCUMULATE) != 0u)
        value += c(at);
    value = vka_activation(value, pc.epilogue & 7u);
    // Columns past n are padding and must hold zeros (softplus(0) is not 0).
    [[unroll]] for (uint e = 0; e < 4; e++)
        if (col4 * 4 + e >= pc.n)
            value[e] = 0.0;
    return value;
}
