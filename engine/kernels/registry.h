/* The registry of embedded kernels: for each, its SPIR-V, its bindings, push-constant
 * size and specialization constants, and the rule for its shared-memory footprint.
 *
 * Conventions every shader follows (shaders/common.glsl):
 *  - one-dimensional workgroups; specialization constant 0 is the workgroup size;
 *  - the push constants begin with the recorder's header (vka_push_header): the global
 *    index of the dispatch's first slice and, per binding, the distance in vec4 from one
 *    slice (a [batch, head] pair) to the next; the operation's own words follow;
 *  - gl_WorkGroupID.z is the slice within the dispatch (the recorder may split a
 *    dispatch along z so that no binding exceeds maxStorageBufferRange). */
#ifndef VKA_KERNELS_REGISTRY_H
#define VKA_KERNELS_REGISTRY_H

#include "../common/common.h"

#define VKA_MAX_BINDINGS 7
#define VKA_MAX_SPEC_CONSTANTS 12
#define VKA_PUSH_HEADER_WORDS 8
#define VKA_MAX_PUSH_WORDS 32 /* 128 bytes: the Vulkan minimum */
#define VKA_MAX_OP_PUSH_WORDS (VKA_MAX_PUSH_WORDS - VKA_PUSH_HEADER_WORDS)

typedef enum vka_binding_kind {
    VKA_BINDING_STORAGE = 0, /* std430 buffer */
    VKA_BINDING_UNIFORM,     /* std140 block: small tables such as kv_len */
} vka_binding_kind;

typedef enum vka_kernel_id {
    VKA_KERNEL_FLASH_ATTN_CPU,
    VKA_KERNEL_FLASH_ATTN_GPU,
    VKA_KERNEL_FLASH_SPARSE_CPU, /* the same kernels over a block layout (sparse_layout.glsl) */
    VKA_KERNEL_FLASH_SPARSE_GPU,
    VKA_KERNEL_MATMUL_CPU,
    VKA_KERNEL_MATMUL_GPU,
    VKA_KERNEL_SOFTMAX_ROWS,
    VKA_KERNEL_FEATURE_MAP,
    VKA_KERNEL_KSTATE_BLOCKS,
    VKA_KERNEL_KSTATE_SCAN,
    VKA_KERNEL_KATTN_CAUSAL,
    VKA_KERNEL_KATTN_NORMALIZE,
    VKA_KERNEL_COPY_ROWS,
    VKA_KERNEL_POINTWISE,
    VKA_KERNEL_LAYERNORM,
    VKA_KERNEL_HEADS,
    VKA_KERNEL_CONTINUOUS_DENSITY,
    VKA_KERNEL_PINV_INIT,
    VKA_KERNEL_TE_ATTN,   /* translation-equivariant attention (te_attn.glsl) */
    VKA_KERNEL_TE_LOGITS, /* its materialised logits */
    VKA_KERNEL_TE_COMBINE,
    VKA_KERNEL_COUNT
} vka_kernel_id;

typedef struct vka_kernel {
    const char *name;    /* family: "flash_attn" */
    const char *variant; /* "cpu", "gpu" or "any" */
    const uint32_t *spirv;
    size_t spirv_bytes;
    uint32_t binding_count;
    vka_binding_kind bindings[VKA_MAX_BINDINGS];
    uint32_t op_push_words; /* after the header */
    uint32_t spec_constant_count;
    /* Shared memory the kernel declares for these specialization constants. */
    uint32_t (*shared_bytes)(const uint32_t *spec);
    /* The most loop iterations one invocation runs, all loops together, for these
     * specialization constants and operation push words (drivers with a loop budget:
     * see vka_device_info.loop_iteration_budget). */
    uint64_t (*loop_iterations)(const uint32_t *spec, const uint32_t *push);
} vka_kernel;

const vka_kernel *vka_kernel_get(vka_kernel_id id);

#endif
