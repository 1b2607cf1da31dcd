/*
 * vkattn — efficient-attention schemes as Vulkan compute shaders.
 *
 * The one public header. Work is described as a graph (named inputs, operations,
 * named outputs), planned once into a vka_plan (pipelines, one device arena packed by
 * tensor lifetime, descriptors, one recorded command buffer) and run any number of
 * times, or recorded into the host application's command buffer.
 *
 *   vka_context *ctx;
 *   vka_context_create(&(vka_context_desc){0}, &ctx);   // best device, no validation
 *   vka_graph *g;
 *   vka_graph_create(ctx, &g);
 *   vka_tensor q, k, v, o;
 *   vka_graph_input(g, &(vka_tensor_desc){ .name = "q", .rank = 4, .dims = {1, 8, 1024, 64} }, &q);
 *   ...
 *   vka_graph_op(g, &(vka_op_desc){ .op = "softmax",
 *       .inputs = { {"q", q}, {"k", k}, {"v", v} },
 *       .params = { {"causal", "1"} } }, &o);
 *   vka_graph_output(g, "o", o);
 *   vka_plan *plan;
 *   vka_plan_create(g, &(vka_plan_desc){0}, &plan);
 *   vka_plan_write(plan, "q", q_host, q_bytes); ...
 *   vka_plan_run(plan);
 *   vka_plan_read(plan, "o", o_host, o_bytes);
 *
 * Conventions: every *_desc struct's zero value means "default" (each field says what
 * the default is). Every call returns a vka_result; on failure vka_last_error(ctx)
 * names what was wrong. The library never prints, exits or aborts. Lists are read as
 * NOUN_count (or a stats field) and NOUN_at(owner, index, &out).
 *
 * Lifetimes: destroy plans and graphs before their context. A context destroyed first
 * releases its plans' device memory; every later call on such a plan or graph fails with
 * VKA_ERROR_INVALID_ARGUMENT (vka_last_error(NULL) says why) and vka_plan_destroy /
 * vka_graph_destroy still free them. A plan needs nothing of its graph once created.
 * Threads: the graphs and plans of one context may be used from several threads at once
 * (the engine serialises the context's queue, command pool and fence; runs take turns on
 * the queue); calls on one plan from several threads take turns too. A graph is used by
 * one thread at a time, and no call may be in flight while its context is destroyed.
 * vka_last_error(ctx) is the last failure on the context from any thread.
 *
 * This is the core: context, graph, plan, run, errors. Beside
 * it: <vkattn/ops.h> (the operations' catalogue: inputs, parameters, examples, random
 * projections), <vkattn/io.h> (.npy and .safetensors), <vkattn/models.h> (attention blocks and the
 * Transformer Neural Processes), <vkattn/continuous.h> (the ∞-former's basis and fit) and
 * <vkattn/embed.h> (running inside an application's own Vulkan device; the only header
 * with Vulkan types).
 */
#ifndef VKATTN_H
#define VKATTN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define VKA_API __declspec(dllexport)
#elif defined(__GNUC__)
#define VKA_API __attribute__((visibility("default")))
#else
#define VKA_API
#endif

#define VKATTN_VERSION_MAJOR 0
#define VKATTN_VERSION_MINOR 1
#define VKATTN_VERSION_PATCH 0

/* ---------------------------------------------------------------- results */

