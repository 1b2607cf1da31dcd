/* vkattn — the catalogue of operations: what each takes (inputs, parameters, defaults),
 * an operation posed on a problem size, what a graph's operations resolved their
 * parameters to, and the Performer's random projections. What a tool that builds any
 * scheme (vkattn bench, vkattn info) reads. Beside the core header (vkattn.h), which it
 * includes. */
#ifndef VKATTN_OPS_H
#define VKATTN_OPS_H

#include "../vkattn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- operations */

/* One parameter an operation takes. */
typedef struct vka_param_info {
    const char *key;
    vka_param_type type;
    const char *summary;
    const char *fallback;       /* the default as text ("0", "64", "flash"), else NULL and: */
    const char *derived;        /* how the default follows from the inputs ("1/sqrt(D)"), else NULL: required */
    double min, max;            /* INT and FLOAT */
    const char *const *choices; /* ENUM: NULL-terminated */
} vka_param_info;

/* What an input holds: what a benchmark fills it with, what a model learns. */
typedef enum vka_input_kind {
    VKA_INPUT_TOKENS = 1, /* activations, a row per token: q, k, v, x */
    VKA_INPUT_LEARNED,    /* a model's weights: latents, projections, MLPs */
    VKA_INPUT_POSITIONS,  /* coordinates of the tokens (te_attention's xq, xk) */
    VKA_INPUT_INDICES,    /* int32 counts or layouts: kv_len, layout */
    VKA_INPUT_MASK,       /* what may attend: an additive mask (not posed by an example) */
} vka_input_kind;

#define VKA_DTYPE_BIT(dtype) (1u << (dtype))

/* One input an operation takes. `shape` names its axes: B batch, H heads, Hkv heads of k
 * and v (grouped heads; H unless asked), Nq queries, Nk keys, D head dim, Dv value dim;
 * "..." any leading axes; a size the operation names
 * itself carries an example, "L=32", and sums or products join them ("H+2", "H*D"). */
/* The values a float input may take (SCHEMES.md: gla's gates ≤ 0, deltanet's β in
 * (0, 1)); bounded false: any. The graph refuses a constant outside it and vka_plan_write
 * (and the reference) data outside it, naming the element; NaN is always outside. */
typedef struct vka_value_range {
    bool bounded;
    bool open_min, open_max; /* the bound itself is outside */
    float min, max;          /* may be ±INFINITY */
} vka_value_range;

/* Moves draws (any floats, e.g. N(0, 1)) inside `range`, for posing an input: squashed
 * between two finite bounds, folded below or above a single one, a margin off open bounds;
 * unbounded: left as they are. */
VKA_API void vka_value_range_place(const vka_value_range *range, float *x, size_t n);

typedef struct vka_input_info {
    const char *role;
    vka_input_kind kind;
    uint32_t dtypes; /* a VKA_DTYPE_BIT per element type accepted */
    const char *shape;
    const char *summary;
    bool optional;
    bool in_logits;      /* enters the attention logits (q, k): what a benchmark's input scale scales */
    bool constant;       /* must be a graph constant: packed into the plan when it is created */
    const char *same_as; /* if given, it must be the same tensor as this role (the Reformer's k is its q) */
    vka_value_range values;
} vka_input_info;

/* The operations the engine knows, and what each takes. */
typedef struct vka_op_info {
    const char *name;
    const char *summary;
    const vka_input_info *inputs;
    uint32_t input_count;
    uint32_t required_input_count;
    const char *output_shape; /* in the inputs' axis names */
    /* The output's row for a query depends on that query and the keys only: the last rows
     * of a problem, with the same keys, are those rows of the whole (causal masks align
     * bottom-right). A benchmark may check a few rows against the reference. */
    bool rows_independent;
    const vka_param_info *params;
    uint32_t param_count;
} vka_op_info;

VKA_API uint32_t vka_op_count(void);
VKA_API vka_result vka_op_info_at(uint32_t index, vka_op_info *out);
VKA_API vka_result vka_op_info_named(const char *name, vka_op_info *out);

/* A problem size in the inputs' axis names. */
typedef struct vka_problem {
    uint32_t batch, heads, queries, keys, head_dim;
    uint32_t value_dim; /* 0: head_dim */
    uint32_t kv_heads;  /* Hkv, the heads of k and v where an op takes grouped heads; 0: heads */
} vka_problem;

typedef struct vka_example_input {
    const char *role;
    vka_input_kind kind;
    bool in_logits, constant;
    vka_value_range values; /* what its values may be (vka_input_info.values) */
    vka_tensor_desc desc;   /* named after the role */
    int32_t query_axis;     /* the axis of the queries (Nq), or -1 */
} vka_example_input;

/* An operation posed on a problem: the shapes of its required inputs (and of optional
 * token inputs: continuous_update's chunk) and the parameters it cannot do without, at
 * example values ("window=128"); what `vkattn bench` builds. */
typedef struct vka_op_example {
    vka_example_input inputs[VKA_MAX_OP_INPUTS];
    uint32_t input_count;
    vka_op_number params[VKA_MAX_OP_PARAMS]; /* ends at the first entry without a key */
    vka_tensor_desc output;
    int32_t output_query_axis; /* -1: none */
} vka_op_example;

/* NOT_FOUND: no such operation; INVALID_ARGUMENT: a size of 0; UNSUPPORTED: a required
 * input whose shape the problem does not fix (blocksparse's layout follows its block). */
VKA_API vka_result vka_op_example_for(const char *op, const vka_problem *problem, vka_op_example *out);

/* What an operation of the graph resolved a parameter to, defaults and derived values
 * included (index < the count; `op` is the operation's result tensor). */
typedef struct vka_param_value {
    const char *key;
    vka_param_type type;
    bool given;       /* false: the default */
    double number;    /* BOOL, INT, FLOAT; ENUM: the choice's index */
    const char *text; /* ENUM: the choice; NAME, LIST: the text; else NULL */
} vka_param_value;

VKA_API uint32_t vka_graph_op_param_count(const vka_graph *graph, vka_tensor op);
VKA_API vka_result vka_graph_op_param_at(const vka_graph *graph, vka_tensor op, uint32_t index, vka_param_value *out);

/* ---------------------------------------------------------------- random features */

/* A Performer projection W (features × head_dim, row-major) from seed: orthogonal
 * Gaussian blocks of head_dim rows (QR of a Gaussian matrix) with rows rescaled by
 * χ-distributed norms, or iid Gaussian rows. The same seed gives the same matrix. */
VKA_API vka_result vka_random_projection(uint64_t seed, uint32_t features, uint32_t head_dim, bool orthogonal,
                                         float *out);

/* Training-style redraw: every projection the plan generated from a `seed` parameter is
 * drawn again — the i-th (in graph order) from seed + i, as vka_random_projection would
 * draw it — and uploaded; later runs use the new matrices. NOT_FOUND if the plan
 * generated none (an op given a `projection` input takes new matrices through
 * vka_plan_write instead). */
VKA_API vka_result vka_plan_redraw(vka_plan *plan, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif /* VKATTN_OPS_H */
