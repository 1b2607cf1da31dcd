/* See basis.h. The normal equations are solved by Cholesky: F Fᵀ + λI is symmetric and,
 * for λ > 0, positive definite. */
#include "basis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vka_rbf_centre(const vka_rbf_basis *b, uint32_t j, double *mu, double *sigma)
{
    uint32_t per_group = b->count / b->width_count, g = j / per_group, i = j % per_group;
    *mu = per_group > 1 ? (double)i / (per_group - 1) : 0.0;
    *sigma = b->widths[g];
}

void vka_rbf_eval(const vka_rbf_basis *b, double t, double *psi)
{
    for (uint32_t j = 0; j < b->count; j++) {
        double mu, sigma;
        vka_rbf_centre(b, j, &mu, &sigma);
        double z = (t - mu) / sigma;
        psi[j] = exp(-0.5 * z * z) / (sigma * 2.5066282746310002);
    }
}

/* In-place Cholesky factor (lower) of the n × n matrix a; false if not positive definite. */
static bool cholesky(double *a, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        double d = a[(size_t)j * n + j];
        for (uint32_t k = 0; k < j; k++)
            d -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
        if (!(d > 1e-300))
            return false;
        d = sqrt(d);
        a[(size_t)j * n + j] = d;
        for (uint32_t i = j + 1; i < n; i++) {
            double s = a[(size_t)i * n + j];
            for (uint32_t k = 0; k < j; k++)
                s -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
            a[(size_t)i * n + j] = s / d;
        }
    }
    return true;
}

/* Solves (L Lᵀ) x = b in place for one right-hand side of length n, stride `stride`. */
static void cholesky_solve(const double *l, uint32_t n, double *x, size_t stride)
{
    for (uint32_t i = 0; i < n; i++) {
        double s = x[i * stride];
        for (uint32_t k = 0; k < i; k++)
            s -= l[(size_t)i * n + k] * x[k * stride];
        x[i * stride] = s / l[(size_t)i * n + i];
    }
    for (uint32_t i = n; i-- > 0;) {
        double s = x[i * stride];
        for (uint32_t k = i + 1; k < n; k++)
            s -= l[(size_t)k * n + i] * x[k * stride];
        x[i * stride] = s / l[(size_t)i * n + i];
    }
}

vka_result vka_rbf_fit(vka_context *ctx, const vka_rbf_basis *b, const double *positions, uint32_t length,
                       double lambda, double *gt)
{
    uint32_t n = b->count;
    double *a = calloc((size_t)n * n, sizeof *a);
    if (!a)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory fitting a %u-function basis", n);
    /* F (count × length) into gt, a column per position; then A = F Fᵀ + λI. */
    double *column = malloc(n * sizeof *column);
    if (!column) {
        free(a);
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory fitting a %u-function basis", n);
    }
    for (uint32_t i = 0; i < length; i++) {
        vka_rbf_eval(b, positions[i], column);
        for (uint32_t j = 0; j < n; j++)
            gt[(size_t)j * length + i] = column[j];
    }
    free(column);
    for (uint32_t j = 0; j < n; j++)
        for (uint32_t k = 0; k <= j; k++) {
            double s = 0;
            for (uint32_t i = 0; i < length; i++)
                s += gt[(size_t)j * length + i] * gt[(size_t)k * length + i];
            a[(size_t)j * n + k] = a[(size_t)k * n + j] = s + (j == k ? lambda : 0.0);
        }
    bool ok = cholesky(a, n);
    for (uint32_t i = 0; ok && i < length; i++)
        cholesky_solve(a, n, gt + i, length);
    free(a);
    return ok ? VKA_SUCCESS
              : vka_fail(ctx, VKA_ERROR_UNSUPPORTED,
                         "the ridge fit of %u basis functions to %u points is singular with lambda=%g; raise lambda", n,
                         length, lambda);
}