typedef enum vka_result {
    VKA_SUCCESS = 0,
    /* the caller's mistake */
    VKA_ERROR_INVALID_ARGUMENT, /* a null pointer, a malformed or unknown parameter */
    VKA_ERROR_SHAPE_MISMATCH,   /* tensors whose shapes do not agree */
    VKA_ERROR_NOT_FOUND,        /* no tensor, operation or device of that name */
    /* what this engine or device cannot do */
    VKA_ERROR_UNSUPPORTED,    /* a size or feature the engine or device does not support */
    VKA_ERROR_LIMIT_EXCEEDED, /* a device limit: binding range, workgroup count, allocation size */
    VKA_ERROR_NO_DEVICE,      /* no Vulkan loader or no usable physical device */
    /* resources */
    VKA_ERROR_OUT_OF_HOST_MEMORY,
    VKA_ERROR_OUT_OF_DEVICE_MEMORY,
    /* the device or driver */
    VKA_ERROR_DEVICE_LOST, /* the context is unusable afterwards; destroy it */
    VKA_ERROR_VULKAN,      /* any other Vulkan failure (the message names the call) */
    /* files */
    VKA_ERROR_IO,          /* a file could not be opened, read or written */
    VKA_ERROR_FILE_FORMAT, /* a file is not what it claims to be */
    VKA_RESULT_COUNT
} vka_result;

VKA_API const char *vka_result_string(vka_result result);

/* ---------------------------------------------------------------- context */

typedef struct vka_context vka_context;

typedef enum vka_kernel_class {
    VKA_KERNEL_CLASS_AUTO = 0, /* from the device type: CPU devices get the CPU class */
    VKA_KERNEL_CLASS_GPU,      /* shared-memory tiles: what real GPUs need */
    VKA_KERNEL_CLASS_CPU,      /* vec4 loads, register blocking, no barriers: what lavapipe rewards */
} vka_kernel_class;

typedef enum vka_sync_mode {
    VKA_SYNC_AUTO = 0, /* $VKATTN_SYNC, else PLANNED */
    VKA_SYNC_PLANNED,  /* a barrier only before a dispatch that depends on an earlier one */
    VKA_SYNC_FULL,     /* a barrier after every dispatch (for differential testing) */
} vka_sync_mode;

typedef enum vka_log_level { VKA_LOG_INFO = 0, VKA_LOG_WARNING, VKA_LOG_ERROR } vka_log_level;

/* Receives the validation layer's messages (and nothing else). The library keeps a
 * count and the first message whether or not a callback is given. */
typedef void (*vka_log_fn)(void *user, vka_log_level level, const char *message);

typedef struct vka_context_desc {
    const char *device;             /* NULL: $VKATTN_DEVICE, else the best by type (discrete >
                                       integrated > virtual > CPU). An index ("1") or a
                                       case-insensitive substring of the device name. */
    const char *limits;             /* NULL: $VKATTN_LIMITS, else "none". "android-2021",
                                       "roadmap-2022", "vulkan-1.0-min": lower what the planner
                                       sees of the device to that profile's limits. */
    bool validation;                /* false: $VKATTN_VALIDATION=1 turns it on. Loads
                                       VK_LAYER_KHRONOS_validation with synchronization
                                       validation (own mode only). */
    vka_kernel_class kernel_class;  /* AUTO: $VKATTN_KERNEL_CLASS=gpu|cpu, else from the device */
    vka_sync_mode sync;             /* AUTO: $VKATTN_SYNC=full|planned, else PLANNED */
    bool force_staging;             /* false: $VKATTN_FORCE_STAGING=1 moves data through a staging
                                       buffer even where device memory is host-visible */
    bool disable_f16;               /* false: $VKATTN_DISABLE_F16=1 holds f16 tensors as f32 on the
                                       device, converted when written and read (the plan stats
                                       count them); kernels then never see an f16 binding */
    bool disable_subgroups;         /* false: $VKATTN_DISABLE_SUBGROUPS=1 reports no subgroup operations
                                       (as where they are broken: MoltenVK on AMD's shuffles); a
                                       kernel that needs them is then refused by name */
    const char *pipeline_cache_dir; /* NULL: $VKATTN_CACHE_DIR, else none. A folder where the driver's
                                       pipeline cache is kept between processes (one file per
                                       device, driver and library build; a foreign or damaged
                                       file is ignored), read when the first pipeline is made
                                       and written when the context is destroyed */
    bool ignore_environment;        /* false: true reads no VKATTN_* variable */
    vka_log_fn log;                 /* NULL: messages are only counted */
    void *log_user;
} vka_context_desc;

