/* Gaussian RBF bases and their ridge-regression fit (the ∞-former, SCHEMES.md §6), on the
 * host in double precision: the fit is ill-conditioned in float32 with narrow widths
 * (research/schemes.md §6(e)). */
#ifndef VKA_SCHEMES_BASIS_H
#define VKA_SCHEMES_BASIS_H

#include "common/common.h"

#define VKA_RBF_MAX_WIDTHS 8

/* count functions in width_count groups of count / width_count: group g has width
 * widths[g] and centres linspace(0, 1, count / width_count). */
typedef struct vka_rbf_basis {
    uint32_t count, width_count;
    double widths[VKA_RBF_MAX_WIDTHS];
} vka_rbf_basis;

void vka_rbf_centre(const vka_rbf_basis *b, uint32_t j, double *mu, double *sigma);
/* ψ_j(t) = 𝒩(t; μ_j, σ_j²) for every j. */
void vka_rbf_eval(const vka_rbf_basis *b, double t, double *psi);
/* Gᵀ = (F Fᵀ + λI)⁻¹ F with F_{j,i} = ψ_j(positions[i]): gt is count × length. Fails
 * (naming the sizes) when F Fᵀ + λI is not positive definite to working precision. */
vka_result vka_rbf_fit(vka_context *ctx, const vka_rbf_basis *b, const double *positions, uint32_t length,
                       double lambda, double *gt);
/* The same for positions (i + 0.5) / length, as float32 G (length × count, the layout the
 * kernels read), from the context's cache when it was computed before. */
vka_result vka_rbf_fit_cached(vka_context *ctx, const vka_rbf_basis *b, uint32_t length, double lambda, float *g);

#endif
