/* vkattn info: every device and why it was chosen or passed over, then what the chosen
 * one can do and the limits the planner designs for (after VKATTN_LIMITS). */
#include "cli.h"

#include <string.h>

static void print_limit(const char *name, uint64_t device, uint64_t planner)
{
    if (device == planner)
        printf("  %-34s %llu\n", name, (unsigned long long)device);
    else
        printf("  %-34s %llu (device: %llu)\n", name, (unsigned long long)planner, (unsigned long long)device);
}

static void print_limits(const vka_device_info *info)
{
    const vka_device_limits *d = &info->device_limits, *p = &info->limits;
    printf("limits (profile %s):\n", info->limits_profile);
    print_limit("maxComputeSharedMemorySize", d->max_shared_memory_bytes, p->max_shared_memory_bytes);
    print_limit("maxComputeWorkGroupInvocations", d->max_workgroup_invocations, p->max_workgroup_invocations);
    print_limit("maxComputeWorkGroupSize[0]", d->max_workgroup_size[0], p->max_workgroup_size[0]);
    print_limit("maxComputeWorkGroupCount[0]", d->max_workgroup_count[0], p->max_workgroup_count[0]);
    print_limit("maxPerStageDescriptorStorageBuffers", d->max_storage_buffers_per_stage,
                p->max_storage_buffers_per_stage);
    print_limit("maxPerStageDescriptorUniformBuffers", d->max_uniform_buffers_per_stage,
                p->max_uniform_buffers_per_stage);
    print_limit("maxStorageBufferRange", d->max_storage_buffer_range, p->max_storage_buffer_range);
    print_limit("maxUniformBufferRange", d->max_uniform_buffer_range, p->max_uniform_buffer_range);
    print_limit("minStorageBufferOffsetAlignment", d->min_storage_buffer_offset_alignment,
                p->min_storage_buffer_offset_alignment);
    print_limit("maxPushConstantsSize", d->max_push_constants_bytes, p->max_push_constants_bytes);
    print_limit("maxMemoryAllocationSize", d->max_allocation_bytes, p->max_allocation_bytes);
    print_limit("maxBufferSize", d->max_buffer_bytes, p->max_buffer_bytes);
    print_limit("largest device-local heap", d->device_local_heap_bytes, p->device_local_heap_bytes);
}

static void print_capabilities(const vka_device_info *info)
{
    static const char *const ops[] = {"basic",     "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative",
                                      "clustered", "quad"};
    printf("capabilities:\n");
    printf("  %-34s %u\n", "subgroup size", info->subgroup_size);
    printf("  %-34s", "subgroup operations (compute)");
    for (unsigned i = 0; i < 8; i++)
        if (info->subgroup_operations & (1u << i))
            printf(" %s", ops[i]);
    printf("\n  %-34s %s\n", "16-bit storage", info->storage_buffer_16bit ? "yes" : "no");
    printf("  %-34s %s\n", "fp16 arithmetic", info->shader_float16 ? "yes" : "no");
    printf("  %-34s %s (period %.3g ns)\n", "timestamps", info->timestamps ? "yes" : "no", info->timestamp_period_ns);
    printf("  %-34s %s\n", "host-visible device memory", info->host_visible_device_memory ? "yes" : "no");
    printf("  %-34s %s\n", "driver quirks", info->quirks[0] ? info->quirks : "none");
    printf("  %-34s %s\n", "kernel class",
           info->kernel_class == VKA_KERNEL_CLASS_CPU ? "cpu (register-blocked, barrier-free)"
                                                      : "gpu (shared-memory tiles)");
}

static const char *type_name(vka_param_type type)
{
    switch (type) {
    case VKA_PARAM_BOOL: return "bool";
    case VKA_PARAM_INT: return "int";
    case VKA_PARAM_FLOAT: return "float";
    case VKA_PARAM_ENUM: return "enum";
    case VKA_PARAM_NAME: return "name";
    case VKA_PARAM_LIST: return "list";
    }
    return "?";
}

static const char *kind_name(vka_input_kind kind)
{
    switch (kind) {
    case VKA_INPUT_TOKENS: return "tokens";
    case VKA_INPUT_LEARNED: return "learned";
    case VKA_INPUT_POSITIONS: return "position";
    case VKA_INPUT_MASK: return "mask";
    case VKA_INPUT_INDICES: return "indices";
    }
    return "?";
}

