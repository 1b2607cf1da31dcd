/* vkattn run SCHEME key=value...: one operation on .npy files.
 *   vkattn run softmax q=q.npy k=k.npy v=v.npy causal=1 kv_len=kv.npy kernel=flash out=o.npy stats=1
 *   vkattn run linear q=q.npy k=k.npy v=v.npy causal=1 decode=1 chunk=1 out=o.npy
 * Keys that name one of the operation's inputs are .npy paths; `out`, `stats`, `runs`, `chunk`
 * (these two unless the operation has a parameter of that name), `in_dtype`, `out_dtype` and
 * `reference` belong to the tool; everything else is passed to the
 * operation as a parameter. in_dtype=f16|f32 converts the float inputs as they are read
 * (f32 → f16 rounds to nearest even); out_dtype=f16|f32 is the result's type (default:
 * the first input's) and the output file's. reference=1 evaluates the graph with the
 * engine's double-precision reference instead of the device (the oracle of the tests).
 * With decode=1 the tool feeds the sequence to a decoding plan `chunk` tokens per run
 * (default 1), the state carried across runs, and writes every step's output. */
#include "cli.h"
#include "provenance.h"

#include <stdlib.h>
#include <string.h>

typedef struct run_args {
    const char *scheme;
    const char *out_path;
    bool stats, decode, reference;
    uint32_t chunk;     /* decode=1: tokens per run */
    uint32_t runs;      /* runs of the whole operation (runs=): the first, then the steady state */
    char capacity[16];  /* decode=1: the cache's capacity when the op takes one and none was given */
    vka_dtype in_dtype; /* DEFAULT: as the files hold them */
    vka_op_desc op;
    uint32_t input_count, param_count;
    const char *input_paths[VKA_MAX_OP_INPUTS];
    vka_npy inputs[VKA_MAX_OP_INPUTS];
    int same[VKA_MAX_OP_INPUTS]; /* the input an input is (vka_input_info.same_as), else -1 */
    char params_json[1024];      /* the parameters as the op resolved them, for stats=1 */
    vka_dtype out_dtype;         /* the result's, as the op resolved it */
} run_args;

static bool is_role(const vka_op_info *info, const char *key)
{
    for (uint32_t i = 0; i < info->input_count; i++)
        if (strcmp(info->inputs[i].role, key) == 0)
            return true;
    return false;
}

static bool is_param(const vka_op_info *info, const char *key)
{
    for (uint32_t i = 0; i < info->param_count; i++)
        if (strcmp(info->params[i].key, key) == 0)
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
        else if (strcmp(key, "reference") == 0)
            a->reference = strcmp(value, "0") != 0;
        else if (strcmp(key, "in_dtype") == 0 || strcmp(key, "out_dtype") == 0) {
            vka_dtype *to = key[0] == 'i' ? &a->in_dtype : &a->op.dtype;
            if (strcmp(value, "f16") == 0)
                *to = VKA_DTYPE_F16;
            else if (strcmp(value, "f32") == 0)
                *to = VKA_DTYPE_F32;
            else
                return cli_fail("%s=%s: want f16 or f32", key, value);
        } else if (strcmp(key, "runs") == 0 && !is_param(info, key)) {
            char *end;
            unsigned long runs = strtoul(value, &end, 10);
            if (*end || runs == 0 || runs > 1000)
                return cli_fail("runs=%s: want a count in 1..1000", value);
            a->runs = (uint32_t)runs;
        } else if (strcmp(key, "chunk") == 0 && !is_param(info, key)) { /* the Reformer's chunk is its own */
            char *end;
            unsigned long chunk = strtoul(value, &end, 10);
            if (*end || chunk == 0 || chunk > 1u << 20)
                return cli_fail("chunk=%s: want a token count in 1..1048576", value);
            a->chunk = (uint32_t)chunk;
        } else if (is_role(info, key)) {
            if (a->input_count == VKA_MAX_OP_INPUTS)
                return cli_fail("too many inputs");
            a->op.inputs[a->input_count].role = key;
            a->input_paths[a->input_count++] = value;
        } else {
            if (a->param_count == VKA_MAX_OP_PARAMS)
                return cli_fail("too many parameters");
            a->op.params[a->param_count++] = (vka_op_param){key, value};
            if (strcmp(key, "decode") == 0)
                a->decode = strcmp(value, "0") != 0;
        }
    }
    return 0;
}

