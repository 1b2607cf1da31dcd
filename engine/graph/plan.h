/* The plan: the lowered dispatches, the tensors' layout and arena offsets, and the
 * Vulkan objects that replay them. Internal to the graph room. */
#ifndef VKA_GRAPH_PLAN_H
#define VKA_GRAPH_PLAN_H

#include "kernels/pipeline.h"
#include "memory/arena.h"
#include "lower.h"

#define VKA_LIFETIME_FOREVER INT32_MAX

typedef struct vka_plan_tensor {
    char *name;        /* inputs, constants: their name; results: "op" or "op.part" */
    char *output_name; /* set when the caller named it an output */
    vka_tensor_kind kind;
    bool is_output;
    bool is_intermediate; /* made by a lowering */
    bool is_state;        /* keeps its content across runs; data holds its initial value */
    vka_dtype dtype;      /* on the device */
    vka_dtype host_dtype; /* as the host writes and reads it: f16 held as f32 when disable_f16 */
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
    /* Layout in the arena: `slices` blocks of `rows` rows of `row_elems` elements
     * (the last dimension padded to a multiple of 4), one block every `slice_stride`
     * elements. */
    uint32_t slices, rows, row_elems;
    uint64_t slice_stride;
    bool aligned_slices; /* slice_stride padded so that every slice starts aligned */
    uint64_t bytes;
    /* Lifetime in dispatch indices, and placement. */
    int32_t first_use, last_use;
    uint64_t offset;
    const void *data; /* constants: dense host data */
    void *owned_data;
    float *widened;         /* f16 constants: their data as f32, for lowerings that read it on the host */
    vka_constant_draw draw; /* drawn constants: how to draw them again (vka_plan_redraw) */
    uint32_t draw_args[4];
    /* Bound to the application's buffer (vka_plan_bind_buffer): kernels and transfers use
     * it, in the arena's layout, instead of the arena's bytes (which stay reserved). */
    VkBuffer bound_buffer;
    VkDeviceSize bound_offset, bound_size;
    VkBufferUsageFlags bound_usage;
    bool int_ranged; /* int32 values written must lie in [int_min, int_max] */
    int32_t int_min, int_max;
    const char *int_range_op;
    vka_float_range float_range; /* float values written must lie in it */
} vka_plan_tensor;

/* Bytes of one [rows × row_elems] slice on the device. */
static inline uint64_t vka_plan_slice_bytes(const vka_plan_tensor *t)
{
    return (uint64_t)t->rows * t->row_elems * vka_dtype_bytes(t->dtype);
}

/* Bytes from one slice to the next on the device. */
static inline uint64_t vka_plan_slice_stride_bytes(const vka_plan_tensor *t)
{
    return t->slice_stride * vka_dtype_bytes(t->dtype);
}

/* A constant no dispatch reads (a lowering used its data on the host, as te_attention packs
 * its MLP): it takes no arena bytes and is never uploaded. */
static inline bool vka_plan_tensor_unread_constant(const vka_plan_tensor *t)
{
    return t->kind == VKA_TENSOR_CONSTANT && t->last_use < 0 && !t->is_output;
}

/* Host work between runs (vka_lower_host_step), with its dense host buffers. */
typedef struct vka_plan_host_step {
    vka_host_step_desc desc; /* desc.state points at `state` */
    void *state;
    float *reads[VKA_HOST_STEP_TENSORS], *writes[VKA_HOST_STEP_TENSORS];
} vka_plan_host_step;

/* A fill level the host follows (vka_lower_counter), with its host copies. */
typedef struct vka_plan_counter {
    vka_counter_desc desc;
    const char *op; /* the operation's class name */
    uint32_t batch;
    int32_t *length, *added; /* [batch] each */
    bool known;              /* false after a vka_plan_record: read `length` back first */
} vka_plan_counter;

/* One vkCmdDispatch: a dispatch, or a run of its slices when it had to be split. */
typedef struct vka_plan_piece {
    uint32_t dispatch;
    uint32_t slice_begin, slice_count;
    bool barrier_before;
    VkDescriptorSet set;
    double gpu_ms; /* of the last run */
} vka_plan_piece;

typedef struct vka_plan_dispatch {
    vka_dispatch_desc desc;
    uint32_t op; /* the graph operation it lowers */
    const char *op_name;
    vka_pipeline pipeline;
    uint32_t first_piece, piece_count;
} vka_plan_dispatch;

