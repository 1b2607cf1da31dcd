/* The double-precision ∞-former continuous attention, written from SCHEMES.md §6. */
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double gaussian(double x, double mean, double variance)
{
    return exp(-0.5 * (x - mean) * (x - mean) / variance) / sqrt(6.283185307179586 * variance);
}

/* Centre and width of basis function j: groups of nbasis / width_count per width. */
static void centre(uint32_t nbasis, const double *widths, uint32_t width_count, uint32_t j, double *mu, double *sigma)
{
    uint32_t per = nbasis / width_count;
    *mu = per > 1 ? (double)(j % per) / (per - 1) : 0.0;
    *sigma = widths[j / per];
}

/* Solves a x = b for n × n a and n × m b (both overwritten; x in b) by Gauss–Jordan
 * elimination with partial pivoting. */
static bool solve(double *a, double *b, uint32_t n, uint32_t m)
{
    for (uint32_t c = 0; c < n; c++) {
        uint32_t pivot = c;
        for (uint32_t r = c + 1; r < n; r++)
            if (fabs(a[(size_t)r * n + c]) > fabs(a[(size_t)pivot * n + c]))
                pivot = r;
        if (!(fabs(a[(size_t)pivot * n + c]) > 1e-300))
            return false;
        for (uint32_t k = 0; pivot != c && k < n; k++) {
            double t = a[(size_t)c * n + k];
            a[(size_t)c * n + k] = a[(size_t)pivot * n + k];
            a[(size_t)pivot * n + k] = t;
        }
        for (uint32_t k = 0; pivot != c && k < m; k++) {
            double t = b[(size_t)c * m + k];
            b[(size_t)c * m + k] = b[(size_t)pivot * m + k];
            b[(size_t)pivot * m + k] = t;
        }
        double inv = 1.0 / a[(size_t)c * n + c];
        for (uint32_t r = 0; r < n; r++) {
            if (r == c)
                continue;
            double f = a[(size_t)r * n + c] * inv;
            for (uint32_t k = 0; k < n; k++)
                a[(size_t)r * n + k] -= f * a[(size_t)c * n + k];
            for (uint32_t k = 0; k < m; k++)
                b[(size_t)r * m + k] -= f * b[(size_t)c * m + k];
        }
    }
    for (uint32_t r = 0; r < n; r++)
        for (uint32_t k = 0; k < m; k++)
            b[(size_t)r * m + k] /= a[(size_t)r * n + r];
    return true;
}

bool vka_ref_ridge_fit(uint32_t nbasis, const double *widths, uint32_t width_count, const double *positions,
                       uint32_t length, double lambda, double *gt)
{
    double *a = malloc((size_t)nbasis * nbasis * sizeof *a);
    if (!a)
        return false;
    for (uint32_t j = 0; j < nbasis; j++) { /* F into gt */
        double mu, sigma;
        centre(nbasis, widths, width_count, j, &mu, &sigma);
        for (uint32_t i = 0; i < length; i++)
            gt[(size_t)j * length + i] = gaussian(positions ? positions[i] : (i + 0.5) / length, mu, sigma * sigma);
    }
    for (uint32_t j = 0; j < nbasis; j++)
        for (uint32_t k = 0; k < nbasis; k++) {
            double s = j == k ? lambda : 0.0;
            for (uint32_t i = 0; i < length; i++)
                s += gt[(size_t)j * length + i] * gt[(size_t)k * length + i];
            a[(size_t)j * nbasis + k] = s;
        }
    bool ok = solve(a, gt, nbasis, length); /* Gᵀ = (F Fᵀ + λI)⁻¹ F */
    free(a);
    return ok;
}

/* coefficients (nbasis × width) = Gᵀ[:, offset …] x for x (rows × width); gt has `points`
 * columns. */
static void fit(const double *gt, uint32_t nbasis, uint32_t points, uint32_t offset, const double *x, uint32_t rows,
                uint32_t width, double *out)
{
    for (uint32_t j = 0; j < nbasis; j++)
        for (uint32_t c = 0; c < width; c++) {
            double s = 0;
            for (uint32_t i = 0; i < rows; i++)
                s += gt[(size_t)j * points + offset + i] * x[(size_t)i * width + c];
            out[(size_t)j * width + c] = s;
        }
}