/* Whether the operation takes the input as a graph constant (its input table says so: a
 * block layout, te_attention's MLP weights), packed into the plan when it is created. */
static bool is_constant_role(const char *scheme, const char *role)
{
    vka_op_info info;
    if (vka_op_info_named(scheme, &info) != VKA_SUCCESS)
        return false;
    for (uint32_t i = 0; i < info.input_count; i++)
        if (strcmp(info.inputs[i].role, role) == 0)
            return info.inputs[i].constant;
    return false;
}

/* Whether input i is a tensor the plan is given data for at run time: not a constant, and
 * not another input under a second name (the Reformer's k). */
static bool is_run_input(const run_args *a, uint32_t i)
{
    return !is_constant_role(a->scheme, a->op.inputs[i].role) && a->same[i] < 0;
}

/* An input that carries one entry per token — its shape's third axis is the tokens ("Nq" or
 * "Nk"): q, k, v, gla's gates, deltanet's gates and β — which decoding feeds a chunk at a
 * time. */
static bool is_sequence_role(const char *scheme, const char *role)
{
    vka_op_info info;
    if (vka_op_info_named(scheme, &info) != VKA_SUCCESS)
        return false;
    for (uint32_t i = 0; i < info.input_count; i++) {
        const char *shape = info.inputs[i].shape, *axis = shape;
        if (strcmp(info.inputs[i].role, role) != 0)
            continue;
        for (int commas = 0; axis && commas < 2; commas++)
            axis = strchr(axis, ',') ? strchr(axis, ',') + 1 : NULL;
        return axis && (strncmp(axis, "Nq", 2) == 0 || strncmp(axis, "Nk", 2) == 0) && (axis[2] == ',' || !axis[2]);
    }
    return false;
}

/* Floats per token of a sequence input: [B, H, N, D] or [B, H, N]. */
static uint32_t token_width(const vka_npy *x)
{
    return x->rank == 4 ? x->dims[3] : 1;
}

/* A float array in another float type (in_dtype): replaced in place. */
static int convert_input(vka_npy *x, vka_dtype to)
{
    bool is_float = x->dtype == VKA_DTYPE_F32 || x->dtype == VKA_DTYPE_F16;
    if (to == VKA_DTYPE_DEFAULT || !is_float || x->dtype == to)
        return 0;
    size_t n = x->bytes / (x->dtype == VKA_DTYPE_F16 ? 2 : 4), bytes = n * (to == VKA_DTYPE_F16 ? 2 : 4);
    void *converted = malloc(bytes);
    if (!converted)
        return cli_fail("out of host memory");
    if (to == VKA_DTYPE_F16)
        vka_f16_from_f32(x->data, converted, n);
    else
        vka_f32_from_f16(x->data, converted, n);
    free(x->data);
    x->data = converted;
    x->bytes = bytes;
    x->dtype = to;
    return 0;
}

static int load_inputs(vka_context *ctx, run_args *a)
{
    for (uint32_t i = 0; i < a->input_count; i++) {
        vka_result r = vka_npy_load(ctx, a->input_paths[i], &a->inputs[i]);
        if (r != VKA_SUCCESS)
            return cli_fail_result(ctx, r, "reading input");
        if (convert_input(&a->inputs[i], a->in_dtype))
            return 1;
    }
    return 0;
}

/* An input the operation wants to be another one (the Reformer's k is its q): that one's
 * tensor when the files hold the same array; -1 when it is no such input; -2 (after a
 * message) when the arrays differ. */
