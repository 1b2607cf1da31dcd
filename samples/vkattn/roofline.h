/* The device's roofline (`vkattn roofline`, and the ceiling every bench row is measured
 * against): the peak f32 and f16 multiply-add rates (the fma_peak probe: eight independent
 * chains per element, as vkpeak and clpeak measure them) and the copy bandwidth (the `add`
 * operation on 32 MiB operands: two reads and a write per element, STREAM's "add"). A row
 * that does F flops over B bytes of inputs and outputs can reach at most
 * min(peak, F/B · bandwidth); its fraction of the roofline is what it reached of that. */
#ifndef VKATTN_ROOFLINE_H
#define VKATTN_ROOFLINE_H

#include "cli.h"

typedef struct roofline {
    double f32_gflops;                       /* multiply-adds counted as 2 flops */
    double f16_gflops;                       /* 0: the device computes in f16 not at all (shaderFloat16) */
    double bandwidth_gbs;                    /* 1e9 bytes per second */
    uint32_t f32_iterations, f16_iterations; /* the probes' steps, scaled to the target time */
    uint64_t bandwidth_bytes;                /* moved per run of the bandwidth probe */
    char source[256];                        /* "measured", or the file it was read from */
} roofline;

/* Measures the three ceilings, each the median of `reps` runs sized to about target_ms;
 * every probe's output is checked against its closed form first (a driver that skipped
 * the work must not set a ceiling). 0, or the exit status after cli_fail. */
int roofline_measure(vka_context *ctx, double target_ms, int reps, roofline *out);

/* Reads a roofline from `vkattn roofline --json` output or from any bench JSON row that
 * carries one. 0, or the exit status after cli_fail. */
int roofline_load(const char *path, roofline *out);

/* {"f32_gflops":…,"f16_gflops":…,"bandwidth_gbs":…,…} */
void roofline_write_json(FILE *f, const roofline *r);

/* What the row reached of its ceiling min(peak f32, flops/bytes · bandwidth), in [0, 1+]. */
double roofline_fraction(const roofline *r, double flops, double bytes, double ms);

#endif
