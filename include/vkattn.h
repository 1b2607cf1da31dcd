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
 * names what was wrong. The library never prints, exits or aborts.
 *
 * No Vulkan types appear here except in the embedding entry points, which are declared
 * only when <vulkan/vulkan.h> (or volk.h) was included before this header.
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
    const char *device;            /* NULL: $VKATTN_DEVICE, else the best by type (discrete >
                                      integrated > virtual > CPU). An index ("1") or a
                                      case-insensitive substring of the device name. */
    const char *limits;            /* NULL: $VKATTN_LIMITS, else "none". "android-2021",
                                      "roadmap-2022", "vulkan-1.0-min": lower what the planner
                                      sees of the device to that profile's limits. */
    bool validation;               /* false: $VKATTN_VALIDATION=1 turns it on. Loads
                                      VK_LAYER_KHRONOS_validation with synchronization
                                      validation (own mode only). */
    vka_kernel_class kernel_class; /* AUTO: $VKATTN_KERNEL_CLASS=gpu|cpu, else from the device */
    vka_sync_mode sync;            /* AUTO: $VKATTN_SYNC=full|planned, else PLANNED */
    bool force_staging;            /* false: $VKATTN_FORCE_STAGING=1 moves data through a staging
                                      buffer even where device memory is host-visible */
    bool ignore_environment;       /* false: true reads no VKATTN_* variable */
    vka_log_fn log;                /* NULL: messages are only counted */
    void *log_user;
} vka_context_desc;

VKA_API vka_result vka_context_create(const vka_context_desc *desc, vka_context **out);
VKA_API void vka_context_destroy(vka_context *ctx);

/* The message of the last failure on this context; "" when there was none.
 * vka_last_error(NULL) gives the last failed context creation on this thread. */
VKA_API const char *vka_last_error(const vka_context *ctx);

/* The desc after defaults and environment were applied: what "0" became. */
VKA_API vka_result vka_context_resolved_desc(const vka_context *ctx, vka_context_desc *out);

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
VKA_API vka_result vka_context_candidate(const vka_context *ctx, uint32_t index, vka_device_candidate *out);

/* Validation messages seen since the context was created (0 without validation). */
VKA_API uint32_t vka_context_validation_message_count(const vka_context *ctx);
/* The first such message, "" if none. */
VKA_API const char *vka_context_first_validation_message(const vka_context *ctx);

/* ---------------------------------------------------------------- graph */

typedef struct vka_graph vka_graph;

#define VKA_MAX_RANK 4
#define VKA_MAX_OP_INPUTS 12
#define VKA_MAX_OP_PARAMS 16

typedef enum vka_dtype {
    VKA_DTYPE_F32 = 0,
    VKA_DTYPE_I32,
} vka_dtype;

/* A tensor of a graph; id 0 is "no tensor". */
typedef struct vka_tensor {
    uint32_t id;
} vka_tensor;

typedef struct vka_tensor_desc {
    const char *name;            /* inputs and constants: required, unique in the graph */
    vka_dtype dtype;             /* F32 by default */
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
} vka_op_desc;

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

/* A multi-head attention block built from graph operations: projections in (dense),
 * split into heads, any attention scheme, merge, projection out (dense):
 *   out = merge(scheme(split(x_q W_q + b_q), split(x_kv W_k + b_k), split(x_kv W_v + b_v))) W_o + b_o
 * x_q [B, Nq, model] (or [Nq, model]), x_kv likewise (x_kv = x_q when absent: self
 * attention); W_q, W_k [model, H·Dh], W_v [model, H·Dv], W_o [H·Dv, out]; biases optional.
 * `inputs` adds the scheme's other inputs (kv_len, latents, projection …) and `params`
 * its parameters (causal, scale, kernel …). */
typedef struct vka_mha_desc {
    vka_tensor x_q, x_kv;
    vka_tensor w_q, w_k, w_v, w_o;
    vka_tensor b_q, b_k, b_v, b_o; /* {0}: no bias */
    uint32_t heads;
    const char *scheme;                         /* NULL: "softmax" */
    vka_op_input inputs[VKA_MAX_OP_INPUTS - 3]; /* besides q, k, v; ends at the first without a role */
    vka_op_param params[VKA_MAX_OP_PARAMS];     /* ends at the first without a key */
    vka_op_number numbers[VKA_MAX_OP_PARAMS];   /* the same, as numbers */
    bool weights_out_in;                        /* the W are stored [out, in] (PyTorch's Linear), read in place */
} vka_mha_desc;