static int same_tensor_as(const vka_op_info *info, const run_args *a, uint32_t i)
{
    const char *same_as = NULL;
    for (uint32_t r = 0; r < info->input_count; r++)
        if (strcmp(info->inputs[r].role, a->op.inputs[i].role) == 0)
            same_as = info->inputs[r].same_as;
    for (uint32_t j = 0; same_as && j < a->input_count; j++) {
        const vka_npy *x = &a->inputs[i], *y = &a->inputs[j];
        if (strcmp(a->op.inputs[j].role, same_as) != 0)
            continue;
        if (x->dtype == y->dtype && x->rank == y->rank && memcmp(x->dims, y->dims, sizeof x->dims) == 0 &&
            x->bytes == y->bytes && memcmp(x->data, y->data, x->bytes) == 0)
            return (int)j;
        cli_fail("%s=%s differs from %s=%s: %s takes its %s as its %s (give the same array, or leave %s out)",
                 a->op.inputs[i].role, a->input_paths[i], same_as, a->input_paths[j], a->scheme, same_as,
                 a->op.inputs[i].role, a->op.inputs[i].role);
        return -2;
    }
    return -1;
}

/* The graph's inputs as loaded; when decoding, q, k and v carry `tokens` tokens. */
static int declare_inputs(vka_context *ctx, vka_graph *g, run_args *a, uint32_t tokens)
{
    vka_op_info info;
    vka_op_info_named(a->scheme, &info);
    for (uint32_t i = 0; i < a->input_count; i++)
        if ((a->same[i] = same_tensor_as(&info, a, i)) == -2)
            return 1;
    for (uint32_t i = 0; i < a->input_count; i++) {
        if (a->same[i] >= 0)
            continue;
        vka_tensor_desc desc = {.name = a->op.inputs[i].role, .dtype = a->inputs[i].dtype, .rank = a->inputs[i].rank};
        memcpy(desc.dims, a->inputs[i].dims, sizeof desc.dims);
        if (tokens && desc.rank >= 3 && is_sequence_role(a->scheme, desc.name))
            desc.dims[2] = tokens;
        vka_result r =
            is_constant_role(a->scheme, desc.name)
                ? vka_graph_constant(g, &desc, a->inputs[i].data, a->inputs[i].bytes, &a->op.inputs[i].tensor)
                : vka_graph_input(g, &desc, &a->op.inputs[i].tensor);
        if (r != VKA_SUCCESS)
            return cli_fail_result(ctx, r, "building the graph");
    }
    for (uint32_t i = 0; i < a->input_count; i++)
        if (a->same[i] >= 0)
            a->op.inputs[i].tensor = a->op.inputs[a->same[i]].tensor;
    return 0;
}

/* Graph and plan of the operation; tokens as in declare_inputs. */
static int build_plan(vka_context *ctx, run_args *a, uint32_t tokens, vka_graph **g, vka_plan **plan, vka_tensor *out)
{
    vka_result r = vka_graph_create(ctx, g);
    if (r != VKA_SUCCESS)
        return cli_fail_result(ctx, r, "creating a graph");
    int status = declare_inputs(ctx, *g, a, tokens);
    if (!status && (r = vka_graph_op(*g, &a->op, out)) != VKA_SUCCESS)
        status = cli_fail_result(ctx, r, a->scheme);
    vka_tensor_desc result;
    if (!status && !provenance_params_json(*g, *out, a->params_json, sizeof a->params_json))
        snprintf(a->params_json, sizeof a->params_json, "null");
    if (!status && vka_graph_tensor_desc(*g, *out, &result) == VKA_SUCCESS)
        a->out_dtype = result.dtype;
    if (!status && (r = vka_graph_output(*g, "out", *out)) != VKA_SUCCESS)
        status = cli_fail_result(ctx, r, "building the graph");
    if (!status && !a->reference && (r = vka_plan_create(*g, &(vka_plan_desc){0}, plan)) != VKA_SUCCESS)
        status = cli_fail_result(ctx, r, "planning");
    return status;
}

static size_t tensor_bytes(const vka_tensor_desc *desc)
{
    size_t bytes = desc->dtype == VKA_DTYPE_F16 ? 2 : 4;
    for (uint32_t i = 0; i < desc->rank; i++)
        bytes *= desc->dims[i];
    return bytes;
}

/* The distinct kernels the plan uses, as "name.variant+...". */
static void kernel_list(const vka_plan *plan, uint32_t dispatches, char *buf, size_t size)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < dispatches; i++) {
        vka_dispatch_info d;
        vka_plan_dispatch_at(plan, i, &d);
        char item[64];
        snprintf(item, sizeof item, "%s.%s", d.kernel, d.variant);
        if (strstr(buf, item))
            continue;
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", used ? "+" : "", item);
    }
}

