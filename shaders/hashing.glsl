// Pieces the hashing kernels share (SCHEMES.md §9): an argmax or a sign decides a bucket,
// so a product computed in f32 near a tie could put a token in another bucket than the
// definition's (a double product) and change its whole row. The kernels take the f32
// products of a matrix product, bound their error (γ_n·|x|·|w|, γ_n ≈ n·2^−24, doubled),
// and redo them compensated where a decision lies within the bound: Dot2 (Ogita, Rump,
// Oishi 2005), exact products by fma and exact sums by TwoSum, as accurate as a
// double-length product.
// `precise` keeps the compiler from re-associating or fusing the error terms away.

// Σ a_i·b_i over n floats read through a callback-free interface: the caller accumulates
// term by term with vka_dot2_add and reads vka_dot2_value.
struct vka_dot2 {
    float sum, error;
};

vka_dot2 vka_dot2_begin()
{
    return vka_dot2(0.0, 0.0);
}

vka_dot2 vka_dot2_add(vka_dot2 d, float a, float b)
{
    precise float p = a * b;
    precise float p_error = fma(a, b, -p);
    precise float t = d.sum + p;
    precise float z = t - d.sum;
    precise float t_error = (d.sum - (t - z)) + (p - z);
    precise float error = d.error + (p_error + t_error);
    return vka_dot2(t, error);
}

float vka_dot2_value(vka_dot2 d)
{
    precise float v = d.sum + d.error;
    return v;
}

