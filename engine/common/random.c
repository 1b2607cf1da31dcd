/* Random projections for Performer's features, generated on the host from a seed:
 * orthogonal Gaussian blocks (the Q factor of a Gaussian matrix's QR, by modified
 * Gram–Schmidt in double) with rows rescaled by χ_D-distributed norms, or plain iid
 * Gaussian rows. Deterministic: the same seed gives the same matrix everywhere. */
#include "random.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
    uint64_t state;
} rng;

/* splitmix64: a small, well-mixed, portable generator. */
static uint64_t next_u64(rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_uniform(rng *r)
{
    return ((next_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0); /* (0, 1) */
}

static double next_gaussian(rng *r)
{
    double u = next_uniform(r), v = next_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

double vka_rng_uniform(vka_rng *r)
{
    rng inner = {r->state};
    double u = next_uniform(&inner);
    r->state = inner.state;
    return u;
}

uint32_t vka_bigbird_random_blocks(uint32_t seed, uint32_t blocks, uint32_t me, uint32_t count, uint32_t *out)
{
    /* A partial Fisher–Yates over the candidates, in a fixed order. */
    uint32_t drawn = 0, candidates = 0;
    for (uint32_t t = 0; t < blocks; t++)
        candidates += !(t + 1 >= me && t <= me + 1) && t != 0 && t + 1 != blocks;
    uint32_t *pool = malloc((candidates ? candidates : 1) * sizeof *pool);
    if (!pool)
        return 0;
    candidates = 0;
    for (uint32_t t = 0; t < blocks; t++)
        if (!(t + 1 >= me && t <= me + 1) && t != 0 && t + 1 != blocks)
            pool[candidates++] = t;
    rng r = {(uint64_t)seed * 0x9E3779B97F4A7C15ull + me};
    for (; drawn < count && drawn < candidates; drawn++) {
        uint32_t pick = drawn + (uint32_t)(next_uniform(&r) * (candidates - drawn));
        if (pick >= candidates)
            pick = candidates - 1;
        uint32_t t = pool[pick];
        pool[pick] = pool[drawn];
        pool[drawn] = t;
        out[drawn] = t;
    }
    free(pool);
    return drawn;
}

void vka_random_gaussian(uint64_t seed, size_t n, double stddev, float *out)
{
    rng r = {seed};
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(next_gaussian(&r) * stddev);
}

/* Orthonormalises the d rows of block (d × d) in place; a (vanishingly unlikely)
 * dependent row is redrawn. */
static void orthonormalise(rng *r, double *block, uint32_t d)
{
    for (uint32_t i = 0; i < d; i++) {
        double *row = block + (size_t)i * d;
        for (int attempt = 0;; attempt++) {
            for (uint32_t j = 0; j < i; j++) {
                const double *prev = block + (size_t)j * d;
                double dot = 0;
                for (uint32_t c = 0; c < d; c++)
                    dot += row[c] * prev[c];
                for (uint32_t c = 0; c < d; c++)
                    row[c] -= dot * prev[c];
            }
            double norm = 0;
            for (uint32_t c = 0; c < d; c++)
                norm += row[c] * row[c];
            norm = sqrt(norm);
            if (norm > 1e-6 || attempt > 8) {
                for (uint32_t c = 0; c < d; c++)
                    row[c] /= norm;
                break;
            }
            for (uint32_t c = 0; c < d; c++)
                row[c] = next_gaussian(r);
        }
    }
}

static double chi_norm(rng *r, uint32_t d)
{
    double sum = 0;
    for (uint32_t c = 0; c < d; c++) {
        double g = next_gaussian(r);
        sum += g * g;
    }
    return sqrt(sum);
}

vka_result vka_random_projection(uint64_t seed, uint32_t features, uint32_t head_dim, bool orthogonal, float *out)
{
    if (!out || features == 0 || head_dim == 0)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_random_projection: features and head_dim must be > 0");
    rng r = {seed};
    double *block = malloc((size_t)head_dim * head_dim * sizeof *block);
    if (!block)
        return vka_fail(NULL, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory generating a projection");
    for (uint32_t row0 = 0; row0 < features; row0 += head_dim) {
        for (size_t i = 0; i < (size_t)head_dim * head_dim; i++)
            block[i] = next_gaussian(&r);
        if (orthogonal)
            orthonormalise(&r, block, head_dim);
        for (uint32_t i = 0; i < head_dim && row0 + i < features; i++) {
            /* Orthogonal rows get the length a Gaussian row would have had. */
            double scale = orthogonal ? chi_norm(&r, head_dim) : 1.0;
            for (uint32_t c = 0; c < head_dim; c++)
                out[(size_t)(row0 + i) * head_dim + c] = (float)(block[(size_t)i * head_dim + c] * scale);
        }
    }
    free(block);
    return VKA_SUCCESS;
}
