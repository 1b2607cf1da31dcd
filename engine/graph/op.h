/* What an operation family provides: validation of inputs and parameters (build),
 * its lowering to kernel dispatches (lower), its double-precision reference
 * (reference, through engine/ref) and its flop count. One file per family in
 * engine/schemes or engine/blocks defines one or more classes with VKA_OP_CLASS; that is
 * all it takes to register them (tools/op_registry.py lists them at build time). */
#ifndef VKA_GRAPH_OP_H
#define VKA_GRAPH_OP_H

#include "graph.h"
#include "lower.h"

#include "params.h"

/* What build() sees and fills. */
typedef struct vka_op_build {
    vka_context *ctx;
    const char *op;
    const vka_graph_tensor *inputs[VKA_MAX_OP_INPUTS]; /* by role index; NULL if absent */
    vka_param_reader *params;
    void *parsed;           /* params_size bytes, zeroed */
    vka_dtype output_dtype; /* DEFAULT: the graph decides (vka_op_desc.dtype, else the first input's) */
    uint32_t output_rank;
    uint32_t output_dims[VKA_MAX_RANK];
    /* Optional: the values an int32 input may hold (checked on every write of it). */
    struct {
        bool active;
        int32_t min, max;
    } int_range[VKA_MAX_OP_INPUTS];
} vka_op_build;

/* Host tensors for the reference: f32 and f16 data widened to double, i32 kept. */
typedef struct vka_ref_view {
    vka_dtype dtype;
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
    double *data;  /* f32 tensors */
    int32_t *ints; /* i32 tensors */
} vka_ref_view;

typedef struct vka_op_class {
    const char *name;
    const char *summary;
    const vka_input_info *inputs; /* ends at an entry without a role */
    const char *output_shape;     /* in the inputs' axis names (vka_input_info) */
    bool rows_independent;        /* see vka_op_info */
    const vka_op_param *examples; /* required parameters at example values; ends at an entry without a key */
    const vka_param_info *params; /* the schema (graph/params.h); ends at an entry without a key */
    size_t params_size;
    vka_result (*build)(vka_op_build *b);
    vka_result (*lower)(vka_lowering *lw, const vka_op_node *node);
    vka_result (*reference)(vka_context *ctx, const vka_op_node *node, const vka_ref_view *inputs,
                            vka_ref_view *output);
    double (*flops)(const vka_graph *g, const vka_op_node *node);
    /* Fusion (the planner's): an element-wise activation of its one input, and a producer
     * that can apply one in its epilogue (vka_lower_fused_activation). */
    vka_activation activation;
    bool absorbs_activation;
} vka_op_class;

/* Defines (and so registers) the operation class `name`: VKA_OP_CLASS(softmax) = {...}; */
#define VKA_OP_CLASS(name) const vka_op_class vka_op_##name

const vka_op_class *vka_op_class_named(const char *name);
const vka_op_class *vka_op_class_at(uint32_t index);
uint32_t vka_op_class_count(void);

/* The index of `role` in cls->inputs, or -1. */
int vka_op_role_index(const vka_op_class *cls, const char *role);
/* How many inputs the class takes, and how many of them it requires. */
uint32_t vka_op_input_count(const vka_op_class *cls);
uint32_t vka_op_required_input_count(const vka_op_class *cls);

/* Input tables: VKA_IN(role, kind, shape, summary) and its optional, logit, packed and
 * kv_len forms. */
#define VKA_FLOAT (VKA_DTYPE_BIT(VKA_DTYPE_F32) | VKA_DTYPE_BIT(VKA_DTYPE_F16))
#define VKA_IN(ROLE, KIND, SHAPE, SUMMARY)                                                                             \
    {                                                                                                                  \
        .role = ROLE, .kind = KIND, .dtypes = VKA_FLOAT, .shape = SHAPE, .summary = SUMMARY                            \
    }
#define VKA_IN_OPTIONAL(ROLE, KIND, SHAPE, SUMMARY)                                                                    \
    {                                                                                                                  \
        .role = ROLE, .kind = KIND, .dtypes = VKA_FLOAT, .shape = SHAPE, .summary = SUMMARY, .optional = true          \
    }
#define VKA_IN_LOGITS(ROLE, SHAPE, SUMMARY)                                                                            \
    {                                                                                                                  \
        .role = ROLE, .kind = VKA_INPUT_TOKENS, .dtypes = VKA_FLOAT, .shape = SHAPE, .summary = SUMMARY,               \
        .in_logits = true                                                                                              \
    }
/* A learned input the plan packs when it is created (a graph constant). */
#define VKA_IN_PACKED(ROLE, SHAPE, SUMMARY, OPTIONAL)                                                                  \
    {                                                                                                                  \
        .role = ROLE, .kind = VKA_INPUT_LEARNED, .dtypes = VKA_FLOAT, .shape = SHAPE, .summary = SUMMARY,              \
        .optional = OPTIONAL, .constant = true                                                                         \
    }
#define VKA_IN_KV_LEN                                                                                                  \
    {                                                                                                                  \
        .role = "kv_len", .kind = VKA_INPUT_INDICES, .dtypes = VKA_DTYPE_BIT(VKA_DTYPE_I32), .shape = "B",             \
        .summary = "keys each batch attends (int32)", .optional = true                                                 \
    }
/* A logit per head that joins every row's normaliser and carries no value (SCHEMES.md §1's
 * sinks: softmax and the sparse patterns). */
/* An additive mask on the scaled logits (softmax, the sparse patterns). */
#define VKA_IN_MASK                                                                                                    \
    VKA_IN_OPTIONAL("mask", VKA_INPUT_MASK, "B,H,Nq,Nk",                                                               \
                    "added to the scaled logits (−inf: may not attend); B and H may be 1 (broadcast)")
#define VKA_IN_SINKS                                                                                                   \
    {                                                                                                                  \
        .role = "sinks", .kind = VKA_INPUT_LEARNED, .dtypes = VKA_DTYPE_BIT(VKA_DTYPE_F32), .shape = "H",              \
        .summary = "a logit per head joining every row's normaliser, with no value (gpt-oss)", .optional = true        \
    }
/* The attention inputs [B, H, N, D] most schemes take. */
#define VKA_IN_Q VKA_IN_LOGITS("q", "B,H,Nq,D", "queries")
#define VKA_IN_K VKA_IN_LOGITS("k", "B,H,Nk,D", "keys")
#define VKA_IN_V VKA_IN("v", VKA_INPUT_TOKENS, "B,H,Nk,Dv", "values")
/* k and v with H heads or a divisor of H (grouped heads, SCHEMES.md §Conventions). */
#define VKA_IN_K_GROUPED VKA_IN_LOGITS("k", "B,Hkv,Nk,D", "keys: H heads, or a divisor of H (grouped heads: GQA, MQA)")
#define VKA_IN_V_GROUPED VKA_IN("v", VKA_INPUT_TOKENS, "B,Hkv,Nk,Dv", "values: as many heads as k")

#endif