/* The median of x[0..n) (n > 0; x is reordered). */
static double median(double *x, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double t = x[j];
            x[j] = x[j - 1];
            x[j - 1] = t;
        }
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* gpu_ms: the steady state (the median of the runs after the first; the first when there
 * is one run), gpu_ms_first apart: on a lazy driver (llvmpipe) it includes compiling. */
static void print_stats(vka_context *ctx, const vka_plan *plan, const run_args *a, double *gpu_ms, uint32_t runs)
{
    vka_plan_stats s;
    vka_plan_stats_get(plan, &s);
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    char kernels[256];
    kernel_list(plan, s.dispatch_count, kernels, sizeof kernels);
    printf("{\"scheme\":");
    cli_json_string(stdout, a->scheme);
    printf(",\"kernel\":");
    cli_json_string(stdout, kernels);
    printf(",\"out_dtype\":\"%s\",\"params\":%s", a->out_dtype == VKA_DTYPE_F16 ? "f16" : "f32", a->params_json);
    double first = gpu_ms[0], steady = runs > 1 ? median(gpu_ms + 1, runs - 1) : first;
    printf(",\"peak_device_bytes\":%llu,\"dispatches\":%u,\"barriers\":%u,\"runs\":%u,\"gpu_ms\":%.4f,"
           "\"gpu_ms_first\":%.4f,\"wall_ms\":%.4f,\"plan_ms\":%.3f,\"pipeline_create_ms\":%.3f,\"f16_tensors\":%u,"
           "\"f16_widened\":%u,",
           (unsigned long long)s.peak_device_bytes, s.dispatch_count, s.barrier_count, runs, steady, first,
           s.last_run_wall_ms, s.plan_ms, s.pipeline_create_ms, s.f16_tensors, s.f16_widened);
    provenance_write_json(stdout, &info);
    for (uint32_t i = 0; i < s.op_stat_count; i++) { /* what the operations report (sparse blocks) */
        vka_op_stat stat;
        vka_plan_op_stat_at(plan, i, &stat);
        printf(",\"%s\":%llu", stat.key, (unsigned long long)stat.value);
    }
    printf(",\"per_dispatch\":[");
    for (uint32_t i = 0; i < s.dispatch_count; i++) {
        vka_dispatch_info d;
        vka_plan_dispatch_at(plan, i, &d);
        printf("%s{\"kernel\":\"%s.%s\",\"gpu_ms\":%.4f}", i ? "," : "", d.kernel, d.variant, d.gpu_ms);
    }
    printf("]}\n");
}

static int save_output(vka_context *ctx, const run_args *a, const vka_tensor_desc *desc, const void *host)
{
    vka_result r = vka_npy_save(ctx, a->out_path, desc->dtype, desc->rank, desc->dims, host);
    return r == VKA_SUCCESS ? 0 : cli_fail_result(ctx, r, "writing the output");
}

/* reference=1: the graph's output from the engine's double-precision reference. */
static vka_result run_reference(const run_args *a, vka_graph *g, void *out, size_t out_bytes)
{
    vka_host_tensor in[VKA_MAX_OP_INPUTS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->input_count; i++)
        if (is_run_input(a, i))
            in[n++] = (vka_host_tensor){a->op.inputs[i].role, a->inputs[i].data, a->inputs[i].bytes};
    return vka_graph_reference(g, in, n, &(vka_host_tensor){"out", out, out_bytes}, 1);
}

/* The result — from the device, or (reference=1) from the reference — into out=. */
static int write_result(vka_context *ctx, const run_args *a, vka_graph *g, vka_plan *plan, vka_tensor out)
{
    vka_tensor_desc desc;
    vka_graph_tensor_desc(g, out, &desc);
    size_t bytes = tensor_bytes(&desc);
    void *host = malloc(bytes);
    vka_result r = !host          ? VKA_ERROR_OUT_OF_HOST_MEMORY
                   : a->reference ? run_reference(a, g, host, bytes)
                                  : vka_plan_read(plan, "out", host, bytes);
    int status = r != VKA_SUCCESS ? cli_fail_result(ctx, r, a->reference ? "the reference" : "reading the output")
                 : a->out_path    ? save_output(ctx, a, &desc, host)
                                  : 0;
    free(host);
    return status;
}

