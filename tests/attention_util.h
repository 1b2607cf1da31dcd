/* Running one softmax attention on the GPU and on the reference, and comparing. */
#ifndef VKATTN_TEST_ATTENTION_UTIL_H
#define VKATTN_TEST_ATTENTION_UTIL_H

#include "harness.h"

typedef struct attn_case {
    const char *scheme;                   /* NULL: softmax */
    const vka_op_param *params;           /* more parameters, ending with {0} (or NULL) */
    uint32_t batch, heads, nq, nk, d, dv; /* dv 0: = d */
    bool causal;
    const int32_t *kv_len; /* [batch] or NULL */
    const char *scale;     /* NULL: the default 1/sqrt(d) */
    const char *kernel;    /* NULL: the default (flash) */
    float input_scale;     /* inputs ~ N(0, input_scale²); 0: 1 */
    uint64_t seed;
} attn_case;

typedef struct attn_data {
    float *q, *k, *v, *expected;
    size_t q_bytes, k_bytes, v_bytes, out_bytes;
} attn_data;

/* Random inputs and the reference output for the case. */
bool attn_data_make(vka_context *ctx, const attn_case *c, attn_data *data);
/* The reference output again, after the inputs were changed. */
bool attn_reference(vka_context *ctx, const attn_case *c, attn_data *data);
void attn_data_free(attn_data *data);

/* Builds the graph (inputs q, k, v[, kv_len], output "out"); NULL on failure. */
vka_graph *attn_graph(vka_context *ctx, const attn_case *c);

/* Plans, writes, runs and reads; out must hold data->out_bytes. */
vka_result attn_run_gpu(vka_context *ctx, const attn_case *c, const attn_data *data, float *out, vka_plan_stats *stats);

/* GPU against the reference with |gpu − ref| ≤ atol + rtol·|ref|. */
bool attn_check(vka_context *ctx, const attn_case *c, const attn_data *data, double atol, double rtol,
                const char *label);

#endif
