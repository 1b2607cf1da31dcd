/* vkattn info: every device and why it was chosen or passed over, then what the chosen
 * one can do and the limits the planner designs for (after VKATTN_LIMITS). */
#include "cli.h"
#include "provenance.h"

#include <string.h>

/* The limits the planner designs for, beside what the device reports (VKATTN_LIMITS). */
typedef struct limit_row {
    const char *name;
    uint64_t device, planner;
} limit_row;

static uint32_t limit_rows(const vka_device_info *info, limit_row *rows)
{
    const vka_device_limits *d = &info->device_limits, *p = &info->limits;
    const limit_row all[] = {
        {"maxComputeSharedMemorySize", d->max_shared_memory_bytes, p->max_shared_memory_bytes},
        {"maxComputeWorkGroupInvocations", d->max_workgroup_invocations, p->max_workgroup_invocations},
        {"maxComputeWorkGroupSize[0]", d->max_workgroup_size[0], p->max_workgroup_size[0]},
        {"maxComputeWorkGroupCount[0]", d->max_workgroup_count[0], p->max_workgroup_count[0]},
        {"maxPerStageDescriptorStorageBuffers", d->max_storage_buffers_per_stage, p->max_storage_buffers_per_stage},
        {"maxPerStageDescriptorUniformBuffers", d->max_uniform_buffers_per_stage, p->max_uniform_buffers_per_stage},
        {"maxStorageBufferRange", d->max_storage_buffer_range, p->max_storage_buffer_range},
        {"maxUniformBufferRange", d->max_uniform_buffer_range, p->max_uniform_buffer_range},
        {"minStorageBufferOffsetAlignment", d->min_storage_buffer_offset_alignment,
         p->min_storage_buffer_offset_alignment},
        {"maxPushConstantsSize", d->max_push_constants_bytes, p->max_push_constants_bytes},
        {"maxMemoryAllocationSize", d->max_allocation_bytes, p->max_allocation_bytes},
        {"maxBufferSize", d->max_buffer_bytes, p->max_buffer_bytes},
        {"largest device-local heap", d->device_local_heap_bytes, p->device_local_heap_bytes},
    };
    memcpy(rows, all, sizeof all);
    return (uint32_t)(sizeof all / sizeof *all);
}

static void print_limits(const vka_device_info *info)
{
    limit_row rows[16];
    uint32_t n = limit_rows(info, rows);
    printf("limits (profile %s):\n", info->limits_profile);
    for (uint32_t i = 0; i < n; i++) {
        if (rows[i].device == rows[i].planner)
            printf("  %-34s %llu\n", rows[i].name, (unsigned long long)rows[i].device);
        else
            printf("  %-34s %llu (device: %llu)\n", rows[i].name, (unsigned long long)rows[i].planner,
                   (unsigned long long)rows[i].device);
    }
}

static const char *const subgroup_ops[] = {"basic",     "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative",
                                           "clustered", "quad"};

