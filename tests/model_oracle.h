/* Model-level blocks in double precision, written from their definitions (research
 * schemes.md §4.2, §4.4; include/vkattn.h) with nothing shared with the engine: the
 * independent oracle for the graph helpers (MAB, ISAB, PMA, the pre-norm transformer
 * layer, the pseudo-token encoders). One batch element at a time; rows × width, row-major;
 * weights [in, out] as the graph holds them (float), biases NULL when absent. */
#ifndef VKATTN_TEST_MODEL_ORACLE_H
#define VKATTN_TEST_MODEL_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct oracle_mha {
    const float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo; /* wo NULL: no output projection */
    uint32_t in_q, in_kv, width, out, heads;            /* width = heads · head dim */
    double scale;                                       /* 0: 1/√(head dim) */
} oracle_mha;

void oracle_dense(const double *x, size_t rows, uint32_t in, const float *w, const float *b, uint32_t out, double *y);
void oracle_layernorm(const double *x, size_t rows, uint32_t width, const float *w, const float *b, double *y);
void oracle_relu(double *x, size_t n);

/* out (nq × out, or nq × width without wo) = MHA(xq, xkv); xkv NULL: self. */
void oracle_mha_run(const oracle_mha *m, const double *xq, uint32_t nq, const double *xkv, uint32_t nk, double *out);

typedef struct oracle_mab {
    oracle_mha attention; /* wo unused: the residual block's fc_o is below */
    const float *wo, *bo, *ln0_w, *ln0_b, *ln1_w, *ln1_b;
} oracle_mab;

/* Set Transformer MAB(x, y), scale 0 meaning 1/√width; out nx × width. */
void oracle_mab_run(const oracle_mab *m, const double *x, uint32_t nx, const double *y, uint32_t ny, double *out);

typedef struct oracle_layer {
    oracle_mha attention;
    const float *n1_w, *n1_b, *n2_w, *n2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
    uint32_t width, ff; /* model width, feed-forward width */
    bool residual_normalized;
} oracle_layer;

/* The pre-norm layer: x (n × width) updated in place from context (nc rows; NULL: self). */
void oracle_layer_run(const oracle_layer *l, double *x, uint32_t n, const double *context, uint32_t nc);

#endif
