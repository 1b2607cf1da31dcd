/* The registry of embedded kernels: for each, its SPIR-V, its bindings, push-constant
 * size and specialization constants, and its rules for shared memory and loop budget.
 * All of it is generated from the shaders themselves (tools/kernel_interface.py, at build
 * time): a kernel states its interface once, in GLSL.
 *
 * Conventions every shader follows (shaders/common.glsl):
 *  - one-dimensional workgroups; specialization constant 0 is the workgroup size;
 *  - the push block (named NAME_push) begins with the recorder's header (VKA_PUSH_HEADER):
 *    the global index of the dispatch's first slice and, per binding, the distance in vec4
 *    from one slice (a [batch, head] pair) to the next; the operation's own fields follow,
 *    and C writes them by name through vka_NAME_push;
 *  - gl_WorkGroupID.z is the slice within the dispatch (the recorder may split a
 *    dispatch along z so that no binding exceeds maxStorageBufferRange);
 *  - #pragma vka_loops(...) states the most loop iterations one invocation runs, and
 *    #pragma vka_shared_bytes(...) its shared memory, as expressions of the constants
 *    and push fields (drivers with a loop budget: vka_device_info.loop_iteration_budget). */
#ifndef VKA_KERNELS_REGISTRY_H
#define VKA_KERNELS_REGISTRY_H

#include "../common/common.h"

#include "vka_kernels.h" /* generated: vka_kernel_id, the push and constant structs */

#define VKA_MAX_BINDINGS 8
/* The recorder's header: the first slice, then a slice stride for each of the first
 * VKA_SLICE_STRIDE_BINDINGS bindings (every binding: a binding past them would have to be
 * bound whole). tools/kernel_interface.py and common.glsl's VKA_PUSH_HEADER agree. */
#define VKA_SLICE_STRIDE_BINDINGS 8
#define VKA_PUSH_HEADER_WORDS (1 + VKA_SLICE_STRIDE_BINDINGS)
#define VKA_MAX_PUSH_WORDS 32 /* 128 bytes: the Vulkan minimum */
_Static_assert(VKA_PUSH_HEADER_WORDS + VKA_MAX_OP_PUSH_WORDS <= VKA_MAX_PUSH_WORDS, "a push block over 128 bytes");

typedef enum vka_binding_kind {
    VKA_BINDING_STORAGE = 0, /* std430 buffer */
    VKA_BINDING_UNIFORM,     /* std140 block: small tables such as kv_len */
} vka_binding_kind;

typedef enum vka_access {
    VKA_READ = 1,
    VKA_WRITE = 2,
    VKA_READ_WRITE = 3,
} vka_access;

typedef struct vka_kernel_binding {
    const char *name; /* the GLSL block's */
    vka_binding_kind kind;
    vka_access access;   /* what the shader may do: readonly, writeonly or both */
    const char *element; /* "f32", "i32", "u32": the element its array holds */
    bool f16;            /* declared with VKA_TENSOR_*: may hold an f16 tensor (common.glsl) */
} vka_kernel_binding;

/* The constant_id of common.glsl's vka_f16_bindings: the planner's mask of the bindings
 * whose tensors are f16, set per dispatch from the tensors bound. */
#define VKA_F16_CONSTANT_ID 100

typedef struct vka_kernel {
    const char *name;    /* family: "flash_attn" */
    const char *variant; /* "cpu", "gpu" or "any" */
    const uint32_t *spirv;
    size_t spirv_bytes;
    uint32_t binding_count;
    vka_kernel_binding bindings[VKA_MAX_BINDINGS];
    uint32_t op_push_words; /* after the header */
    uint32_t spec_constant_count;
    uint32_t f16_mask_slot;        /* where vka_f16_bindings sits in the spec words; 0: the kernel has none */
    uint32_t subgroup_operations;  /* VKA_SUBGROUP_* bits its SPIR-V needs (none so far) */
    bool needs_float16;            /* computes in float16_t: the device's shaderFloat16 (fma_peak_f16 only) */
    uint32_t fixed_workgroup_size; /* #pragma vka_workgroup_size: the only size it works with; 0: any */
    /* Shared memory the kernel declares for these specialization constants. */
    uint64_t (*shared_bytes)(const vka_spec_words *spec, const vka_push_words *push);
    /* The most loop iterations one invocation runs, all loops together. */
    uint64_t (*loop_iterations)(const vka_spec_words *spec, const vka_push_words *push);
} vka_kernel;

const vka_kernel *vka_kernel_get(vka_kernel_id id);

#endif
