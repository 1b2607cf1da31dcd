#include "tnp_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

bool tnp_dataset_named(const char *name, tnp_dataset *out)
{
    static const char *const names[] = {"rbf", "matern52", "periodic", "sawtooth"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (tnp_dataset)i;
            return true;
        }
    return false;
}

/* splitmix64: small, seedable, good enough for test data. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) /* [0, 1) */
{
    return (double)(next(s) >> 11) * 0x1.0p-53;
}

static double normal(uint64_t *s) /* Box–Muller */
{
    double u = 1.0 - uniform(s), v = uniform(s);
    return sqrt(-2.0 * log(u)) * cos(2.0 * PI * v);
}

static double covariance(tnp_dataset set, const double *a, const double *b, uint32_t dx, const double *ell)
{
    double r2 = 0, s = 0;
    for (uint32_t d = 0; d < dx; d++) {
        double u = (a[d] - b[d]) / ell[d], p = sin(PI * fabs(a[d] - b[d]) / 2.0); /* period 2 */
        r2 += u * u;
        s += p * p / ell[d];
    }
    double r = sqrt(r2);
    if (set == TNP_GP_RBF)
        return exp(-0.5 * r2);
    if (set == TNP_GP_MATERN52)
        return (1 + sqrt(5.0) * r + 5.0 * r2 / 3.0) * exp(-sqrt(5.0) * r);
    return exp(-2.0 * s);
}

/* In place: the lower Cholesky factor of the n × n matrix a. False if not positive definite. */
static bool cholesky(double *a, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        double *rj = a + (size_t)j * n, d = rj[j];
        for (uint32_t k = 0; k < j; k++)
            d -= rj[k] * rj[k];
        if (!(d > 0))
            return false;
        rj[j] = sqrt(d);
        for (uint32_t i = j + 1; i < n; i++) {
            double *ri = a + (size_t)i * n, s = ri[j];
            for (uint32_t k = 0; k < j; k++)
                s -= ri[k] * rj[k];
            ri[j] = s / rj[j];
        }
    }
    return true;
}

static void locations(uint64_t *s, float *x, size_t count, double half_width)
{
    for (size_t i = 0; i < count; i++)
        x[i] = (float)((2 * uniform(s) - 1) * half_width);
}

static bool draw_gp(tnp_dataset set, tnp_batch *b, uint64_t *s)
{
    uint32_t n = b->nc + b->nt, dx = b->dx;
    double ell[64];
    for (uint32_t d = 0; d < dx; d++)
        ell[d] = pow(10.0, -0.602 * (1.0 - uniform(s)));
    double *k = malloc((size_t)n * n * sizeof *k), *x = malloc((size_t)n * dx * sizeof *x), *z = malloc(n * sizeof *z);
    bool ok = k && x && z;
    for (uint32_t t = 0; ok && t < b->batch; t++) {
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t d = 0; d < dx; d++)
                x[(size_t)i * dx + d] = i < b->nc ? b->xc[((size_t)t * b->nc + i) * dx + d]
                                                  : b->xt[((size_t)t * b->nt + i - b->nc) * dx + d];
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = 0; j <= i; j++)
                k[(size_t)i * n + j] =
                    covariance(set, x + (size_t)i * dx, x + (size_t)j * dx, dx, ell) + (i == j ? 0.01 + 1e-6 : 0.0);
        ok = cholesky(k, n);
        for (uint32_t i = 0; ok && i < n; i++)
            z[i] = normal(s);
        for (uint32_t i = 0; ok && i < n; i++) { /* y = L z */
            double y = 0;
            for (uint32_t j = 0; j <= i; j++)
                y += k[(size_t)i * n + j] * z[j];
            if (i < b->nc)
                b->yc[(size_t)t * b->nc + i] = (float)y;
            else
                b->yt[(size_t)t * b->nt + i - b->nc] = (float)y;
        }
    }
    free(k);
    free(x);
    free(z);
    return ok;
}

static void draw_sawtooth(tnp_batch *b, uint64_t *s)
{
    for (uint32_t t = 0; t < b->batch; t++) {
        double nu = 0.25 + 0.5 * uniform(s), u = uniform(s), dir[64];
        for (uint32_t d = 0; d < b->dx; d++)
            dir[d] = normal(s) < 0 ? -1.0 : 1.0;
        for (int set = 0; set < 2; set++) {
            uint32_t n = set ? b->nt : b->nc;
            const float *x = set ? b->xt : b->xc;
            float *y = set ? b->yt : b->yc;
            for (uint32_t i = 0; i < n; i++) {
                double xd = 0;
                for (uint32_t d = 0; d < b->dx; d++)
                    xd += x[((size_t)t * n + i) * b->dx + d] * dir[d];
                double f = nu * xd - u;
                y[(size_t)t * n + i] = (float)(f - floor(f) + 0.025 * normal(s));
            }
        }
    }
}

bool tnp_batch_draw(tnp_dataset set, uint32_t batch, uint32_t nc, uint32_t nt, uint32_t dx, uint64_t seed, tnp_batch *b)
{
    *b = (tnp_batch){.batch = batch, .nc = nc, .nt = nt, .dx = dx};
    if (dx == 0 || dx > 64)
        return false;
    b->xc = malloc((size_t)batch * nc * dx * sizeof *b->xc);
    b->xt = malloc((size_t)batch * nt * dx * sizeof *b->xt);
    b->yc = malloc((size_t)batch * nc * sizeof *b->yc);
    b->yt = malloc((size_t)batch * nt * sizeof *b->yt);
    uint64_t s = seed;
    bool ok = b->xc && b->xt && b->yc && b->yt;
    if (ok) {
        locations(&s, b->xc, (size_t)batch * nc * dx, 2.0);
        locations(&s, b->xt, (size_t)batch * nt * dx, 4.0);
        if (set == TNP_SAWTOOTH)
            draw_sawtooth(b, &s);
        else
            ok = draw_gp(set, b, &s);
    }
    if (!ok)
        tnp_batch_free(b);
    return ok;
}

void tnp_batch_free(tnp_batch *b)
{
    free(b->xc);
    free(b->yc);
    free(b->xt);
    free(b->yt);
    *b = (tnp_batch){0};
}