VKA_API vka_result vka_graph_mha(vka_graph *graph, const vka_mha_desc *desc, vka_tensor *out);

/* Set Transformer's multihead attention block (Lee et al. 2019, as its code computes it):
 *   H = Q + merge(softmax(split(Q) split(K)ᵀ · scale) split(V)),  Q = x W_q + b_q,
 *       K = y W_k + b_k, V = y W_v + b_v        (the residual adds the *projected* queries)
 *   H = LN0(H);  out = LN1(H + relu(H W_o + b_o))   (each LN only when its weight is given)
 * x [B, Nx, in_x], y [B, Ny, in_y] (y = x when absent: SAB); W_q [in_x, d], W_k and W_v
 * [in_y, d], W_o [d, d]; heads divide d. `scale` 0 means 1/√d — the model width, not the
 * head width, as the Set Transformer code has it (weight compatibility). */
typedef struct vka_mab_desc {
    vka_tensor x, y;
    vka_tensor w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o; /* biases {0}: none */
    vka_tensor ln0_weight, ln0_bias, ln1_weight, ln1_bias;
    uint32_t heads;
    float scale;
    bool weights_out_in; /* the W are stored [out, in] (PyTorch's Linear), read in place */
} vka_mab_desc;

VKA_API vka_result vka_graph_mab(vka_graph *graph, const vka_mab_desc *desc, vka_tensor *out);

/* ISAB_m(X) = MAB1(X, MAB0(I, X)) with m learned inducing points I [1 or B, m, d] (one
 * shared set is broadcast over the batch); PMA_k(Z) = MAB(S, Z) with k learned seeds S
 * (as the Set Transformer code has it: no feed-forward on Z). The blocks' `x`/`y` are
 * set by these calls. */
VKA_API vka_result vka_graph_isab(vka_graph *graph, vka_tensor x, vka_tensor inducing, const vka_mab_desc *mab0,
                                  const vka_mab_desc *mab1, vka_tensor *out);
VKA_API vka_result vka_graph_pma(vka_graph *graph, vka_tensor z, vka_tensor seeds, const vka_mab_desc *mab,
                                 vka_tensor *out);

/* A pre-norm transformer layer (TNP, Perceiver, LBANP, IST):
 *   hq = LN1(x), hc = LN1(context) (the same norm; hc = hq when context is absent)
 *   x  = r(x) + MHA(hq, hc);  x = x + fc2(relu(fc1(LN2(x))))
 * with r(x) = x, or LN1(x) when residual_normalized (LBANP's PreNorm adds the normalised
 * input). `attention` holds the projections, heads and scheme (its x_q/x_kv are set
 * here); layer norms with eps (0: 1e-5); fc biases optional. */
typedef struct vka_transformer_layer_desc {
    vka_tensor x, context;
    vka_mha_desc attention;
    vka_tensor norm1_weight, norm1_bias, norm2_weight, norm2_bias;
    vka_tensor fc1_weight, fc1_bias, fc2_weight, fc2_bias;
    float eps;
    bool residual_normalized;
    bool weights_out_in; /* every W of the layer (fc and attention) stored [out, in] */
} vka_transformer_layer_desc;

VKA_API vka_result vka_graph_transformer_layer(vka_graph *graph, const vka_transformer_layer_desc *desc,
                                               vka_tensor *out);

/* Pseudo-token encoders of M latents U between context tokens C and targets T, per layer
 * (every step a transformer layer; layer i's steps are steps[3i … 3i+2]):
 *   PERCEIVER (TNP's PerceiverEncoder, the LBANP order):  U ← CA(U, C); U ← SA(U); T ← CA(T, U)
 *   IST (Ashman et al. 2024):  U ← CA(U, C); T ← CA(T, U); C ← CA(C, U) (not in the last layer)
 * latents [1 or B, M, d] (a shared set is broadcast); context [B, Nc, d]; targets
 * [B, Nt, d]. *out is T after the last layer. */
typedef enum vka_encoder_order {
    VKA_ENCODER_PERCEIVER,
    VKA_ENCODER_IST,
} vka_encoder_order;

typedef struct vka_pseudo_token_encoder_desc {
    vka_encoder_order order;
    vka_tensor latents, context, targets;
    uint32_t layers;
    const vka_transformer_layer_desc *steps; /* 3 · layers; x and context are set here */
} vka_pseudo_token_encoder_desc;

VKA_API vka_result vka_graph_pseudo_token_encoder(vka_graph *graph, const vka_pseudo_token_encoder_desc *desc,
                                                  vka_tensor *out);

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

