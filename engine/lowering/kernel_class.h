/* The one place lowerings learn what the device's kernel class asks of them. The class
 * is decided once per context (engine/device/caps.c; VKATTN_KERNEL_CLASS overrides it):
 *  - CPU class (lavapipe): workgroups of 8 invocations (llvmpipe's SIMD width) running
 *    register-blocked bodies, no shared memory, no barriers (research/lavapipe-performance.md);
 *  - GPU class: workgroups of 64 and shared-memory tiles.
 * Kernels with both forms (flash_attn, matmul) are picked here, never by a branch in a shader. */
#ifndef VKA_LOWERING_KERNEL_CLASS_H
#define VKA_LOWERING_KERNEL_CLASS_H

#include "graph/lower.h"

static inline bool vka_cpu_class(const vka_device_info *dev)
{
    return dev->kernel_class == VKA_KERNEL_CLASS_CPU;
}

/* Invocations per workgroup for the one-dimensional kernels. */
static inline uint32_t vka_class_workgroup_size(const vka_device_info *dev)
{
    return vka_cpu_class(dev) ? 8 : VKA_MIN(64u, dev->limits.max_workgroup_invocations);
}

/* The CPU- or GPU-class variant of a kernel. */
static inline vka_kernel_id vka_class_kernel(const vka_device_info *dev, vka_kernel_id cpu, vka_kernel_id gpu)
{
    return vka_cpu_class(dev) ? cpu : gpu;
}

#endif