/* Gᵀ of the fit the memory uses: the tokens over [0, 1], or for the update's first run the
 * samples of the (empty) old signal in [0, τ] then the chunk in (τ, 1]; `offset` is where
 * the chunk's columns start. NULL when out of memory or singular. */
static double *fit_matrix(const vka_ref_continuous_problem *c, uint32_t *points, uint32_t *offset)
{
    *points = c->update ? c->samples + (c->k ? c->length : 0) : c->length;
    *offset = c->update ? c->samples : 0;
    double *gt = malloc((size_t)c->nbasis * *points * sizeof *gt), *positions = malloc(*points * sizeof *positions);
    bool ok = gt && positions;
    for (uint32_t i = 0; ok && i < *points; i++)
        positions[i] = !c->update       ? (i + 0.5) / c->length
                       : i < c->samples ? c->tau * (i + 0.5) / c->samples
                                        : c->tau + (1 - c->tau) * (i - c->samples + 0.5) / c->length;
    ok = ok && vka_ref_ridge_fit(c->nbasis, c->widths, c->width_count, positions, *points, c->lambda, gt);
    free(positions);
    if (!ok) {
        free(gt);
        return NULL;
    }
    return gt;
}

/* The queries of one [batch, head] slice attend to the coefficients km, vm. */
static void attend(const vka_ref_continuous_problem *c, size_t slice, uint32_t head, const double *km, const double *vm,
                   double *r)
{
    uint32_t n = c->nbasis;
    const double *w_mu = c->w_mu + (size_t)head * n, *w_sigma = c->w_sigma + (size_t)head * n;
    for (uint32_t i = 0; i < c->nq; i++) {
        const double *q = c->q + (slice * c->nq + i) * c->d;
        double a = 0, b = 0;
        for (uint32_t j = 0; j < n; j++) {
            double s = 0;
            for (uint32_t e = 0; e < c->d; e++)
                s += km[(size_t)j * c->d + e] * q[e];
            s *= c->scale;
            a += w_mu[j] * s;
            b += w_sigma[j] * s;
        }
        double mu = 1.0 / (1.0 + exp(-a));
        double variance = fmax(fmax(b, 0.0) + log1p(exp(-fabs(b))), 1e-4); /* softplus without overflow */
        for (uint32_t j = 0; j < n; j++) {
            double mu_j, sigma_j;
            centre(n, c->widths, c->width_count, j, &mu_j, &sigma_j);
            r[j] = gaussian(mu, mu_j, sigma_j * sigma_j + variance);
        }
        double *o = c->out + (slice * c->nq + i) * c->dv;
        for (uint32_t e = 0; e < c->dv; e++) {
            double s = 0;
            for (uint32_t j = 0; j < n; j++)
                s += vm[(size_t)j * c->dv + e] * r[j];
            o[e] = s;
        }
    }
}

bool vka_ref_continuous(const vka_ref_continuous_problem *c)
{
    uint32_t n = c->nbasis, points, offset;
    double *gt = fit_matrix(c, &points, &offset);
    double *km = calloc((size_t)n * c->d, sizeof *km), *vm = calloc((size_t)n * c->dv, sizeof *vm);
    double *r = malloc(n * sizeof *r);
    bool ok = gt && km && vm && r;
    for (uint32_t b = 0; ok && b < c->batch; b++)
        for (uint32_t h = 0; h < c->heads; h++) {
            size_t slice = (size_t)b * c->heads + h;
            /* The old signal is zero: only the chunk's columns of Gᵀ contribute. */
            if (c->k) {
                fit(gt, n, points, offset, c->k + slice * c->length * c->d, c->length, c->d, km);
                fit(gt, n, points, offset, c->v + slice * c->length * c->dv, c->length, c->dv, vm);
            }
            attend(c, slice, h, km, vm, r);
        }
    free(gt);
    free(km);
    free(vm);
    free(r);
    return ok;
}
