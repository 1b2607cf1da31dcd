/* The interface an operation's lower() uses to describe its kernel dispatches and the
 * intermediate tensors between them. The planner owns everything created here. */
#ifndef VKA_GRAPH_LOWER_H
#define VKA_GRAPH_LOWER_H

#include "kernels/registry.h"
#include "graph.h"

typedef struct vka_lowering vka_lowering;

typedef struct vka_binding_desc {
    uint32_t tensor; /* a plan tensor id; 0 ends the list */
    vka_access access;
    bool whole;             /* the whole tensor for every slice (e.g. kv_len, shared weights);
                               otherwise slice z of the dispatch sees slice z + slice_offset of the tensor */
    uint32_t slice_offset;  /* for a tensor with more slices than the dispatch: the first one
                               it sees (its slices are then aligned so any can start a binding) */
    uint32_t slice_divisor; /* > 1: dispatch slice z sees tensor slice z / slice_divisor (one
                               [batch] slice shared by `divisor` [batch, head] slices); the
                               kernel then indexes the binding itself (see heads.comp) */
} vka_binding_desc;

/* One dispatch of a kernel. Its constants and push fields are written by name through the
 * kernel's own members of the unions (vka_kernels.h, generated from the shader):
 *   .kernel = VKA_KERNEL_SOFTMAX_ROWS,
 *   .spec.softmax_rows = {.workgroup_size = 64, .KV_VEC4 = 1},
 *   .push.softmax_rows = {.nq = rows, .nk = cols, ...}, */
typedef struct vka_dispatch_desc {
    vka_kernel_id kernel;
    vka_spec_words spec; /* .workgroup_size is every kernel's constant 0 */
    vka_push_words push; /* after the recorder's header */
    uint32_t groups_x, groups_y;
    uint32_t slices; /* gl_NumWorkGroups.z: [batch, head] pairs */
    vka_binding_desc bindings[VKA_MAX_BINDINGS];
} vka_dispatch_desc;

/* The plan tensor of a node's input (by role index; 0 if absent) and of its result. */
uint32_t vka_lower_input(const vka_lowering *lw, const vka_op_node *node, int role);
uint32_t vka_lower_result(const vka_lowering *lw, const vka_op_node *node);
/* The element type large per-token intermediates may be stored in: the result's on the
 * device (f16 when the op writes f16). Sums, statistics and states stay f32. */
vka_dtype vka_lower_storage_dtype(const vka_lowering *lw, const vka_op_node *node);
/* A plan tensor's element type on the device. */
vka_dtype vka_lower_dtype(const vka_lowering *lw, uint32_t tensor);
/* A constant's dense host data, f16 widened to f32 (NULL for a tensor that is not a
 * constant, or out of host memory). */
const void *vka_lower_constant_data(const vka_lowering *lw, uint32_t tensor);

typedef enum vka_activation { /* = shaders/activation.glsl's modes */
                              VKA_ACTIVATION_NONE,
                              VKA_ACTIVATION_GELU,
                              VKA_ACTIVATION_RELU,
                              VKA_ACTIVATION_SOFTPLUS,
                              VKA_ACTIVATION_SQRT_SOFTPLUS, /* a Gaussian head's std */
} vka_activation;

/* The activation the planner fused into this node (a class with absorbs_activation): the
 * node applies it before writing, and its result (vka_lower_result) is then the
 * activation's. VKA_ACTIVATION_NONE when nothing was fused. */
vka_activation vka_lower_fused_activation(const vka_lowering *lw, const vka_op_node *node);

/* A tensor that lives only between dispatches of this plan. */
vka_result vka_lower_intermediate(vka_lowering *lw, const char *name, vka_dtype dtype, uint32_t rank,
                                  const uint32_t *dims, uint32_t *out);
/* A tensor with content known now, uploaded once at plan time (data is copied). */
vka_result vka_lower_constant(vka_lowering *lw, const char *name, vka_dtype dtype, uint32_t rank, const uint32_t *dims,
                              const void *data, uint32_t *out);
