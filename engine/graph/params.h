/* An operation's parameters: typed, declared once in its class (a vka_param_info array,
 * the schema: type, range, choices, default), and read by build() through this reader,
 * which takes ranges and defaults from the schema, checks values given as text or as
 * numbers, and records what every parameter resolved to (vka_graph_op_param_at). Messages
 * name the operation, the key and what was expected. Every given key must be read: an
 * unknown key is an error that lists the valid ones (a typo must not become a default). */
#ifndef VKA_GRAPH_PARAMS_H
#define VKA_GRAPH_PARAMS_H

#include "common/common.h"

/* What a parameter resolved to (the text lives here, for the graph's lifetime). */
typedef struct vka_resolved_param {
    vka_param_value value;
    char text[64];
} vka_resolved_param;

/* A given value: text, or (text NULL) a number. */
typedef struct vka_given_param {
    const char *key;
    const char *text;
    double number;
} vka_given_param;

typedef struct vka_param_reader {
    vka_context *ctx;
    const char *op;
    const vka_param_info *schema; /* ends at the first entry without a key */
    vka_given_param given[2 * VKA_MAX_OP_PARAMS];
    uint32_t count;
    uint64_t used; /* bit per given parameter */
    vka_resolved_param resolved[VKA_MAX_OP_PARAMS];
    uint32_t resolved_count;
} vka_param_reader;

/* Schema entries most attention operations share. */
#define VKA_PARAM_SCALE                                                                                                \
    {                                                                                                                  \
        "scale", VKA_PARAM_FLOAT, "the scores' scale", NULL, "1/sqrt(D)", -3.0e38, 3.0e38, NULL                        \
    }
#define VKA_PARAM_CAUSAL                                                                                               \
    {                                                                                                                  \
        "causal", VKA_PARAM_BOOL, "keys up to the query's own position only", "0", NULL, 0, 1, NULL                    \
    }
#define VKA_PARAM_SOFTCAP                                                                                              \
    {                                                                                                                  \
        "softcap", VKA_PARAM_FLOAT, "> 0: logits c·tanh(l / c) after scaling (Gemma 2); 0: none", "0", NULL, 0, 1e30,  \
            NULL                                                                                                       \
    }
#define VKA_PARAM_SEED(what)                                                                                           \
    {                                                                                                                  \
        "seed", VKA_PARAM_INT, what, "0", NULL, 0, UINT32_MAX, NULL                                                    \
    }

/* `params` (text) and `numbers` each end at their first entry without a key. */
vka_result vka_params_begin(vka_param_reader *r, vka_context *ctx, const char *op, const vka_param_info *schema,
                            const vka_op_param *params, const vka_op_number *numbers);
/* The schema's default when not given; a key without one is required. */
vka_result vka_param_bool(vka_param_reader *r, const char *key, bool *out);
vka_result vka_param_int(vka_param_reader *r, const char *key, uint32_t *out);
vka_result vka_param_float(vka_param_reader *r, const char *key, double *out);
vka_result vka_param_enum(vka_param_reader *r, const char *key, int *out); /* the choice's index */
vka_result vka_param_text(vka_param_reader *r, const char *key, char *out, size_t size);
/* Parameters whose default follows from the inputs (the schema's `derived`). */
vka_result vka_param_int_or(vka_param_reader *r, const char *key, uint32_t fallback, uint32_t *out);
vka_result vka_param_text_or(vka_param_reader *r, const char *key, const char *fallback, char *out, size_t size);
/* An attention scale: default 1/√head_dim, finite and within float32. */
vka_result vka_param_scale(vka_param_reader *r, const char *key, uint32_t head_dim, float *out);
/* Whether the key was given at all (it is not consumed). */
bool vka_param_given(const vka_param_reader *r, const char *key);
/* Fails on any given parameter no call read, listing the keys the operation takes. */
vka_result vka_params_end(vka_param_reader *r);

#endif
