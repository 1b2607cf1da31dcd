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

bool vka_ref_ridge_fit(uint32_t nbasis, const double *widths, uint32_t width_count, uint32_t length, double lambda,
                       double *gt)
{
    double *a = malloc((size_t)nbasis * nbasis * sizeof *a);
    if (!a)
        return false;
    for (uint32_t j = 0; j < nbasis; j++) { /* F into gt */
        double mu, sigma;
        centre(nbasis, widths, width_count, j, &mu, &sigma);
        for (uint32_t i = 0; i < length; i++)
            gt[(size_t)j * length + i] = gaussian((i + 0.5) / length, mu, sigma * sigma);
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

/* coefficients (nbasis × width) = Gᵀ x for x (length × width). */
static void fit(const double *gt, uint32_t nbasis, uint32_t length, const double *x, uint32_t width, double *out)
{
    for (uint32_t j = 0; j < nbasis; j++)
        for (uint32_t c = 0; c < width; c++) {
            double s = 0;
            for (uint32_t i = 0; i < length; i++)
                s += gt[(size_t)j * length + i] * x[(size_t)i * width + c];
            out[(size_t)j * width + c] = s;
        }
}

bool vka_ref_continuous(const vka_ref_continuous_problem *c)
{
    uint32_t n = c->nbasis;
    double *gt = malloc((size_t)n * c->length * sizeof *gt), *km = malloc((size_t)n * c->d * sizeof *km);
    double *vm = malloc((size_t)n * c->dv * sizeof *vm), *r = malloc(n * sizeof *r);
    bool ok = gt && km && vm && r && vka_ref_ridge_fit(n, c->widths, c->width_count, c->length, c->lambda, gt);
    for (uint32_t b = 0; ok && b < c->batch; b++)
        for (uint32_t h = 0; h < c->heads; h++) {
            size_t slice = (size_t)b * c->heads + h;
            fit(gt, n, c->length, c->k + slice * c->length * c->d, c->d, km);
            fit(gt, n, c->length, c->v + slice * c->length * c->dv, c->dv, vm);
            const double *w_mu = c->w_mu + (size_t)h * n, *w_sigma = c->w_sigma + (size_t)h * n;
            for (uint32_t i = 0; i < c->nq; i++) {
                const double *q = c->q + (slice * c->nq + i) * c->d;
                double a = 0, s2 = 0;
                for (uint32_t j = 0; j < n; j++) {
                    double s = 0;
                    for (uint32_t e = 0; e < c->d; e++)
                        s += km[(size_t)j * c->d + e] * q[e];
                    s *= c->scale;
                    a += w_mu[j] * s;
                    s2 += w_sigma[j] * s;
                }
                double mu = 1.0 / (1.0 + exp(-a)), variance = fmax(log1p(exp(s2)), 1e-4);
                if (s2 > 30) /* softplus without overflow */
                    variance = s2 + log1p(exp(-s2));
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
    free(gt);
    free(km);
    free(vm);
    free(r);
    return ok;
}