vka_result vka_rbf_fit_cached(vka_context *ctx, const vka_rbf_basis *b, uint32_t length, double lambda, float *g)
{
    char key[160];
    int used = snprintf(key, sizeof key, "rbf-fit %u %u %.17g", length, b->count, lambda);
    for (uint32_t i = 0; i < b->width_count && used > 0 && (size_t)used < sizeof key; i++)
        used += snprintf(key + used, sizeof key - (size_t)used, " %.17g", b->widths[i]);
    size_t count = (size_t)length * b->count;
    if (vka_host_cache_get(vka_context_host_cache(ctx), key, g, count))
        return VKA_SUCCESS;
    double *positions = calloc(length ? length : 1, sizeof *positions), *gt = malloc(count * sizeof *gt);
    vka_result r = positions && gt
                       ? VKA_SUCCESS
                       : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory fitting %u points", length);
    for (uint32_t i = 0; r == VKA_SUCCESS && i < length; i++)
        positions[i] = (i + 0.5) / length;
    if (r == VKA_SUCCESS)
        r = vka_rbf_fit(ctx, b, positions, length, lambda, gt);
    if (r == VKA_SUCCESS) {
        for (uint32_t i = 0; i < length; i++) /* G = (Gᵀ)ᵀ: length × count */
            for (uint32_t j = 0; j < b->count; j++)
                g[(size_t)i * b->count + j] = (float)gt[(size_t)j * length + i];
        vka_host_cache_put(vka_context_host_cache(ctx), key, g, count);
    }
    free(positions);
    free(gt);
    return r;
}

/* ------------------------------------------------------------------ public */

static vka_result public_basis(uint32_t nbasis, const double *widths, uint32_t width_count, vka_rbf_basis *b)
{
    static const double defaults[] = {0.01, 0.05};
    if (!widths) {
        widths = defaults;
        width_count = 2;
    }
    if (nbasis == 0 || width_count == 0 || width_count > VKA_RBF_MAX_WIDTHS || nbasis % width_count)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT,
                        "continuous basis: nbasis (%u) must be a positive multiple of the widths' count (%u, 1..%d)",
                        nbasis, width_count, VKA_RBF_MAX_WIDTHS);
    *b = (vka_rbf_basis){.count = nbasis, .width_count = width_count};
    for (uint32_t i = 0; i < width_count; i++) {
        if (!(widths[i] > 0))
            return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "continuous basis: width %u is %g; widths must be > 0", i,
                            widths[i]);
        b->widths[i] = widths[i];
    }
    return VKA_SUCCESS;
}

vka_result vka_continuous_fit_matrix(uint32_t length, const double *positions_given, uint32_t nbasis,
                                     const double *widths, uint32_t width_count, double lambda, double *g)
{
    vka_rbf_basis b;
    vka_result r = public_basis(nbasis, widths, width_count, &b);
    if (r != VKA_SUCCESS)
        return r;
    if (!g || length == 0 || !(lambda >= 0))
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_continuous_fit_matrix: g, length > 0 and lambda >= 0 are required");
    double *positions = malloc(length * sizeof *positions), *gt = malloc((size_t)length * nbasis * sizeof *gt);
    r = positions && gt ? VKA_SUCCESS
                        : vka_fail(NULL, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory fitting %u points", length);
    for (uint32_t i = 0; r == VKA_SUCCESS && i < length; i++)
        positions[i] = positions_given ? positions_given[i] : (i + 0.5) / length;
    if (r == VKA_SUCCESS)
        r = vka_rbf_fit(NULL, &b, positions, length, lambda, gt);
    for (uint32_t i = 0; r == VKA_SUCCESS && i < length; i++)
        for (uint32_t j = 0; j < nbasis; j++)
            g[(size_t)i * nbasis + j] = gt[(size_t)j * length + i];
    free(positions);
    free(gt);
    return r;
}

vka_result vka_continuous_basis(double t, uint32_t nbasis, const double *widths, uint32_t width_count, double *psi)
{
    vka_rbf_basis b;
    vka_result r = public_basis(nbasis, widths, width_count, &b);
    if (r == VKA_SUCCESS && !psi)
        r = vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_continuous_basis: psi is NULL");
    if (r == VKA_SUCCESS)
        vka_rbf_eval(&b, t, psi);
    return r;
}