VKA_API vka_result vka_context_create(const vka_context_desc *desc, vka_context **out);
VKA_API void vka_context_destroy(vka_context *ctx);

/* The message of the last failure on this context; "" when there was none.
 * vka_last_error(NULL) gives the last failed context creation on this thread. */
VKA_API const char *vka_last_error(const vka_context *ctx);

/* The desc after defaults and environment were applied: what "0" became. */
VKA_API vka_result vka_context_resolved_desc(const vka_context *ctx, vka_context_desc *out);

/* The pipeline cache on disk (vka_context_desc.pipeline_cache_dir). */
typedef struct vka_pipeline_cache_info {
    char path[1024];       /* the file, "" without a cache folder */
    char status[1200];     /* what happened to it: "no file yet", "loaded N bytes from …",
                              "ignored …: written for another device", "wrote N bytes to …" */
    uint64_t loaded_bytes; /* the driver data read at start, 0 if none */
} vka_pipeline_cache_info;

VKA_API vka_result vka_context_pipeline_cache_info(vka_context *ctx, vka_pipeline_cache_info *out);
/* Writes the cache file now (it is also written when the context is destroyed); fails,
 * naming the file, when it cannot be written. No cache folder: INVALID_ARGUMENT. */
VKA_API vka_result vka_context_save_pipeline_cache(vka_context *ctx);

typedef enum vka_device_type {
    VKA_DEVICE_OTHER = 0,
    VKA_DEVICE_INTEGRATED_GPU,
    VKA_DEVICE_DISCRETE_GPU,
    VKA_DEVICE_VIRTUAL_GPU,
    VKA_DEVICE_CPU,
} vka_device_type;

/* Subgroup operation bits, as Vulkan's VkSubgroupFeatureFlagBits. */
enum {
    VKA_SUBGROUP_BASIC = 1u << 0,
    VKA_SUBGROUP_VOTE = 1u << 1,
    VKA_SUBGROUP_ARITHMETIC = 1u << 2,
    VKA_SUBGROUP_BALLOT = 1u << 3,
    VKA_SUBGROUP_SHUFFLE = 1u << 4,
    VKA_SUBGROUP_SHUFFLE_RELATIVE = 1u << 5,
    VKA_SUBGROUP_CLUSTERED = 1u << 6,
    VKA_SUBGROUP_QUAD = 1u << 7,
};

/* The limits the planner designs for (after the clamp). */
typedef struct vka_device_limits {
    uint32_t max_shared_memory_bytes;       /* maxComputeSharedMemorySize */
    uint32_t max_workgroup_invocations;     /* maxComputeWorkGroupInvocations */
    uint32_t max_workgroup_size[3];         /* maxComputeWorkGroupSize */
    uint32_t max_workgroup_count[3];        /* maxComputeWorkGroupCount */
    uint32_t max_storage_buffers_per_stage; /* maxPerStageDescriptorStorageBuffers */
    uint32_t max_uniform_buffers_per_stage; /* maxPerStageDescriptorUniformBuffers */
    uint32_t max_storage_buffer_range;      /* maxStorageBufferRange, bytes */
    uint32_t max_uniform_buffer_range;      /* maxUniformBufferRange, bytes */
    uint32_t min_storage_buffer_offset_alignment;
    uint32_t min_uniform_buffer_offset_alignment;
    uint32_t max_push_constants_bytes;
    uint64_t max_allocation_bytes;    /* maxMemoryAllocationSize */
    uint64_t max_buffer_bytes;        /* maxBufferSize (maintenance4), else the allocation size */
    uint64_t device_local_heap_bytes; /* the largest device-local heap */
} vka_device_limits;