/* The whole operation, `runs` times (each from the plan's initial states, so every run
 * computes what one would). */
static int execute(vka_context *ctx, run_args *a)
{
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    vka_tensor out;
    vka_result r;
    uint32_t runs = a->runs ? a->runs : 1;
    double *gpu_ms = calloc(runs, sizeof *gpu_ms);
    int status = gpu_ms ? build_plan(ctx, a, 0, &g, &plan, &out) : cli_fail("out of host memory");
    for (uint32_t i = 0; !status && !a->reference && i < a->input_count; i++)
        if (is_run_input(a, i) &&
            (r = vka_plan_write(plan, a->op.inputs[i].role, a->inputs[i].data, a->inputs[i].bytes)) != VKA_SUCCESS)
            status = cli_fail_result(ctx, r, "writing input");
    for (uint32_t run = 0; !status && !a->reference && run < runs; run++) {
        vka_plan_stats s;
        if ((run > 0 && (r = vka_plan_reset_states(plan)) != VKA_SUCCESS) || (r = vka_plan_run(plan)) != VKA_SUCCESS)
            status = cli_fail_result(ctx, r, "running");
        vka_plan_stats_get(plan, &s);
        gpu_ms[run] = s.last_run_gpu_ms;
    }
    if (!status && (a->out_path || a->reference))
        status = write_result(ctx, a, g, plan, out);
    if (!status && a->stats && plan)
        print_stats(ctx, plan, a, gpu_ms, runs);
    free(gpu_ms);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return status;
}

/* ------------------------------------------------------------------ decoding */

/* Moves tokens [t0, t0 + n) of every [batch, head] between a whole sequence
 * ([slices, total, width]) and the first n rows of a chunk ([slices, rows, width]). */
static void copy_tokens(float *seq, float *chunk, uint32_t slices, uint32_t total, uint32_t width, uint32_t t0,
                        uint32_t n, uint32_t rows, bool to_chunk)
{
    for (uint32_t s = 0; s < slices; s++) {
        float *a = seq + ((size_t)s * total + t0) * width, *b = chunk + (size_t)s * rows * width;
        memcpy(to_chunk ? b : a, to_chunk ? a : b, (size_t)n * width * sizeof(float));
    }
}

/* The sequence length the q, k and v files share, or 0 after saying why not. */
static uint32_t sequence_length(const run_args *a)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->input_count; i++) {
        if (!is_sequence_role(a->scheme, a->op.inputs[i].role))
            continue;
        const vka_npy *x = &a->inputs[i];
        if ((x->rank != 4 && x->rank != 3) || x->dtype != VKA_DTYPE_F32) {
            cli_fail("decode=1: %s must be float32 [B, H, N, D] or [B, H, N]", a->op.inputs[i].role);
            return 0;
        }
        if (n && x->dims[2] != n) {
            cli_fail("decode=1: the per-token inputs must carry the same tokens; %s has %u, another has %u",
                     a->op.inputs[i].role, x->dims[2], n);
            return 0;
        }
        n = x->dims[2];
    }
    if (!n)
        cli_fail("decode=1 needs the sequence's per-token inputs (q, k, v, ...)");
    return n;
}

typedef struct decode_run {
    uint32_t total, chunk, slices;
    uint32_t counts; /* the index of the kv_len input the tool added, or UINT32_MAX */
    float *chunk_in[VKA_MAX_OP_INPUTS], *chunk_out, *whole_out;
    size_t out_width;
    double gpu_ms_sum, gpu_ms_first, gpu_ms_last;
} decode_run;

/* One run: the chunk of tokens starting at t0 in (fewer at the end when chunk does not
 * divide the sequence: the rest of the chunk zero, kv_len saying how many), its outputs out. */