/* A constant an earlier lowering of the same operation class made with vka_lower_constant
 * under `name` (0 if none): data derived once from tensors several nodes share (name it
 * by their ids). */
uint32_t vka_lower_find_constant(const vka_lowering *lw, const char *name);
/* A constant drawn by `draw` from a seed (random projections): made now from `seed`, and
 * drawn again from a new seed by vka_plan_redraw. `args` go to `draw` unchanged. */
typedef vka_result (*vka_constant_draw)(uint64_t seed, const uint32_t args[4], float *out);
/* Holds a tensor the lowering just made (a constant drawn or given as f32) as `dtype` on the
 * device, converted when uploaded: f16 halves a large projection. Before any dispatch binds it. */
vka_result vka_lower_store_as(vka_lowering *lw, uint32_t tensor, vka_dtype dtype);
vka_result vka_lower_drawn_constant(vka_lowering *lw, const char *name, uint32_t rank, const uint32_t *dims,
                                    vka_constant_draw draw, const uint32_t args[4], uint64_t seed, uint32_t *out);
/* A tensor that keeps its content across runs (a decoding state), named `name` for
 * vka_plan_read/vka_plan_write; it starts as `initial` (copied) and returns to it on
 * vka_plan_reset_states. */
vka_result vka_lower_state(vka_lowering *lw, const char *name, vka_dtype dtype, uint32_t rank, const uint32_t *dims,
                           const void *initial, uint32_t *out);
/* A 16-byte tensor of zeros to bind where a kernel's binding is unused in this variant. */
vka_result vka_lower_dummy(vka_lowering *lw, uint32_t *out);
vka_result vka_lower_dispatch(vka_lowering *lw, const vka_dispatch_desc *desc);

/* Host work between runs (the ∞-former's sticky memories): before every vka_plan_run,
 * the `reads` (states: what earlier runs left) come down as dense floats, `fn` computes
 * the `writes` (constants) from them, and those go up. `run` counts the plan's runs since
 * it was made or its states were reset (0: the reads hold their initial values). A plan
 * with host steps cannot be recorded into another command buffer. */
/* A figure of the operation's own work for the plan's statistics (vka_plan_op_stat_at):
 * `key` is a string that outlives the plan (a literal). */
vka_result vka_lower_note_stat(vka_lowering *lw, const char *key, uint64_t value);

#define VKA_HOST_STEP_TENSORS 2
typedef vka_result (*vka_host_step_fn)(vka_context *ctx, void *state, uint64_t run, const float *const *reads,
                                       float *const *writes);
typedef struct vka_host_step_desc {
    vka_host_step_fn fn;
    const void *state; /* copied: state_bytes */
    size_t state_bytes;
    uint32_t reads[VKA_HOST_STEP_TENSORS], writes[VKA_HOST_STEP_TENSORS]; /* plan tensors; 0 ends */
} vka_host_step_desc;
vka_result vka_lower_host_step(vka_lowering *lw, const vka_host_step_desc *desc);

/* A fill level the host follows as well as the device (a KV cache's lengths): `length` is an
 * int32 [batch] state the op's kernels advance by `added` each run — an int32 [batch]
 * input (the values last written) or, with added 0, `fixed` tokens per batch. vka_plan_run
 * refuses a run that would take a batch past `capacity`, naming the lengths, before
 * anything runs; writes of `length` (a restore) are checked to lie in [0, capacity]. After
 * a vka_plan_record the host no longer knows the level: the next run reads it back. */
typedef struct vka_counter_desc {
    uint32_t length, added, fixed, capacity;
    const char *what; /* "KV cache": the thing that fills, for messages */
} vka_counter_desc;
vka_result vka_lower_counter(vka_lowering *lw, const vka_counter_desc *desc);

vka_context *vka_lower_context(const vka_lowering *lw);
/* Capabilities after the clamp, and the kernel class to use. */
const vka_device_info *vka_lower_device(const vka_lowering *lw);

#endif
