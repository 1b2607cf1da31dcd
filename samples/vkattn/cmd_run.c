/* vkattn run SCHEME key=value...: one operation on .npy files.
 *   vkattn run softmax q=q.npy k=k.npy v=v.npy causal=1 kv_len=kv.npy kernel=flash out=o.npy stats=1
 * Keys that name one of the operation's inputs are .npy paths; `out` and `stats` belong
 * to the tool; everything else is passed to the operation as a parameter. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct run_args {
    const char *scheme;
    const char *out_path;
    bool stats;
    vka_op_desc op;
    uint32_t input_count, param_count;
    const char *input_paths[VKA_MAX_OP_INPUTS];
    vka_npy inputs[VKA_MAX_OP_INPUTS];
} run_args;

static bool is_role(const vka_op_info *info, const char *key)
{
    for (uint32_t i = 0; info->input_roles[i]; i++)
        if (strcmp(info->input_roles[i], key) == 0)
            return true;
    return false;
}

static int parse_args(int argc, char **argv, const vka_op_info *info, run_args *a)
{
    for (int i = 1; i < argc; i++) {
        char *key, *value;
        cli_split_pair(argv[i], &key, &value);
        if (!value || !key[0])
            return cli_fail("argument '%s' is not key=value", argv[i]);
        if (strcmp(key, "out") == 0)
            a->out_path = value;
        else if (strcmp(key, "stats") == 0)
            a->stats = strcmp(value, "0") != 0;
        else if (is_role(info, key)) {
            if (a->input_count == VKA_MAX_OP_INPUTS)
                return cli_fail("too many inputs");
            a->op.inputs[a->input_count].role = key;
            a->input_paths[a->input_count++] = value;
        } else {
            if (a->param_count == VKA_MAX_OP_PARAMS)
                return cli_fail("too many parameters");
            a->op.params[a->param_count++] = (vka_op_param){key, value};
        }
    }
    return 0;
}

static int load_inputs(vka_context *ctx, vka_graph *g, run_args *a)
{
    for (uint32_t i = 0; i < a->input_count; i++) {
        vka_result r = vka_npy_load(ctx, a->input_paths[i], &a->inputs[i]);
        if (r != VKA_SUCCESS)
            return cli_fail_result(ctx, r, "reading input");
        vka_tensor_desc desc = {.name = a->op.inputs[i].role, .dtype = a->inputs[i].dtype, .rank = a->inputs[i].rank};
        memcpy(desc.dims, a->inputs[i].dims, sizeof desc.dims);
        r = vka_graph_input(g, &desc, &a->op.inputs[i].tensor);
        if (r != VKA_SUCCESS)
            return cli_fail_result(ctx, r, "building the graph");
    }
    return 0;
}

/* The distinct kernels the plan uses, as "name.variant+...". */
static void kernel_list(const vka_plan *plan, uint32_t dispatches, char *buf, size_t size)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < dispatches; i++) {
        vka_dispatch_info d;
        vka_plan_dispatch_info(plan, i, &d);
        char item[64];
        snprintf(item, sizeof item, "%s.%s", d.kernel, d.variant);
        if (strstr(buf, item))
            continue;
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", used ? "+" : "", item);
    }
}

static void print_stats(vka_context *ctx, const vka_plan *plan, const char *scheme)
{
    vka_plan_stats s;
    vka_plan_stats_get(plan, &s);
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    char kernels[256];
    kernel_list(plan, s.dispatch_count, kernels, sizeof kernels);
    printf("{\"scheme\":");
    cli_json_string(stdout, scheme);
    printf(",\"kernel\":");
    cli_json_string(stdout, kernels);
    printf(",\"peak_device_bytes\":%llu,\"dispatches\":%u,\"barriers\":%u,\"gpu_ms\":%.4f,\"wall_ms\":%.4f,"
           "\"plan_ms\":%.3f,\"pipeline_create_ms\":%.3f,\"device\":",
           (unsigned long long)s.peak_device_bytes, s.dispatch_count, s.barrier_count, s.last_run_gpu_ms,
           s.last_run_wall_ms, s.plan_ms, s.pipeline_create_ms);
    cli_json_string(stdout, info.name);
    printf(",\"per_dispatch\":[");
    for (uint32_t i = 0; i < s.dispatch_count; i++) {
        vka_dispatch_info d;
        vka_plan_dispatch_info(plan, i, &d);
        printf("%s{\"kernel\":\"%s.%s\",\"gpu_ms\":%.4f}", i ? "," : "", d.kernel, d.variant, d.gpu_ms);
    }
    printf("]}\n");
}