static void print_capabilities(const vka_device_info *info)
{
    const char *const *ops = subgroup_ops;
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

/* ------------------------------------------------------------------ --json */

static void json_text_or_null(const char *key, const char *text, bool comma)
{
    printf("%s\"%s\":", comma ? "," : "", key);
    if (text)
        cli_json_string(stdout, text);
    else
        printf("null");
}

/* vkattn info SCHEME --json: the schema as data (what a script or binding reads). */
static int describe_op_json(const char *name)
{
    vka_op_info op;
    if (vka_op_info_named(name, &op) != VKA_SUCCESS)
        return cli_fail("unknown operation '%s' (vkattn info lists them)", name);
    printf("{");
    json_text_or_null("name", op.name, false);
    json_text_or_null("summary", op.summary, true);
    printf(",\"inputs\":[");
    for (uint32_t i = 0; i < op.input_count; i++) {
        const vka_input_info *in = &op.inputs[i];
        printf("%s{", i ? "," : "");
        json_text_or_null("role", in->role, false);
        printf(",\"required\":%s,\"dtypes\":\"%s\",\"constant\":%s", in->optional ? "false" : "true",
               in->dtypes & VKA_DTYPE_BIT(VKA_DTYPE_I32) ? "int32" : "f32|f16", in->constant ? "true" : "false");
        json_text_or_null("shape", in->shape, true);
        json_text_or_null("kind", kind_name(in->kind), true);
        json_text_or_null("summary", in->summary, true);
        json_text_or_null("same_as", in->same_as, true);
        if (in->values.bounded)
            printf(",\"values\":{\"min\":%.9g,\"max\":%.9g,\"open_min\":%s,\"open_max\":%s}", (double)in->values.min,
                   (double)in->values.max, in->values.open_min ? "true" : "false",
                   in->values.open_max ? "true" : "false");
        printf("}");
    }
    printf("]");
    json_text_or_null("output_shape", op.output_shape, true);
    printf(",\"rows_independent\":%s,\"params\":[", op.rows_independent ? "true" : "false");
    for (uint32_t i = 0; i < op.param_count; i++) {
        const vka_param_info *p = &op.params[i];
        printf("%s{", i ? "," : "");
        json_text_or_null("key", p->key, false);
        json_text_or_null("type", type_name(p->type), true);
        if (p->type == VKA_PARAM_INT || p->type == VKA_PARAM_FLOAT)
            printf(",\"min\":%.9g,\"max\":%.9g", p->min, p->max);
        if (p->type == VKA_PARAM_ENUM) {
            printf(",\"choices\":[");
            for (int c = 0; p->choices[c]; c++) {
                printf("%s", c ? "," : "");
                cli_json_string(stdout, p->choices[c]);
            }
            printf("]");
        }
        json_text_or_null("default", p->fallback, true);
        json_text_or_null("derived", p->derived, true);
        json_text_or_null("summary", p->summary, true);
        printf("}");
    }
    printf("]}\n");
    return 0;
}

/* vkattn info --json: the candidates, the chosen device (provenance.h's object), its
 * capabilities and limits, the pipeline cache, the operations. */
static void describe_device_json(vka_context *ctx, const vka_device_info *info)
{
    printf("{\"candidates\":[");
    for (uint32_t i = 0; i < vka_context_candidate_count(ctx); i++) {
        vka_device_candidate c;
        vka_context_candidate_at(ctx, i, &c);
        printf("%s{\"index\":%u", i ? "," : "", c.index);
        json_text_or_null("name", c.name, true);
        json_text_or_null("type", cli_device_type_name(c.type), true);
        printf(",\"chosen\":%s", c.chosen ? "true" : "false");
        json_text_or_null("reason", c.reason, true);
        printf("}");
    }
    printf("],");
    provenance_write_json(stdout, info);
    printf(",\"capabilities\":{\"subgroup_size\":%u,\"subgroup_operations\":[", info->subgroup_size);
    for (unsigned i = 0, n = 0; i < 8; i++)
        if (info->subgroup_operations & (1u << i))
            printf("%s\"%s\"", n++ ? "," : "", subgroup_ops[i]);
    printf("],\"fp16_storage\":%s,\"fp16_arithmetic\":%s,\"timestamps\":%s,\"timestamp_period_ns\":%.6g,"
           "\"host_visible_device_memory\":%s,\"loop_iteration_budget\":%u",
           info->storage_buffer_16bit ? "true" : "false", info->shader_float16 ? "true" : "false",
           info->timestamps ? "true" : "false", info->timestamp_period_ns,
           info->host_visible_device_memory ? "true" : "false", info->loop_iteration_budget);
    json_text_or_null("quirks", info->quirks, true);
    printf("},\"limits\":{\"profile\":\"%s\",\"planner\":{", info->limits_profile);
    limit_row rows[16];
    uint32_t n = limit_rows(info, rows);
    for (uint32_t i = 0; i < n; i++)
        printf("%s\"%s\":%llu", i ? "," : "", rows[i].name, (unsigned long long)rows[i].planner);
    printf("},\"device\":{");
    for (uint32_t i = 0; i < n; i++)
        printf("%s\"%s\":%llu", i ? "," : "", rows[i].name, (unsigned long long)rows[i].device);
    printf("}}");
    vka_pipeline_cache_info cache;
    bool on_disk = vka_context_pipeline_cache_info(ctx, &cache) == VKA_SUCCESS && cache.path[0];
    json_text_or_null("pipeline_cache", on_disk ? cache.path : NULL, true);
    printf(",\"operations\":[");
    for (uint32_t i = 0; i < vka_op_count(); i++) {
        vka_op_info op;
        vka_op_info_at(i, &op);
        printf("%s", i ? "," : "");
        cli_json_string(stdout, op.name);
    }
    printf("]}\n");
}

int cmd_info(int argc, char **argv)
{
    bool json = argc > 0 && strcmp(argv[argc - 1], "--json") == 0;
    argc -= json;
    if (argc == 1 && argv[0][0] != '-')
        return json ? describe_op_json(argv[0]) : describe_op(argv[0]);
    if (argc > 0)
        return cli_fail("usage: vkattn info [SCHEME] [--json]");
    vka_context *ctx;
    vka_device_info info;
    if (cli_open_context(&ctx, &info))
        return 1;
    if (json) {
        describe_device_json(ctx, &info);
        vka_context_destroy(ctx);
        return 0;
    }
    printf("devices:\n");
    for (uint32_t i = 0; i < vka_context_candidate_count(ctx); i++) {
        vka_device_candidate c;
        vka_context_candidate_at(ctx, i, &c);
        printf("  %c %u: %s (%s) — %s\n", c.chosen ? '*' : ' ', c.index, c.name, cli_device_type_name(c.type),
               c.reason);
    }
    char driver_version[48];
    provenance_driver_version(&info, driver_version, sizeof driver_version);
    printf("chosen: %s\n", info.summary);
    printf("  vendor 0x%04x device 0x%04x, driver version %s (0x%08x)\n", info.vendor_id, info.device_id,
           driver_version, info.driver_version);
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