/* The operations the engine knows, and what each takes. */
typedef struct vka_op_info {
    const char *name;
    const char *summary;
    const char *const *input_roles; /* NULL-terminated; required ones first */
    uint32_t required_input_count;
    const vka_param_info *params;
    uint32_t param_count;
} vka_op_info;

VKA_API uint32_t vka_op_count(void);
VKA_API vka_result vka_op_info_at(uint32_t index, vka_op_info *out);
VKA_API vka_result vka_op_info_named(const char *name, vka_op_info *out);

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
VKA_API vka_result vka_graph_op_param(const vka_graph *graph, vka_tensor op, uint32_t index, vka_param_value *out);

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
    uint32_t op_stat_count; /* what operations report of their own work: vka_plan_op_stat */
    uint32_t barrier_count;
    uint32_t pipeline_count;    /* distinct pipelines the plan uses */
    uint32_t pipelines_created; /* of those, created by this plan (not cached) */
    double plan_ms;             /* wall time of vka_plan_create, pipelines included */
    double pipeline_create_ms;  /* of which creating pipelines */
    double last_run_gpu_ms;     /* first to last timestamp of the last run; -1 if none */
    double last_run_wall_ms;    /* submit to fence of the last run */
    uint32_t run_count;
} vka_plan_stats;

VKA_API vka_result vka_plan_stats_get(const vka_plan *plan, vka_plan_stats *out);

typedef struct vka_dispatch_info {
    const char *kernel;  /* the kernel's name */
    const char *variant; /* "cpu" or "gpu" */
    const char *op;      /* the graph operation it lowers */
    uint32_t workgroups[3];
    uint32_t workgroup_size;
    bool barrier_before;
    double gpu_ms; /* of the last run; -1 without timestamps */
} vka_dispatch_info;

VKA_API vka_result vka_plan_dispatch_info(const vka_plan *plan, uint32_t index, vka_dispatch_info *out);

/* A figure an operation reports of its own work, index < op_stat_count. The sparse
 * patterns report "sparse_blocks_visited" and "sparse_blocks_total" (square blocks of
 * "sparse_block_rows" query rows × keys, over every [batch, head] slice). */
typedef struct vka_op_stat {
    const char *op;  /* the operation's class */
    const char *key; /* what is counted */
    uint64_t value;
} vka_op_stat;

VKA_API vka_result vka_plan_op_stat(const vka_plan *plan, uint32_t index, vka_op_stat *out);
/* The sum of a key's values over the plan's operations (0 when none reports it). */
VKA_API uint64_t vka_plan_op_stat_total(const vka_plan *plan, const char *key);

/* ---------------------------------------------------------------- continuous attention */

/* The ∞-former's ridge fit (SCHEMES.md §6), in double as `continuous` uses it:
 * g = Fᵀ(F Fᵀ + λI)⁻¹ (length × nbasis, row-major), F_{j,i} = ψ_j(t_i) for points t_i at
 * `positions` (NULL: the tokens' (i + 0.5) / length) and nbasis Gaussian RBFs in equal
 * groups, one per width (widths NULL: 0.01 and 0.05), the centres of each group
 * linspace(0, 1, nbasis / width_count). Coefficients Gᵀx fit a signal x sampled at the
 * points; ψ(t)ᵀGᵀx evaluates it at t. */
VKA_API vka_result vka_continuous_fit_matrix(uint32_t length, const double *positions, uint32_t nbasis,
                                             const double *widths, uint32_t width_count, double lambda, double *g);
/* ψ(t): the nbasis basis functions at t, as above. */
VKA_API vka_result vka_continuous_basis(double t, uint32_t nbasis, const double *widths, uint32_t width_count,
                                        double *psi);

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

/* ---------------------------------------------------------------- .npy files */

/* A tensor read from a .npy file: float32 ('<f4') or int32 ('<i4'), C order, rank 1..4. */
typedef struct vka_npy {
    vka_dtype dtype;
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
    void *data; /* owned; release with vka_npy_free */
    size_t bytes;
} vka_npy;

/* ctx may be NULL; then the message goes to vka_last_error(NULL). */
VKA_API vka_result vka_npy_load(vka_context *ctx, const char *path, vka_npy *out);
VKA_API vka_result vka_npy_save(vka_context *ctx, const char *path, vka_dtype dtype, uint32_t rank,
                                const uint32_t *dims, const void *data);
VKA_API void vka_npy_free(vka_npy *npy);