typedef struct vka_device_info {
    char name[256];
    char driver[256]; /* driver name and info, where the driver reports them */
    uint32_t vendor_id, device_id;
    vka_device_type type;
    uint32_t api_version; /* VK_MAKE_API_VERSION layout */
    uint32_t driver_version;
    uint8_t pipeline_cache_uuid[16]; /* the driver's: pipeline caches are valid between equal ones */
    uint32_t subgroup_size;
    uint32_t subgroup_operations; /* VKA_SUBGROUP_* bits usable in compute shaders */
    bool storage_buffer_16bit;    /* 16-bit storage in storage buffers */
    bool shader_float16;          /* fp16 arithmetic */
    bool timestamps;              /* timestamp queries on the compute queue */
    float timestamp_period_ns;
    bool host_visible_device_memory; /* device memory can be mapped (UMA, ReBAR) */
    vka_kernel_class kernel_class;   /* what the planner picks for this device */
    uint32_t loop_iteration_budget;  /* driver quirk: loop iterations one shader invocation may
                                        run in all (llvmpipe: 65535); 0 = no limit */
    char quirks[160];                /* the driver quirks in force, "" if none */
    char limits_profile[32];         /* the clamp in force, "none" if none */
    vka_device_limits device_limits; /* as the driver reports them */
    vka_device_limits limits;        /* after the clamp: what the planner uses */
    char summary[512];               /* one line for benchmark rows and bug reports */
} vka_device_info;

VKA_API vka_result vka_context_device_info(const vka_context *ctx, vka_device_info *out);

/* Every physical device the context considered, and why it was chosen or passed over. */
typedef struct vka_device_candidate {
    uint32_t index;
    char name[256];
    vka_device_type type;
    bool chosen;
    char reason[256];
} vka_device_candidate;

VKA_API uint32_t vka_context_candidate_count(const vka_context *ctx);
VKA_API vka_result vka_context_candidate_at(const vka_context *ctx, uint32_t index, vka_device_candidate *out);

/* Validation messages seen since the context was created (0 without validation). */
VKA_API uint32_t vka_context_validation_message_count(const vka_context *ctx);
/* The first such message, "" if none. */
VKA_API const char *vka_context_first_validation_message(const vka_context *ctx);

/* ---------------------------------------------------------------- graph */

typedef struct vka_graph vka_graph;

#define VKA_MAX_RANK 4
#define VKA_MAX_OP_INPUTS 12
#define VKA_MAX_OP_PARAMS 16

/* Element types (SCHEMES.md §Conventions). Zero is the default: for a tensor desc f32,
 * for an operation's result the type of its first input (softmax: q's). f16 is IEEE
 * binary16, host data as uint16_t; kernels read and write it and accumulate in f32. */
typedef enum vka_dtype {
    VKA_DTYPE_DEFAULT = 0,
    VKA_DTYPE_F32,
    VKA_DTYPE_F16,
    VKA_DTYPE_I32,
} vka_dtype;

/* A tensor of a graph; id 0 is "no tensor". */
typedef struct vka_tensor {
    uint32_t id;
} vka_tensor;

typedef struct vka_tensor_desc {
    const char *name;            /* inputs and constants: required, unique in the graph */
    vka_dtype dtype;             /* F32 by default; F16; I32 for counts and layouts */
    uint32_t rank;               /* 1..4 */
    uint32_t dims[VKA_MAX_RANK]; /* attention tensors are [batch, heads, tokens, features] */
} vka_tensor_desc;

typedef struct vka_op_input {
    const char *role; /* "q", "k", "v", "kv_len", ... as the operation names them */
    vka_tensor tensor;
} vka_op_input;

/* A parameter as text, as on the command line. */
typedef struct vka_op_param {
    const char *key;   /* "causal", "scale", "kernel", ... */
    const char *value; /* "1", "0.125", "flash" */
} vka_op_param;

/* A parameter as a number: a bool (0 or 1), an integer or a float; nothing is formatted. */
typedef struct vka_op_number {
    const char *key;
    double value;
} vka_op_number;