/* vkattn info SCHEME: its inputs and its parameters, from the operation's own schema. */
static int describe_op(const char *name)
{
    vka_op_info op;
    if (vka_op_info_named(name, &op) != VKA_SUCCESS)
        return cli_fail("unknown operation '%s' (vkattn info lists them)", name);
    printf("%s: %s\ninputs (B batch, H heads, Nq queries, Nk keys, D head dim, Dv value dim; X=n: a size, "
           "e.g. n):\n",
           op.name, op.summary);
    for (uint32_t i = 0; i < op.input_count; i++) {
        const vka_input_info *in = &op.inputs[i];
        char shape[48];
        snprintf(shape, sizeof shape, "[%s]", in->shape);
        printf("  %-12s %-8s %-7s %-18s %-8s %s", in->role, in->optional ? "optional" : "required",
               in->dtypes & VKA_DTYPE_BIT(VKA_DTYPE_I32) ? "int32" : "f32|f16", shape, kind_name(in->kind),
               in->summary);
        if (in->values.bounded) /* the values the graph accepts */
            printf(" (values in %c%g, %g%c)", in->values.open_min ? '(' : '[', (double)in->values.min,
                   (double)in->values.max, in->values.open_max ? ')' : ']');
        if (in->same_as)
            printf(" (the same tensor as %s)", in->same_as);
        printf("\n");
    }
    printf("output: [%s] f32|f16 (default: the first input's; out_dtype=); rows %s\n", op.output_shape,
           op.rows_independent ? "independent (each query's row depends on it and the keys only)"
                               : "depend on each other");
    printf("parameters:%s\n", op.param_count ? "" : " none");
    for (uint32_t i = 0; i < op.param_count; i++) {
        const vka_param_info *p = &op.params[i];
        char values[160] = "";
        if (p->type == VKA_PARAM_ENUM)
            for (int c = 0; p->choices[c]; c++)
                snprintf(values + strlen(values), sizeof values - strlen(values), "%s%s", c ? "|" : "", p->choices[c]);
        else if (p->type == VKA_PARAM_INT || p->type == VKA_PARAM_FLOAT)
            snprintf(values, sizeof values, "[%.9g, %.9g]", p->min, p->max);
        printf("  %-14s %-5s %-24s default %s — %s\n", p->key, type_name(p->type), values,
               p->fallback  ? p->fallback
               : p->derived ? p->derived
                            : "(required)",
               p->summary);
    }
    return 0;
}

int cmd_info(int argc, char **argv)
{
    if (argc == 1 && argv[0][0] != '-')
        return describe_op(argv[0]);
    if (argc > 0)
        return cli_fail("usage: vkattn info [SCHEME]");
    vka_context *ctx;
    vka_result r = vka_context_create(&(vka_context_desc){0}, &ctx);
    if (r != VKA_SUCCESS)
        return cli_fail_result(NULL, r, "creating a context");
    printf("devices:\n");
    for (uint32_t i = 0; i < vka_context_candidate_count(ctx); i++) {
        vka_device_candidate c;
        vka_context_candidate_at(ctx, i, &c);
        printf("  %c %u: %s (%s) — %s\n", c.chosen ? '*' : ' ', c.index, c.name, cli_device_type_name(c.type),
               c.reason);
    }
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    printf("chosen: %s\n", info.summary);
    printf("  vendor 0x%04x device 0x%04x, driver version 0x%08x\n", info.vendor_id, info.device_id,
           info.driver_version);
    print_capabilities(&info);
    print_limits(&info);
    vka_pipeline_cache_info cache;
    if (vka_context_pipeline_cache_info(ctx, &cache) == VKA_SUCCESS && cache.path[0])
        printf("pipeline cache (VKATTN_CACHE_DIR): %s\n  %s\n", cache.path, cache.status);
    else
        printf("pipeline cache: none on disk (set VKATTN_CACHE_DIR to keep one)\n");
    printf("operations:\n");
    for (uint32_t i = 0; i < vka_op_count(); i++) {
        vka_op_info op;
        vka_op_info_at(i, &op);
        printf("  %-12s %s\n", op.name, op.summary);
    }
    vka_context_destroy(ctx);
    return 0;
}