/* ---------------------------------------------------------------- .safetensors files */

/* Weights from .safetensors files (an 8-byte header length, a JSON header, raw data).
 * F16 and BF16 values are widened to float32 exactly when read. */
typedef struct vka_safetensors vka_safetensors;

typedef enum vka_file_dtype { VKA_FILE_F32 = 0, VKA_FILE_F16, VKA_FILE_BF16 } vka_file_dtype;

typedef struct vka_safetensors_entry {
    const char *name; /* valid while the file is open */
    vka_file_dtype dtype;
    uint32_t rank; /* 0..4 */
    uint32_t dims[VKA_MAX_RANK];
    uint64_t elements;
} vka_safetensors_entry;

/* Reads and checks the header (every tensor's range inside the data, of its shape's
 * size, none overlapping); the data is read when asked for. ctx may be NULL. */
VKA_API vka_result vka_safetensors_open(vka_context *ctx, const char *path, vka_safetensors **out);
VKA_API void vka_safetensors_close(vka_safetensors *file);
VKA_API uint32_t vka_safetensors_count(const vka_safetensors *file);
VKA_API vka_result vka_safetensors_entry_at(const vka_safetensors *file, uint32_t index, vka_safetensors_entry *out);
VKA_API vka_result vka_safetensors_find(const vka_safetensors *file, const char *name, vka_safetensors_entry *out);
/* The tensor's values as float32; count must equal its element count. */
VKA_API vka_result vka_safetensors_read_f32(vka_safetensors *file, const char *name, float *out, size_t count);
/* Binds a named weight of the file into the graph: a float32 constant of the file's
 * shape (rank 1..4), named as in the file. */
VKA_API vka_result vka_graph_constant_from_file(vka_graph *graph, vka_safetensors *file, const char *name,
                                                vka_tensor *out);

typedef struct vka_safetensors_write {
    const char *name;
    vka_file_dtype dtype; /* what to store; F16 and BF16 round to nearest even */
    uint32_t rank;        /* 0..4 */
    uint32_t dims[VKA_MAX_RANK];
    const float *data; /* dense, C order */
} vka_safetensors_write;

/* Writes the tensors, in order, as a .safetensors file. ctx may be NULL. */
VKA_API vka_result vka_safetensors_save(vka_context *ctx, const char *path, const vka_safetensors_write *tensors,
                                        uint32_t count);

/* ---------------------------------------------------------------- Transformer Neural Processes */

/* The efficient-TNP chapter's six models (research: tnp-tables.md), built as a graph from
 * PyTorch-named weights (a linear layer's `weight` [out, in], `bias` [out]):
 *   TNP, LinearTNP (elu+1 linear attention), HyperMixNP (HyperMixer, one head), PT-TNP
 *   (32 pseudo-tokens, IST order), TETNP (translation-equivariant attention, one layer
 *   shared by the context and target steps), PT-TETNP (TE with pseudo-tokens placed at
 *   learned offsets around the context's mean location).
 * Names: embedder.fc{1,2,3}, decoder.fc{1,2,3}, per block `<block>.norm{1,2}`,
 * `<block>.attn.w{q,k,v,o}`, `<block>.ff.fc{1,2}`; HyperMixer `<block>.attn.mlp_{k,q}{1,2}`
 * and `<block>.attn.norm`; TE `<block>.attn.kernel.fc{1,2,3}`; `latents` (PT-TNP),
 * `latent_tokens` and `latent_inputs` (PT-TETNP). */
typedef enum vka_tnp_arch {
    VKA_TNP_ARCH_TNP = 0,
    VKA_TNP_ARCH_LINEAR_TNP,
    VKA_TNP_ARCH_HYPERMIX_NP,
    VKA_TNP_ARCH_PT_TNP,
    VKA_TNP_ARCH_TETNP,
    VKA_TNP_ARCH_PT_TETNP,
    VKA_TNP_ARCH_COUNT
} vka_tnp_arch;

VKA_API const char *vka_tnp_arch_name(vka_tnp_arch arch); /* "tnp", "linear_tnp", … ; NULL if unknown */
/* NOT_FOUND (message on vka_last_error(NULL)) for an unknown name. */
VKA_API vka_result vka_tnp_arch_named(const char *name, vka_tnp_arch *out);

/* The token sets a schedule step reads and writes. */
typedef enum vka_tnp_set { VKA_TNP_CONTEXT = 0, VKA_TNP_TARGET, VKA_TNP_PSEUDO } vka_tnp_set;

