/* Synthetic neural-process batches (research/tnp-tables.md §3): GP regression with an
 * RBF, Matérn-5/2 or periodic kernel, and the sawtooth. Statistically what the TNP
 * library's generators draw, not bit-identical (a different RNG). */
#ifndef VKATTN_SAMPLES_TNP_DATA_H
#define VKATTN_SAMPLES_TNP_DATA_H

#include <stdbool.h>
#include <stdint.h>

typedef enum tnp_dataset { TNP_GP_RBF, TNP_GP_MATERN52, TNP_GP_PERIODIC, TNP_SAWTOOTH } tnp_dataset;

typedef struct tnp_batch {
    uint32_t batch, nc, nt, dx; /* dy is 1 */
    float *xc, *yc, *xt, *yt;   /* [batch, n, dx] and [batch, n, 1] */
} tnp_batch;

/* "rbf", "matern52", "periodic", "sawtooth"; false if unknown. */
bool tnp_dataset_named(const char *name, tnp_dataset *out);

/* Draws a batch: contexts on [-2, 2]^dx, targets on [-4, 4]^dx. GP: one kernel
 * hyper-parameter draw per batch (lengthscale 10^U[-0.602, 0] per dimension; periodic
 * period 2), y = f + 0.1·ε drawn jointly over contexts and targets (Cholesky of K + 0.01 I
 * in double). Sawtooth, per task: y = frac(ν x·d − u) + 0.025·ε, ν ~ U[0.25, 0.75],
 * d ∈ {±1}^dx, u ~ U[0, 1). False when out of memory (or the covariance is not positive
 * definite). */
bool tnp_batch_draw(tnp_dataset set, uint32_t batch, uint32_t nc, uint32_t nt, uint32_t dx, uint64_t seed,
                    tnp_batch *out);
void tnp_batch_free(tnp_batch *b);

#endif