static int decode_step(vka_context *ctx, run_args *a, vka_plan *plan, decode_run *d, uint32_t t0)
{
    vka_result r;
    uint32_t n = d->total - t0 < d->chunk ? d->total - t0 : d->chunk;
    for (uint32_t i = 0; i < a->input_count; i++) {
        vka_npy *x = &a->inputs[i];
        const void *data = x->data;
        size_t bytes = x->bytes;
        if (d->chunk_in[i]) { /* a per-token input, each with its own heads (grouped heads) */
            uint32_t slices = x->dims[0] * x->dims[1];
            bytes = (size_t)slices * d->chunk * token_width(x) * sizeof(float);
            copy_tokens(x->data, d->chunk_in[i], slices, d->total, token_width(x), t0, n, d->chunk, true);
            /* a short last chunk: its unused rows repeat the last token (inside any value
               range the input has; kv_len keeps them out) */
            for (uint32_t s = 0; s < slices; s++)
                for (uint32_t t = n; t < d->chunk; t++)
                    memcpy(d->chunk_in[i] + ((size_t)s * d->chunk + t) * token_width(x),
                           d->chunk_in[i] + ((size_t)s * d->chunk + n - 1) * token_width(x),
                           token_width(x) * sizeof(float));
            data = d->chunk_in[i];
        } else if (i == d->counts) { /* the tokens this run adds, per batch */
            for (uint32_t b = 0; b < x->dims[0]; b++)
                ((int32_t *)x->data)[b] = (int32_t)n;
        } else if (t0 > 0 || !is_run_input(a, i)) {
            continue; /* other inputs (a projection) were written once; constants are the plan's */
        }
        if ((r = vka_plan_write(plan, a->op.inputs[i].role, data, bytes)) != VKA_SUCCESS)
            return cli_fail_result(ctx, r, "writing input");
    }
    if ((r = vka_plan_run(plan)) != VKA_SUCCESS)
        return cli_fail_result(ctx, r, "running");
    size_t out_bytes = (size_t)d->slices * d->chunk * d->out_width * sizeof(float);
    if ((r = vka_plan_read(plan, "out", d->chunk_out, out_bytes)) != VKA_SUCCESS)
        return cli_fail_result(ctx, r, "reading the output");
    copy_tokens(d->whole_out, d->chunk_out, d->slices, d->total, (uint32_t)d->out_width, t0, n, d->chunk, false);
    vka_plan_stats s;
    vka_plan_stats_get(plan, &s);
    d->gpu_ms_sum += s.last_run_gpu_ms;
    d->gpu_ms_last = s.last_run_gpu_ms;
    if (t0 == 0)
        d->gpu_ms_first = s.last_run_gpu_ms;
    return 0;
}

static void print_decode_stats(vka_context *ctx, const vka_plan *plan, const run_args *a, const decode_run *d)
{
    vka_plan_stats s;
    vka_plan_stats_get(plan, &s);
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    uint32_t steps = (d->total + d->chunk - 1) / d->chunk;
    printf("{\"scheme\":");
    cli_json_string(stdout, a->scheme);
    printf(",\"params\":%s", a->params_json);
    printf(",\"decode\":true,\"tokens\":%u,\"chunk\":%u,\"steps\":%u,\"peak_device_bytes\":%llu,"
           "\"state_bytes\":%llu,\"dispatches_per_step\":%u,\"gpu_ms_per_step\":%.4f,\"gpu_ms_first_step\":%.4f,"
           "\"gpu_ms_last_step\":%.4f,\"plan_ms\":%.3f,",
           d->total, d->chunk, steps, (unsigned long long)s.peak_device_bytes, (unsigned long long)s.state_bytes,
           s.dispatch_count, d->gpu_ms_sum / steps, d->gpu_ms_first, d->gpu_ms_last, s.plan_ms);
    provenance_write_json(stdout, &info);
    printf("}\n");
}

/* What decoding needs that the files do not say: a cache's capacity (the whole sequence,
 * when the operation takes one and none was given), and when chunk does not divide the
 * sequence a kv_len input telling the operation how many of a run's tokens are real (an
 * operation that cannot take them refuses kv_len by name). */