typedef enum vka_param_type {
    VKA_PARAM_BOOL = 1,
    VKA_PARAM_INT,   /* a whole number in [min, max] */
    VKA_PARAM_FLOAT, /* a finite number in [min, max] */
    VKA_PARAM_ENUM,  /* one of `choices` */
    VKA_PARAM_NAME,  /* text: a state's name */
    VKA_PARAM_LIST,  /* text: comma-separated numbers */
} vka_param_type;

typedef struct vka_op_desc {
    const char *op;                           /* "softmax", ... (see vka_op_names) */
    vka_op_input inputs[VKA_MAX_OP_INPUTS];   /* ends at the first entry without a role */
    vka_op_param params[VKA_MAX_OP_PARAMS];   /* ends at the first entry without a key */
    vka_op_number numbers[VKA_MAX_OP_PARAMS]; /* more, as numbers: {{"window", 128}, {"causal", 1}} */
    vka_dtype dtype;                          /* the result's: F32 or F16; DEFAULT: the first input's */
} vka_op_desc;

/* IEEE binary16 <-> f32 for host data: round to nearest even, overflow to infinity,
 * NaN stays NaN. */
VKA_API void vka_f16_from_f32(const float *in, uint16_t *out, size_t count);
VKA_API void vka_f32_from_f16(const uint16_t *in, float *out, size_t count);

VKA_API vka_result vka_graph_create(vka_context *ctx, vka_graph **out);
VKA_API void vka_graph_destroy(vka_graph *graph);

/* A tensor the host writes before each run (its content persists across runs). */
VKA_API vka_result vka_graph_input(vka_graph *graph, const vka_tensor_desc *desc, vka_tensor *out);
/* A tensor whose content is copied now and uploaded once when a plan is created. */
VKA_API vka_result vka_graph_constant(vka_graph *graph, const vka_tensor_desc *desc, const void *data, size_t bytes,
                                      vka_tensor *out);
/* Adds an operation; *out is its result. */
VKA_API vka_result vka_graph_op(vka_graph *graph, const vka_op_desc *desc, vka_tensor *out);
/* Names a tensor as an output the host can read after a run. */
VKA_API vka_result vka_graph_output(vka_graph *graph, const char *name, vka_tensor tensor);
/* Shape and dtype of any tensor of the graph (the name of an intermediate is its op's). */
VKA_API vka_result vka_graph_tensor_desc(const vka_graph *graph, vka_tensor tensor, vka_tensor_desc *out);
/* Floating-point operations of one evaluation of the graph (for GFLOP/s figures). */
VKA_API double vka_graph_flops(const vka_graph *graph);
/* The input or constant named `name`, else the tensor named an output `name`
 * (vka_graph_output); NOT_FOUND if the graph has none. */
VKA_API vka_result vka_graph_find(const vka_graph *graph, const char *name, vka_tensor *out);
/* The context the graph was created with. */
VKA_API vka_context *vka_graph_context(const vka_graph *graph);

/* Evaluates the graph with the engine's double-precision CPU reference (engine/ref),
 * the oracle for tests and for the benchmark's error column. Host tensors are dense,
 * C-order, with exactly the bytes their shape needs. */
typedef struct vka_host_tensor {
    const char *name;
    void *data;
    size_t bytes;
} vka_host_tensor;

VKA_API vka_result vka_graph_reference(const vka_graph *graph, const vka_host_tensor *inputs, uint32_t input_count,
                                       vka_host_tensor *outputs, uint32_t output_count);

/* ---------------------------------------------------------------- plan */

typedef struct vka_plan vka_plan;

typedef struct vka_plan_desc {
    bool memory_only;   /* false: true lays out memory and counts dispatches but allocates
                           nothing and creates no pipeline (for sizes too big to run) */
    bool no_timestamps; /* false: per-dispatch GPU times from timestamp queries */
    bool no_fusion;     /* false: an element-wise activation (gelu, relu, softplus) of a
                           `dense` result read by nothing else runs in the product's
                           epilogue; true: every operation is its own dispatch (comparisons) */
} vka_plan_desc;

