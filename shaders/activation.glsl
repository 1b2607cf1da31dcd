// Element-wise activations shared by pointwise.comp and the matrix products' epilogue.
// Modes: 0 none, 1 gelu (the exact erf form), 2 relu, 3 softplus, 4 sqrt(softplus).

// erf by Abramowitz & Stegun 7.1.26: |error| < 1.5e-7. GLSL has no erf.
vec4 vka_erf4(vec4 x)
{
    const vec4 ax = abs(x);
    const vec4 t = 1.0 / (1.0 + 0.3275911 * ax);
    const vec4 poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    // exp(−x²) underflows to a denormal past |x| ≈ 9.4, slow on CPUs: it is 0 there.
    const vec4 e = mix(exp(-ax * ax), vec4(0.0), greaterThan(ax, vec4(9.0)));
    return sign(x) * (1.0 - poly * e);
}

vec4 vka_activation(vec4 x, uint mode)
{
    if (mode == 1u)
        return 0.5 * x * (1.0 + vka_erf4(x * 0.70710678118654752));
    if (mode == 2u)
        return max(x, vec4(0.0));
    if (mode == 3u || mode == 4u) {
        // max(x, 0) + log1p(e^−|x|); e^−|x| is 0 past 80 (no denormals). log1p(t) as
        // log(u)·t/(u − 1), u = 1 + t (exact where u = 1): log(1 + t) alone loses t's low
        // bits, all of them below 6e-8, and sqrt(softplus) of a negative x shows it.
        const vec4 ax = abs(x);
        const vec4 t = mix(exp(-ax), vec4(0.0), greaterThan(ax, vec4(80.0)));
        precise const vec4 u = 1.0 + t;
        precise const vec4 um1 = u - 1.0;
        const vec4 log1p_t = mix(log(u) * t / max(um1, vec4(1e-30)), t, equal(um1, vec4(0.0)));
        const vec4 sp = max(x, vec4(0.0)) + log1p_t;
        return mode == 4u ? sqrt(sp) : sp;
    }
    return x;
}