static int decode_additions(run_args *a, decode_run *d)
{
    vka_op_info info;
    vka_op_info_named(a->scheme, &info);
    bool has_capacity = false, given = false;
    for (uint32_t i = 0; i < info.param_count; i++)
        has_capacity = has_capacity || strcmp(info.params[i].key, "capacity") == 0;
    for (uint32_t i = 0; i < a->param_count; i++)
        given = given || strcmp(a->op.params[i].key, "capacity") == 0;
    if (has_capacity && !given) {
        if (a->param_count == VKA_MAX_OP_PARAMS)
            return cli_fail("too many parameters");
        snprintf(a->capacity, sizeof a->capacity, "%u", d->total);
        a->op.params[a->param_count++] = (vka_op_param){"capacity", a->capacity};
    }
    d->counts = UINT32_MAX;
    if (d->total % d->chunk == 0)
        return 0;
    for (uint32_t i = 0; i < a->input_count; i++)
        if (strcmp(a->op.inputs[i].role, "kv_len") == 0)
            return cli_fail("decode=1: chunk=%u does not divide the %u tokens, and the tool's own kv_len (the "
                            "tokens each run adds) would replace the one given",
                            d->chunk, d->total);
    if (a->input_count == VKA_MAX_OP_INPUTS)
        return cli_fail("too many inputs");
    uint32_t batch = 1; /* a per-token input's (aaren's first input is its learned query) */
    for (uint32_t i = a->input_count; i-- > 0;)
        if (is_sequence_role(a->scheme, a->op.inputs[i].role))
            batch = a->inputs[i].dims[0];
    vka_npy *counts = &a->inputs[a->input_count];
    *counts = (vka_npy){.dtype = VKA_DTYPE_I32, .rank = 1, .dims = {batch}, .bytes = batch * sizeof(int32_t)};
    if (!(counts->data = calloc(batch, sizeof(int32_t))))
        return cli_fail("out of host memory");
    a->op.inputs[a->input_count].role = "kv_len";
    d->counts = a->input_count++;
    return 0;
}

/* The sequence through a decoding plan, `chunk` tokens per run. */
static int execute_decode(vka_context *ctx, run_args *a)
{
    decode_run d = {.chunk = a->chunk ? a->chunk : 1};
    if (!(d.total = sequence_length(a)))
        return 1;
    int status = decode_additions(a, &d);
    if (status)
        return status;
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    vka_tensor out;
    status = build_plan(ctx, a, d.chunk, &g, &plan, &out);
    vka_tensor_desc desc = {0};
    if (!status) {
        vka_graph_tensor_desc(g, out, &desc);
        d.slices = desc.dims[0] * desc.dims[1];
        d.out_width = desc.dims[3];
        d.chunk_out = malloc(tensor_bytes(&desc));
        d.whole_out = malloc(tensor_bytes(&desc) / d.chunk * d.total);
        desc.dims[2] = d.total;
        status = d.chunk_out && d.whole_out ? 0 : cli_fail("out of host memory");
    }
    for (uint32_t i = 0; !status && i < a->input_count; i++)
        if (is_sequence_role(a->scheme, a->op.inputs[i].role) &&
            !(d.chunk_in[i] = malloc(a->inputs[i].bytes / d.total * d.chunk)))
            status = cli_fail("out of host memory");
    for (uint32_t t0 = 0; !status && t0 < d.total; t0 += d.chunk)
        status = decode_step(ctx, a, plan, &d, t0);
    if (!status && a->out_path) {
        status = save_output(ctx, a, &desc, d.whole_out);
    }
    if (!status && a->stats)
        print_decode_stats(ctx, plan, a, &d);
    for (uint32_t i = 0; i < a->input_count; i++)
        free(d.chunk_in[i]);
    free(d.chunk_out);
    free(d.whole_out);
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
    if (a.chunk && !a.decode)
        return cli_fail("chunk=%u applies to decoding: add decode=1 (and causal=1)", a.chunk);
    if (a.runs && (a.decode || a.reference))
        return cli_fail("runs=%u repeats the whole operation on the device: not with decode=1 or reference=1", a.runs);
    vka_context *ctx;
    vka_result r = vka_context_create(&(vka_context_desc){0}, &ctx);
    if (r != VKA_SUCCESS)
        return cli_fail_result(NULL, r, "creating a context");
    status = load_inputs(ctx, &a);
    if (!status)
        status = a.decode ? execute_decode(ctx, &a) : execute(ctx, &a);
    if (!status && vka_context_validation_message_count(ctx))
        status = cli_fail("validation: %s", vka_context_first_validation_message(ctx));
    for (uint32_t i = 0; i < a.input_count; i++)
        vka_npy_free(&a.inputs[i]);
    vka_context_destroy(ctx);
    return status;
}