VKA_API vka_result vka_plan_create(vka_graph *graph, const vka_plan_desc *desc, vka_plan **out);
VKA_API void vka_plan_destroy(vka_plan *plan);

/* Host data is dense C-order; bytes must equal what the tensor's shape needs. */
VKA_API vka_result vka_plan_write(vka_plan *plan, const char *input, const void *data, size_t bytes);
VKA_API vka_result vka_plan_read(vka_plan *plan, const char *output, void *data, size_t bytes);
/* Submits the recorded work on the context's queue and waits for it. */
VKA_API vka_result vka_plan_run(vka_plan *plan);
/* Puts every persistent state (decoding ops, `decode=1`) back to its start. States are
 * named tensors too: vka_plan_read/vka_plan_write save and restore them. */
VKA_API vka_result vka_plan_reset_states(vka_plan *plan);

typedef struct vka_plan_stats {
    uint64_t peak_device_bytes; /* every byte of device memory the plan holds (arena) */
    uint64_t arena_bytes;       /* the arena, packed by lifetime */
    uint64_t tensor_bytes;      /* sum of all tensor sizes, as if none shared bytes */
    uint64_t state_bytes;       /* of which persistent states (decoding) */
    uint32_t tensor_count;
    uint32_t dispatch_count;
    uint32_t fused_ops;     /* operations run inside another's dispatch (vka_plan_desc.no_fusion) */
    uint32_t op_stat_count; /* what operations report of their own work: vka_plan_op_stat_at */
    uint32_t barrier_count;
    uint32_t pipeline_count;    /* distinct pipelines the plan uses */
    uint32_t pipelines_created; /* of those, created by this plan (not cached) */
    double plan_ms;             /* wall time of vka_plan_create, pipelines included */
    double pipeline_create_ms;  /* of which creating pipelines */
    double last_run_gpu_ms;     /* first to last timestamp of the last run; -1 if none */
    double last_run_wall_ms;    /* submit to fence of the last run */
    uint32_t run_count;
    uint32_t f16_tensors;         /* tensors held as f16 on the device (2 bytes per element, packed in
                                     32-bit words: no 16-bit storage feature is needed) */
    uint32_t f16_widened;         /* f16 tensors held as f32 instead (disable_f16), converted on write
                                     and read */
    uint32_t host_transfers;      /* tensors moved between host and device since the plan was made */
    uint64_t host_transfer_bytes; /* (writes, reads, host steps, state resets; not its creation) */
} vka_plan_stats;

VKA_API vka_result vka_plan_stats_get(const vka_plan *plan, vka_plan_stats *out);

typedef struct vka_dispatch_info {
    const char *kernel;  /* the kernel's name */
    const char *variant; /* "cpu" or "gpu" */
    const char *op;      /* the graph operation it lowers */
    uint32_t workgroups[3];
    uint32_t workgroup_size;
    uint32_t f16_bindings; /* bit b: binding b holds an f16 tensor */
    bool barrier_before;
    double gpu_ms; /* of the last run; -1 without timestamps */
} vka_dispatch_info;

VKA_API vka_result vka_plan_dispatch_at(const vka_plan *plan, uint32_t index, vka_dispatch_info *out);

/* A figure an operation reports of its own work, index < op_stat_count. The sparse
 * patterns report "sparse_blocks_visited" and "sparse_blocks_total" (square blocks of
 * "sparse_block_rows" query rows × keys, over every [batch, head] slice). */
typedef struct vka_op_stat {
    const char *op;  /* the operation's class */
    const char *key; /* what is counted */
    uint64_t value;
} vka_op_stat;

VKA_API vka_result vka_plan_op_stat_at(const vka_plan *plan, uint32_t index, vka_op_stat *out);
/* The sum of a key's values over the plan's operations (0 when none reports it). */
VKA_API uint64_t vka_plan_op_stat_total(const vka_plan *plan, const char *key);

#ifdef __cplusplus
}
#endif
#endif /* VKATTN_H */