static int execute(vka_context *ctx, run_args *a)
{
    vka_graph *g;
    vka_plan *plan = NULL;
    vka_tensor out;
    vka_result r = vka_graph_create(ctx, &g);
    if (r != VKA_SUCCESS)
        return cli_fail_result(ctx, r, "creating a graph");
    int status = load_inputs(ctx, g, a);
    if (!status && (r = vka_graph_op(g, &a->op, &out)) != VKA_SUCCESS)
        status = cli_fail_result(ctx, r, a->scheme);
    if (!status && (r = vka_graph_output(g, "out", out)) != VKA_SUCCESS)
        status = cli_fail_result(ctx, r, "building the graph");
    if (!status && (r = vka_plan_create(g, &(vka_plan_desc){0}, &plan)) != VKA_SUCCESS)
        status = cli_fail_result(ctx, r, "planning");
    for (uint32_t i = 0; !status && i < a->input_count; i++)
        if ((r = vka_plan_write(plan, a->op.inputs[i].role, a->inputs[i].data, a->inputs[i].bytes)) != VKA_SUCCESS)
            status = cli_fail_result(ctx, r, "writing input");
    if (!status && (r = vka_plan_run(plan)) != VKA_SUCCESS)
        status = cli_fail_result(ctx, r, "running");
    if (!status && a->out_path) {
        vka_tensor_desc desc;
        vka_graph_tensor_desc(g, out, &desc);
        size_t bytes = 4;
        for (uint32_t i = 0; i < desc.rank; i++)
            bytes *= desc.dims[i];
        void *host = malloc(bytes);
        if (!host)
            status = cli_fail("out of host memory");
        else if ((r = vka_plan_read(plan, "out", host, bytes)) != VKA_SUCCESS)
            status = cli_fail_result(ctx, r, "reading the output");
        else if ((r = vka_npy_save(ctx, a->out_path, desc.dtype, desc.rank, desc.dims, host)) != VKA_SUCCESS)
            status = cli_fail_result(ctx, r, "writing the output");
        free(host);
    }
    if (!status && a->stats)
        print_stats(ctx, plan, a->scheme);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return status;
}

int cmd_run(int argc, char **argv)
{
    if (argc < 1)
        return cli_fail("run needs a scheme: vkattn run softmax q=q.npy k=k.npy v=v.npy out=o.npy");
    run_args a = {.scheme = argv[0], .op = {.op = argv[0]}};
    vka_op_info info;
    if (vka_op_info_named(a.scheme, &info) != VKA_SUCCESS)
        return cli_fail("unknown scheme '%s' (`vkattn info` lists them)", a.scheme);
    int status = parse_args(argc, argv, &info, &a);
    if (status)
        return status;
    vka_context *ctx;
    vka_result r = vka_context_create(&(vka_context_desc){0}, &ctx);
    if (r != VKA_SUCCESS)
        return cli_fail_result(NULL, r, "creating a context");
    status = execute(ctx, &a);
    if (!status && vka_context_validation_message_count(ctx))
        status = cli_fail("validation: %s", vka_context_first_validation_message(ctx));
    for (uint32_t i = 0; i < a.input_count; i++)
        vka_npy_free(&a.inputs[i]);
    vka_context_destroy(ctx);
    return status;
}