/* The first and last tensor slices a piece's per-slice binding covers (slice offset and
 * divisor applied). */
static inline void vka_binding_slices(const vka_plan_piece *piece, const vka_binding_desc *b, uint32_t *first,
                                      uint32_t *last)
{
    uint32_t divisor = b->slice_divisor > 1 ? b->slice_divisor : 1;
    *first = piece->slice_begin / divisor + b->slice_offset;
    *last = (piece->slice_begin + piece->slice_count - 1) / divisor + b->slice_offset;
}

struct vka_plan {
    vka_context_child child; /* linked into ctx; ctx is NULL once the context went first */
    vka_mutex lock;          /* recursive: the public calls on one plan take turns */
    bool ran;                /* run or recorded at least once: outputs hold results */
    vka_context *ctx;
    vka_plan_desc desc;
    vka_plan_tensor *tensors; /* index 0 unused */
    uint32_t tensor_count, tensor_capacity;
    vka_plan_dispatch *dispatches;
    uint32_t dispatch_count, dispatch_capacity;
    vka_plan_piece *pieces;
    uint32_t piece_count;
    uint64_t alignment; /* of every tensor's offset in the arena */
    uint32_t dummy;     /* the shared unused-binding tensor, 0 until asked for */
    vka_plan_host_step *host_steps;
    uint32_t host_step_count, host_step_capacity;
    vka_op_stat *op_stats; /* vka_lower_note_stat */
    uint32_t op_stat_count, op_stat_capacity;
    uint64_t runs_since_reset; /* what host steps see as `run` */
    vka_plan_counter *counters;
    uint32_t counter_count, counter_capacity;

    vka_buffer arena;
    vka_buffer staging; /* created on first need */
    VkDescriptorPool descriptor_pool;
    VkCommandBuffer cmd;
    VkQueryPool queries; /* piece_count + 1 timestamps, or none */
    vka_plan_stats stats;
};

/* Where a tensor's bytes are: the application's buffer when bound, else the arena. */
static inline VkBuffer vka_plan_tensor_buffer(const vka_plan *plan, const vka_plan_tensor *t, VkDeviceSize *offset)
{
    *offset = t->bound_buffer ? t->bound_offset : t->offset;
    return t->bound_buffer ? t->bound_buffer : plan->arena.buffer;
}

/* counters.c: the host's side of vka_lower_counter. */
vka_result vka_plan_counters_check(vka_plan *plan); /* before a run: refuses an overflow */
void vka_plan_counters_advance(vka_plan *plan);     /* after it */
void vka_plan_counters_reset(vka_plan *plan);
void vka_plan_counters_forget(vka_plan *plan); /* recorded: the device's levels are unknown */
void vka_plan_counters_written(vka_plan *plan, const vka_plan_tensor *t, const void *data);
void vka_plan_counters_free(vka_plan *plan);

/* planner.c: graph → dispatches, layout, lifetimes, offsets (no Vulkan objects). */
vka_result vka_plan_lower(vka_plan *plan, const vka_graph *graph);
vka_result vka_plan_layout(vka_plan *plan);

/* layout.c */
void vka_tensor_layout(vka_plan_tensor *t, uint64_t alignment);

/* pack.c: offsets for items with lifetimes; items alive at the same time never share
 * bytes. Returns the arena size. Pure C. */
typedef struct vka_pack_item {
    uint64_t bytes;
    int32_t first, last; /* inclusive */
    uint64_t offset;     /* out */
} vka_pack_item;
vka_result vka_pack(vka_pack_item *items, uint32_t count, uint64_t alignment, uint64_t *arena_bytes);

/* hazards.c: which pieces need a barrier before them. */
void vka_plan_barriers(vka_plan *plan);

/* record.c: Vulkan objects — pipelines, arena, descriptors, command buffer. */
vka_result vka_plan_realize(vka_plan *plan);
/* Uploads constants, states' initial values and zeroed inputs (or only the states). */
vka_result vka_plan_initialise(vka_plan *plan, bool states_only);
void vka_plan_release(vka_plan *plan);
void vka_plan_record_commands(const vka_plan *plan, VkCommandBuffer cmd);
/* After a binding changed: every descriptor set written again, the plan's own command
 * buffer recorded again (nothing of the plan may be pending on the device). */
vka_result vka_plan_rebind(vka_plan *plan);

const vka_plan_tensor *vka_plan_find_tensor(const vka_plan *plan, const char *name, bool output);

#endif
