/* Parsing an operation's key=value parameters, with messages that name the operation,
 * the key and what was expected. Every key must be consumed: an unknown key is an error
 * (a typo must not silently become a default). */
#ifndef VKA_GRAPH_PARAMS_H
#define VKA_GRAPH_PARAMS_H

#include "common/common.h"

typedef struct vka_param_reader {
    vka_context *ctx;
    const char *op;
    const vka_op_param *params;
    uint32_t count;
    uint32_t used; /* bit per parameter */
} vka_param_reader;

vka_result vka_params_begin(vka_param_reader *r, vka_context *ctx, const char *op, const vka_op_param *params);
vka_result vka_param_bool(vka_param_reader *r, const char *key, bool fallback, bool *out);
/* A finite number. */
vka_result vka_param_number(vka_param_reader *r, const char *key, double fallback, double *out);
/* An attention scale: `key`, default 1/√head_dim, finite and within float32. */
vka_result vka_param_scale(vka_param_reader *r, const char *key, uint32_t head_dim, float *out);
/* An integer in [min, max]. */
vka_result vka_param_uint(vka_param_reader *r, const char *key, uint32_t fallback, uint32_t min, uint32_t max,
                          uint32_t *out);
/* One of choices (NULL-terminated); *out is its index. */
vka_result vka_param_choice(vka_param_reader *r, const char *key, const char *const *choices, int fallback, int *out);
/* A name: 1..size−1 characters. */
vka_result vka_param_name(vka_param_reader *r, const char *key, const char *fallback, char *out, size_t size);
/* Whether the key was given at all (it is not consumed). */
bool vka_param_given(const vka_param_reader *r, const char *key);
/* Fails on any parameter no call consumed. */
vka_result vka_params_end(vka_param_reader *r);

#endif
