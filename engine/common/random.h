/* Host-side random numbers from a seed (splitmix64 + Box–Muller), shared by the families
 * that draw constants: deterministic, the same everywhere. */
#ifndef VKA_COMMON_RANDOM_H
#define VKA_COMMON_RANDOM_H

#include "common.h"

/* n values drawn from N(0, stddev²). */
void vka_random_gaussian(uint64_t seed, size_t n, double stddev, float *out);

/* A stream of uniform numbers in (0, 1) from a seed. */
typedef struct vka_rng {
    uint64_t state;
} vka_rng;
double vka_rng_uniform(vka_rng *r);

/* BigBird's random key blocks for query block `me` of `blocks`: up to `count` distinct
 * blocks other than me − 1, me, me + 1, the first and the last, drawn from the seed
 * (the same for every head). Returns how many (fewer when fewer remain). */
uint32_t vka_bigbird_random_blocks(uint32_t seed, uint32_t blocks, uint32_t me, uint32_t count, uint32_t *out);

#endif