/* update ← block(queries = update, keys and values = kv); TE models use the sets' locations. */
typedef struct vka_tnp_step {
    const char *block; /* the weights' prefix: "layers.0.sa" */
    vka_tnp_set update, kv;
} vka_tnp_step;

typedef struct vka_tnp_desc {
    vka_tnp_arch arch;
    vka_safetensors *weights;     /* read while building (constants are copied) */
    uint32_t batch, nc, nt;       /* all ≥ 1 */
    uint32_t heads;               /* 0: 8 (hypermix_np: 1) */
    uint32_t layers;              /* 0: 5 (for the default schedule) */
    float attention_scale;        /* 0: 1/√head_dim */
    float layernorm_eps;          /* 0: 1e-5 */
    float linear_eps;             /* 0: 1e-6 (linear_tnp) */
    const vka_tnp_step *schedule; /* NULL: the architecture's own for `layers` */
    uint32_t schedule_length;
    const char *te_kernel; /* NULL: "flash"; "materialized" (TE models, for comparison) */
} vka_tnp_desc;

/* Adds inputs "xc" [B, Nc, dx], "yc" [B, Nc, dy], "xt" [B, Nt, dx] and the model; *mean
 * and *std [B, Nt, dy] are the predictive Gaussian's (name them with vka_graph_output).
 * dx, dy and the widths come from the weights' shapes; a missing tensor is NOT_FOUND and
 * a wrong shape SHAPE_MISMATCH, both naming the tensor. Schedule steps whose result
 * nothing reads later are left out. */
VKA_API vka_result vka_graph_tnp(vka_graph *graph, const vka_tnp_desc *desc, vka_tensor *mean, vka_tensor *std);

#ifdef __cplusplus
}
#endif
#endif /* VKATTN_H */

/* ---------------------------------------------------------------- embedding
 * Declared once Vulkan's header has been seen: include <vulkan/vulkan.h> (or volk.h)
 * first, or include this header again after it. */
#if defined(VK_VERSION_1_0) && !defined(VKATTN_EMBED_H)
#define VKATTN_EMBED_H
#ifdef __cplusplus
extern "C" {
#endif

/* The host application's Vulkan objects. The engine never creates or destroys them,
 * never waits idle on the device, and takes the queue lock around each submission. */
typedef struct vka_embed_desc {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue; /* must support compute */
    uint32_t queue_family_index;
    PFN_vkGetInstanceProcAddr get_instance_proc_addr;
    uint32_t api_version;              /* what the device was created with; 0: 1.1 */
    bool storage_buffer_16bit_enabled; /* features the host enabled (see requirements) */
    bool shader_float16_enabled;
    void (*lock_queue)(void *user); /* NULL: the engine assumes exclusive use while it submits */
    void (*unlock_queue)(void *user);
    void *queue_user;
} vka_embed_desc;

typedef struct vka_device_requirements {
    uint32_t min_api_version; /* VK_API_VERSION_1_1 */
    VkQueueFlags queue_flags; /* VK_QUEUE_COMPUTE_BIT */
    uint32_t required_extension_count;
    const char *const *required_extensions;
    uint32_t optional_extension_count; /* enable those the device offers */
    const char *const *optional_extensions;
    bool want_storage_buffer_16bit; /* features to enable where supported */
    bool want_shader_float16;
    bool supported;   /* this physical device meets the requirements */
    char reason[256]; /* if not, why */
} vka_device_requirements;

/* What the host should enable on its device before handing it to vka_context_embed. */
VKA_API vka_result vka_query_device_requirements(VkInstance instance, VkPhysicalDevice physical_device,
                                                 PFN_vkGetInstanceProcAddr get_instance_proc_addr,
                                                 vka_device_requirements *out);

/* desc may be NULL; its device, validation and force_staging fields do not apply. */
VKA_API vka_result vka_context_embed(const vka_context_desc *desc, const vka_embed_desc *embed, vka_context **out);

/* Appends the plan's work to the host's command buffer (which must be recording, on a
 * queue of the context's family). Entry: the inputs were written with vka_plan_write or
 * by the host with writes made available to compute shaders. Exit: a barrier makes the
 * outputs available to host reads, transfers and later compute shaders. */
VKA_API vka_result vka_plan_record(vka_plan *plan, VkCommandBuffer command_buffer);
/* After the host's submission completed: pick up the timestamps it wrote. */
VKA_API vka_result vka_plan_collect_timings(vka_plan *plan);
#ifdef __cplusplus
}
#endif
#endif /* VKATTN_EMBED_H */
