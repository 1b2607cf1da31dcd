/* Pipelines, created on demand from the registry and kept for the context's lifetime,
 * keyed by kernel and specialization constants. Descriptor-set and pipeline layouts
 * are made once per kernel. */
#ifndef VKA_KERNELS_PIPELINE_H
#define VKA_KERNELS_PIPELINE_H

#include "../device/context.h"
#include "registry.h"

typedef struct vka_pipeline_cache vka_pipeline_cache;

typedef struct vka_pipeline {
    VkPipeline pipeline;
    VkPipelineLayout layout;
    VkDescriptorSetLayout set_layout;
} vka_pipeline;

/* The pipeline of `kernel` specialized with spec[0..kernel's count) (the context's cache is
 * made on the first call and released with the context); *created tells
 * whether it was made now (and *create_ms how long that took) or found. */
vka_result vka_pipeline_get(vka_context *ctx, vka_kernel_id kernel, const uint32_t *spec, vka_pipeline *out,
                            bool *created, double *create_ms);

#endif
