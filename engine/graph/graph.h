/* The graph: tensors and operations as the caller described them. Building a graph
 * touches no GPU memory; planning (plan.h) turns it into dispatches. */
#ifndef VKA_GRAPH_GRAPH_H
#define VKA_GRAPH_GRAPH_H

#include "common/common.h"
#include "device/context.h"

struct vka_op_class; /* engine/graph/op.h */

typedef enum vka_tensor_kind {
    VKA_TENSOR_INPUT,    /* written by the host before runs */
    VKA_TENSOR_CONSTANT, /* host data copied into the graph, uploaded at plan time */
    VKA_TENSOR_RESULT,   /* an operation's result */
} vka_tensor_kind;

/* The values a float input may hold, an op's rule (gla's gates ≤ 0, deltanet's β in
 * (0, 1)): checked when a constant is made and on every write; NaN is always outside. */
typedef struct vka_float_range {
    bool active, open_min, open_max; /* open: the bound itself is outside */
    float min, max;
    const char *op; /* the operation that asked for it */
} vka_float_range;

typedef struct vka_graph_tensor {
    char *name; /* inputs and constants: the caller's; results: the op's */
    vka_tensor_kind kind;
    vka_dtype dtype;
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
    void *data; /* constants: dense host data */
    size_t data_bytes;
    uint32_t producer; /* results: index of the op */
    char *output_name; /* set when the caller named it an output */
    bool int_ranged;   /* int32 values must lie in [int_min, int_max] */
    int32_t int_min, int_max;
    const char *int_range_op; /* the operation that asked for the range */
    vka_float_range float_range;
} vka_graph_tensor;

typedef struct vka_op_node {
    const struct vka_op_class *cls;
    uint32_t inputs[VKA_MAX_OP_INPUTS];  /* by the class's role index; 0 = absent */
    void *params;                        /* the class's parsed parameters */
    struct vka_resolved_param *resolved; /* what each parameter build() read resolved to */
    uint32_t resolved_count;
    uint32_t output;
} vka_op_node;

/* INVALID_ARGUMENT naming `call` for a NULL graph or one whose context was destroyed. */
vka_result vka_graph_alive(const vka_graph *g, const char *call);

struct vka_graph {
    vka_context_child child; /* linked into ctx; ctx is NULL once the context went first */
    vka_context *ctx;
    vka_graph_tensor *tensors; /* index 0 is unused: tensor id 0 means "none" */
    uint32_t tensor_count, tensor_capacity;
    vka_op_node *ops;
    uint32_t op_count, op_capacity;
};

const vka_graph_tensor *vka_graph_tensor_at(const vka_graph *g, uint32_t id);

/* Fails, naming the first offending element, if any value lies outside [min, max]. */
vka_result vka_check_int_range(vka_context *ctx, const char *op, const char *name, const int32_t *values,
                               uint64_t count, int32_t min, int32_t max);
/* Fails, naming the first element outside the range, when f32 or f16 data leaves it. */
vka_result vka_check_float_range(vka_context *ctx, const char *name, const void *data, vka_dtype dtype, uint64_t count,
                                 const vka_float_range *range);

#endif
