/* vkattn — the ∞-former's basis and ridge fit, as `continuous` uses them.
 * Beside the core header (vkattn.h), which it includes. */
#ifndef VKATTN_CONTINUOUS_H
#define VKATTN_CONTINUOUS_H

#include "../vkattn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- continuous attention */

/* The ∞-former's ridge fit (SCHEMES.md §6), in double as `continuous` uses it:
 * g = Fᵀ(F Fᵀ + λI)⁻¹ (length × nbasis, row-major), F_{j,i} = ψ_j(t_i) for points t_i at
 * `positions` (NULL: the tokens' (i + 0.5) / length) and nbasis Gaussian RBFs in equal
 * groups, one per width (widths NULL: 0.01 and 0.05), the centres of each group
 * linspace(0, 1, nbasis / width_count). Coefficients Gᵀx fit a signal x sampled at the
 * points; ψ(t)ᵀGᵀx evaluates it at t. */
VKA_API vka_result vka_continuous_fit_matrix(uint32_t length, const double *positions, uint32_t nbasis,
                                             const double *widths, uint32_t width_count, double lambda, double *g);
/* ψ(t): the nbasis basis functions at t, as above. */
VKA_API vka_result vka_continuous_basis(double t, uint32_t nbasis, const double *widths, uint32_t width_count,
                                        double *psi);

#ifdef __cplusplus
}
#endif
#endif /* VKATTN_CONTINUOUS_H */
