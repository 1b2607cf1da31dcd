/* Bad input gets a result code and a message that names the problem — which tensor,
 * which axis, which limit — and leaves the context usable: after every failure a small
 * valid attention still runs correctly on the same context. */
#include "attention_util.h"
#include "vkattn/io.h"

#include <unistd.h>

static vka_context *ctx;

/* A small good run on the same context: the device is still in a good state. */
static void still_works(void)
{
    attn_case c = {.batch = 1, .heads = 2, .nq = 9, .nk = 11, .d = 8, .seed = 99};
    attn_data data = {0};
    CHECK(attn_data_make(ctx, &c, &data));
    attn_check(ctx, &c, &data, 2e-5, 2e-4, "after a failure");
    attn_data_free(&data);
    test_check_validation(ctx);
}

/* Expects `r` with a message containing every needle. */
static void expect_failure(vka_result r, vka_result want, const char *const *needles)
{
    const char *message = vka_last_error(ctx);
    CHECK_MSG(r == want, "got %s, expected %s (message: %s)", vka_result_string(r), vka_result_string(want), message);
    CHECK_MSG(test_contains_all(message, needles), "message does not name the problem: \"%s\"", message);
}

typedef struct shapes {
    uint32_t q[4], k[4], v[4];
} shapes;

/* Builds q, k, v inputs of the given shapes and a softmax op with params; returns the op's result. */
static vka_result softmax_op(vka_graph *g, const shapes *s, const vka_op_param *params, vka_tensor *out)
{
    vka_tensor q, k, v;
    vka_tensor_desc dq = {.name = "q", .rank = 4}, dk = {.name = "k", .rank = 4}, dv = {.name = "v", .rank = 4};
    memcpy(dq.dims, s->q, sizeof s->q);
    memcpy(dk.dims, s->k, sizeof s->k);
    memcpy(dv.dims, s->v, sizeof s->v);
    vka_result r = vka_graph_input(g, &dq, &q);
    if (r == VKA_SUCCESS)
        r = vka_graph_input(g, &dk, &k);
    if (r == VKA_SUCCESS)
        r = vka_graph_input(g, &dv, &v);
    if (r != VKA_SUCCESS)
        return r;
    vka_op_desc op = {.op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v}}};
    for (int i = 0; params && params[i].key; i++)
        op.params[i] = params[i];
    return vka_graph_op(g, &op, out);
}

static void expect_op_failure(const shapes *s, const vka_op_param *params, vka_result want, const char *const *needles)
{
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tensor out;
    expect_failure(softmax_op(g, s, params, &out), want, needles);
    vka_graph_destroy(g);
    still_works();
}

static void shape_mismatch_names_tensor_and_axis(void)
{
    shapes heads = {{2, 4, 16, 32}, {2, 3, 16, 32}, {2, 4, 16, 32}};
    expect_op_failure(&heads, NULL, VKA_ERROR_SHAPE_MISMATCH, (const char *[]){"k", "heads 3", "axis 1", NULL});
    shapes tokens = {{1, 1, 16, 32}, {1, 1, 20, 32}, {1, 1, 19, 32}};
    expect_op_failure(&tokens, NULL, VKA_ERROR_SHAPE_MISMATCH,
                      (const char *[]){"v", "tokens 19", "axis 2", "20", NULL});
    shapes dims = {{1, 1, 16, 32}, {1, 1, 16, 40}, {1, 1, 16, 32}};
    expect_op_failure(&dims, NULL, VKA_ERROR_SHAPE_MISMATCH, (const char *[]){"k", "head dim 40", "axis 3", NULL});
    shapes batch = {{2, 1, 16, 32}, {2, 1, 16, 32}, {3, 1, 16, 32}};
    expect_op_failure(&batch, NULL, VKA_ERROR_SHAPE_MISMATCH, (const char *[]){"v", "batch 3", "axis 0", NULL});
}

static void head_dim_over_512_is_unsupported(void)
{
    shapes big = {{1, 1, 4, 600}, {1, 1, 4, 600}, {1, 1, 4, 600}};
    expect_op_failure(&big, NULL, VKA_ERROR_UNSUPPORTED, (const char *[]){"head dim 600", "512", NULL});
    shapes big_v = {{1, 1, 4, 64}, {1, 1, 4, 64}, {1, 1, 4, 513}};
    expect_op_failure(&big_v, NULL, VKA_ERROR_UNSUPPORTED, (const char *[]){"513", NULL});
}

static void zero_sized_axes_are_refused(void)
{
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tensor t;
    expect_failure(vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {1, 1, 16, 0}}, &t),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"'q'", "axis 3", "size 0", NULL});
    expect_failure(vka_graph_input(g, &(vka_tensor_desc){.name = "k", .rank = 4, .dims = {1, 1, 0, 16}}, &t),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"'k'", "axis 2", "size 0", NULL});
    expect_failure(vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 5, .dims = {1, 1, 1, 1}}, &t),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"rank 5", NULL});
    vka_graph_destroy(g);
    still_works();
}

static void rank_and_dtype_are_checked(void)
{
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tensor q, k, v, kv, out;
    vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 3, .dims = {1, 16, 8}}, &q);
    vka_graph_input(g, &(vka_tensor_desc){.name = "k", .rank = 4, .dims = {1, 1, 16, 8}}, &k);
    vka_graph_input(g, &(vka_tensor_desc){.name = "v", .rank = 4, .dims = {1, 1, 16, 8}}, &v);
    vka_graph_input(g, &(vka_tensor_desc){.name = "kv", .rank = 1, .dims = {1}}, &kv);
    expect_failure(vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v}}}, &out),
                   VKA_ERROR_SHAPE_MISMATCH, (const char *[]){"q must be", "[1, 16, 8]", NULL});
    vka_graph_input(g, &(vka_tensor_desc){.name = "q4", .rank = 4, .dims = {1, 1, 16, 8}}, &q);
    expect_failure(
        vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v}, {"kv_len", kv}}},
                     &out),
        VKA_ERROR_SHAPE_MISMATCH, (const char *[]){"kv_len", "int32", "float32", NULL});
    vka_graph_destroy(g);
    still_works();
}

static void bad_parameters_are_named(void)
{
    shapes ok = {{1, 1, 8, 16}, {1, 1, 8, 16}, {1, 1, 8, 16}};
    expect_op_failure(&ok, (vka_op_param[]){{"scale", "inf"}, {0}}, VKA_ERROR_INVALID_ARGUMENT,
                      (const char *[]){"scale", "finite", NULL});
    expect_op_failure(&ok, (vka_op_param[]){{"scale", "nan"}, {0}}, VKA_ERROR_INVALID_ARGUMENT,
                      (const char *[]){"scale", NULL});
    expect_op_failure(&ok, (vka_op_param[]){{"scale", "1e39"}, {0}}, VKA_ERROR_INVALID_ARGUMENT,
                      (const char *[]){"scale", NULL});
    expect_op_failure(&ok, (vka_op_param[]){{"scale", "0.5x"}, {0}}, VKA_ERROR_INVALID_ARGUMENT,
                      (const char *[]){"scale", "number", NULL});
    expect_op_failure(&ok, (vka_op_param[]){{"causall", "1"}, {0}}, VKA_ERROR_INVALID_ARGUMENT,
                      (const char *[]){"unknown parameter 'causall'", NULL});
    expect_op_failure(&ok, (vka_op_param[]){{"kernel", "fast"}, {0}}, VKA_ERROR_INVALID_ARGUMENT,
                      (const char *[]){"kernel", "flash or materialized", "fast", NULL});
    expect_op_failure(&ok, (vka_op_param[]){{"causal", "2"}, {0}}, VKA_ERROR_INVALID_ARGUMENT,
                      (const char *[]){"causal", "0 or 1", NULL});
    expect_op_failure(&ok, (vka_op_param[]){{"causal", "1"}, {"causal", "0"}, {0}}, VKA_ERROR_INVALID_ARGUMENT,
                      (const char *[]){"causal", "twice", NULL});
}

static void unknown_operation_and_roles(void)
{
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tensor q, out;
    vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {1, 1, 8, 8}}, &q);
    expect_failure(vka_graph_op(g, &(vka_op_desc){.op = "softmaxx", .inputs = {{"q", q}}}, &out), VKA_ERROR_NOT_FOUND,
                   (const char *[]){"softmaxx", NULL});
    expect_failure(vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", q}, {"w", q}}}, &out),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"unknown input 'w'", NULL});
    expect_failure(vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", q}}}, &out),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"input 'v' is required", NULL});
    expect_failure(vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", {77}}, {"v", q}}}, &out),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"'k'", "not a tensor", NULL});
    expect_failure(vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 1, .dims = {3}}, &out),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"'q'", "already", NULL});
    vka_graph_destroy(g);
    still_works();
}

static void kv_len_out_of_range_is_refused(void)
{
    static const int32_t too_long[] = {12, 301}, negative[] = {-1, 5}, fine[] = {0, 300};
    attn_case c = {.batch = 2, .heads = 1, .nq = 4, .nk = 300, .d = 8, .kv_len = fine};
    vka_graph *g = attn_graph(ctx, &c);
    vka_plan *plan = NULL;
    CHECK(g != NULL);
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        expect_failure(vka_plan_write(plan, "kv_len", too_long, sizeof too_long), VKA_ERROR_INVALID_ARGUMENT,
                       (const char *[]){"kv_len[1] = 301", "[0, 300]", NULL});
        expect_failure(vka_plan_write(plan, "kv_len", negative, sizeof negative), VKA_ERROR_INVALID_ARGUMENT,
                       (const char *[]){"kv_len[0] = -1", NULL});
        CHECK_OK(ctx, vka_plan_write(plan, "kv_len", fine, sizeof fine));
    }
    /* The reference refuses the same values. */
    if (g) {
        float x[2 * 300 * 8] = {0};
        float o[2 * 4 * 8];
        vka_host_tensor in[] = {
            {"q", x, 2 * 4 * 8 * 4}, {"k", x, sizeof x}, {"v", x, sizeof x}, {"kv_len", (void *)too_long, 8}};
        vka_host_tensor out[] = {{"out", o, sizeof o}};
        expect_failure(vka_graph_reference(g, in, 4, out, 1), VKA_ERROR_INVALID_ARGUMENT,
                       (const char *[]){"kv_len[1] = 301", NULL});
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    /* A constant kv_len is checked when the op is added. */
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tensor q, k, v, kv, out;
    vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {2, 1, 4, 8}}, &q);
    vka_graph_input(g, &(vka_tensor_desc){.name = "k", .rank = 4, .dims = {2, 1, 300, 8}}, &k);
    vka_graph_input(g, &(vka_tensor_desc){.name = "v", .rank = 4, .dims = {2, 1, 300, 8}}, &v);
    vka_graph_constant(g, &(vka_tensor_desc){.name = "kv_len", .dtype = VKA_DTYPE_I32, .rank = 1, .dims = {2}},
                       too_long, sizeof too_long, &kv);
    expect_failure(
        vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v}, {"kv_len", kv}}},
                     &out),
        VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"kv_len[1] = 301", NULL});
    vka_graph_destroy(g);
    still_works();
}

/* One [batch, head] slice of k is 137 MiB: no split along heads can bind it. */
static void tensor_beyond_binding_range_is_refused(void)
{
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    shapes s = {{1, 1, 4, 256}, {1, 1, 140000, 256}, {1, 1, 140000, 256}};
    vka_tensor out;
    CHECK_OK(ctx, softmax_op(g, &s, NULL, &out));
    CHECK_OK(ctx, vka_graph_output(g, "out", out));
    vka_plan *plan = NULL;
    expect_failure(vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan), VKA_ERROR_LIMIT_EXCEEDED,
                   (const char *[]){"tensor 'k'", "MiB", "maxStorageBufferRange", "cannot be split", NULL});
    CHECK(plan == NULL);
    vka_graph_destroy(g);
    still_works();
}

/* The materialized scores of 4096 heads × 4096² are 256 GiB: more than any allocation. */
static void allocation_beyond_the_device_is_refused(void)
{
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    shapes s = {{1, 4096, 4096, 4}, {1, 4096, 4096, 4}, {1, 4096, 4096, 4}};
    vka_tensor out;
    CHECK_OK(ctx, softmax_op(g, &s, (vka_op_param[]){{"kernel", "materialized"}, {0}}, &out));
    CHECK_OK(ctx, vka_graph_output(g, "out", out));
    vka_plan *plan = NULL;
    vka_result r = vka_plan_create(g, NULL, &plan);
    CHECK_MSG(r == VKA_ERROR_LIMIT_EXCEEDED || r == VKA_ERROR_OUT_OF_DEVICE_MEMORY, "got %s: %s", vka_result_string(r),
              vka_last_error(ctx));
    CHECK_MSG(strstr(vka_last_error(ctx), "MiB") && strstr(vka_last_error(ctx), "arena"), "message: %s",
              vka_last_error(ctx));
    CHECK(plan == NULL);
    /* The same graph can still be planned for its memory figure. */
    CHECK_OK(ctx, vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan));
    vka_plan_stats stats = {0};
    vka_plan_stats_get(plan, &stats);
    CHECK(stats.peak_device_bytes > ((uint64_t)256 << 30));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    still_works();
}

static void plan_transfers_check_names_and_sizes(void)
{
    attn_case c = {.batch = 1, .heads = 2, .nq = 5, .nk = 7, .d = 4};
    vka_graph *g = attn_graph(ctx, &c);
    vka_plan *plan = NULL;
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        float buf[64] = {0};
        expect_failure(vka_plan_write(plan, "q", buf, 12), VKA_ERROR_SHAPE_MISMATCH,
                       (const char *[]){"'q'", "12 bytes", "[1, 2, 5, 4]", "160", NULL});
        expect_failure(vka_plan_write(plan, "x", buf, 12), VKA_ERROR_NOT_FOUND, (const char *[]){"'x'", NULL});
        expect_failure(vka_plan_write(plan, "out", buf, 160), VKA_ERROR_NOT_FOUND, (const char *[]){"input", NULL});
        expect_failure(vka_plan_read(plan, "q", buf, 160), VKA_ERROR_NOT_FOUND, (const char *[]){"output", NULL});
        expect_failure(vka_plan_write(plan, "q", NULL, 160), VKA_ERROR_INVALID_ARGUMENT,
                       (const char *[]){"NULL", NULL});
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    still_works();
}

static void expect_cli_failure(const char *args, const char *needle);

/* Messages read as sentences a user can act on: no doubled words, the parameter's kind. */
static void messages_name_types_once(void)
{
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tensor q, k, v, layout, w, out;
    const vka_tensor_desc d = {"q", .rank = 4, .dims = {1, 1, 64, 8}};
    vka_tensor_desc dk = d, dv = d, dw = {"w", .rank = 4, .dims = {1, 1, 1, 8}};
    dk.name = "k", dv.name = "v";
    float zeros[8] = {0};
    CHECK_OK(ctx, vka_graph_input(g, &d, &q));
    CHECK_OK(ctx, vka_graph_input(g, &dk, &k));
    CHECK_OK(ctx, vka_graph_input(g, &dv, &v));
    CHECK_OK(ctx, vka_graph_constant(g, &(vka_tensor_desc){"layout", .rank = 3, .dims = {1, 1, 1}}, zeros, 4, &layout));
    expect_failure(
        vka_graph_op(
            g, &(vka_op_desc){.op = "blocksparse", .inputs = {{"q", q}, {"k", k}, {"v", v}, {"layout", layout}}}, &out),
        VKA_ERROR_SHAPE_MISMATCH, (const char *[]){"layout must be int32 [", "'layout' is float32", NULL});
    CHECK(!strstr(vka_last_error(ctx), "int32 int32"));
    CHECK_OK(ctx, vka_graph_input(g, &dw, &w));
    expect_failure(vka_graph_op(g,
                                &(vka_op_desc){.op = "continuous",
                                               .inputs = {{"q", q}, {"w_mu", w}, {"w_sigma", w}, {"k", k}, {"v", v}},
                                               .params = {{"widths", ""}}},
                                &out),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"'widths' wants a comma-separated list", NULL});
    vka_graph_destroy(g);
    expect_cli_failure("model somewhere --foo", "unknown option '--foo'");
}

static void null_arguments_do_not_crash(void)
{
    CHECK(vka_graph_create(NULL, NULL) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_graph_op(NULL, NULL, NULL) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_plan_create(NULL, NULL, NULL) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_plan_run(NULL) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_context_create(NULL, NULL) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_npy_load(NULL, NULL, NULL) == VKA_ERROR_INVALID_ARGUMENT);
    vka_plan_destroy(NULL);
    vka_graph_destroy(NULL);
    vka_context_destroy(NULL);
    CHECK(strcmp(vka_result_string((vka_result)1000), "unknown result") == 0);
}

/* ------------------------------------------------------------------ .npy files */

/* A path under /tmp for this process; kept in a small ring so a few can be live at once. */
static const char *temp_path(const char *name)
{
    static char paths[4][256];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 256, "/tmp/vkattn_bad_%d_%s", (int)getpid(), name);
    return path;
}

static void write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(bytes, 1, n, f);
        fclose(f);
    }
}

/* A v1.0 header for the dict, padded to 64 bytes, then `data_bytes` zero bytes. */
static void write_npy(const char *path, const char *dict, size_t data_bytes)
{
    unsigned char buf[4096] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    size_t len = strlen(dict), header = 64 - 10;
    while (header < len + 1)
        header += 64;
    buf[8] = (unsigned char)header;
    buf[9] = (unsigned char)(header >> 8);
    memset(buf + 10, ' ', header);
    memcpy(buf + 10, dict, len);
    buf[10 + header - 1] = '\n';
    write_file(path, buf, 10 + header + data_bytes);
}

static void expect_npy_failure(const char *path, vka_result want, const char *const *needles)
{
    vka_npy npy;
    vka_result r = vka_npy_load(ctx, path, &npy);
    expect_failure(r, want, needles);
    CHECK(npy.data == NULL);
}

static void malformed_npy_files_fail_cleanly(void)
{
    const char *p = temp_path("x.npy");
    write_file(p, "hello, not numpy\n", 17);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){p, "magic", NULL});
    write_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"'<f8'", "float32", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"truncated", "24", "20", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"Fortran", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 1, 1, 3), }", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"4 dimensions", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"scalar", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", 0);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"dimension", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 3), }", 0);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"dimension", NULL});
    /* the product passes 2^64 and wraps to 2^32 + 2^16 + ... : refused, not loaded as a tiny tensor */
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (65537, 4294901761, 16384, 4), }", 16);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"2^32 elements", NULL});
    vka_tensor t;
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    const vka_tensor_desc huge = {"huge", .rank = 4, .dims = {65537, 4294901761u, 16384, 4}};
    expect_failure(vka_graph_input(g, &huge, &t), VKA_ERROR_UNSUPPORTED, (const char *[]){"huge", "2^32", NULL});
    vka_graph_destroy(g);
    float one = 1;
    expect_failure(vka_npy_save(ctx, temp_path("huge.npy"), VKA_DTYPE_F32, 4, huge.dims, &one),
                   VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"2^32 elements", NULL});
    /* the header is a dict literal, parsed as one (it was searched by substring) */
    write_npy(p, "{'fortran_order': False, 'shape': (2, 3), 'note': \"'descr': '<f4'\"}", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"unknown header key 'note'", NULL});
    write_npy(p, "{'descr': '<f4', 'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"'descr' given twice", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3), }", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"neither True nor False", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"commas", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (08, 3), }", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"other than integers", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"not a tuple", NULL});
    write_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"after the header", NULL});
    write_npy(p, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}", 24); /* double quotes: fine */
    vka_npy fine = {0};
    CHECK_OK(ctx, vka_npy_load(ctx, p, &fine));
    CHECK(fine.rank == 1 && fine.dims[0] == 6);
    vka_npy_free(&fine);
    write_npy(p, "{'descr': '<f4', 'shape': (2, 3), }", 24);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"fortran_order", NULL});
    unsigned char short_header[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0x7f, '{'};
    write_file(p, short_header, sizeof short_header);
    expect_npy_failure(p, VKA_ERROR_FILE_FORMAT, (const char *[]){"truncated header", NULL});
    expect_npy_failure(temp_path("missing.npy"), VKA_ERROR_IO, (const char *[]){"missing.npy", "cannot open", NULL});
    remove(p);
}

static void npy_round_trip(void)
{
    const char *p = temp_path("rt.npy");
    float data[2 * 3 * 5];
    for (int i = 0; i < 30; i++)
        data[i] = (float)i * 0.5f - 3.0f;
    CHECK_OK(ctx, vka_npy_save(ctx, p, VKA_DTYPE_F32, 3, (uint32_t[]){2, 3, 5}, data));
    vka_npy npy;
    CHECK_OK(ctx, vka_npy_load(ctx, p, &npy));
    CHECK(npy.rank == 3 && npy.dims[0] == 2 && npy.dims[1] == 3 && npy.dims[2] == 5 && npy.dtype == VKA_DTYPE_F32);
    CHECK(npy.bytes == sizeof data && memcmp(npy.data, data, sizeof data) == 0);
    vka_npy_free(&npy);
    int32_t ints[3] = {7, -1, 300};
    CHECK_OK(ctx, vka_npy_save(ctx, p, VKA_DTYPE_I32, 1, (uint32_t[]){3}, ints));
    CHECK_OK(ctx, vka_npy_load(ctx, p, &npy));
    CHECK(npy.rank == 1 && npy.dims[0] == 3 && npy.dtype == VKA_DTYPE_I32 && memcmp(npy.data, ints, 12) == 0);
    vka_npy_free(&npy);
    remove(p);
}

/* ------------------------------------------------------------------ the command line */

/* Runs the CLI with stderr captured; returns its exit status and the captured text. */
static int run_cli(const char *args, char *err, size_t size)
{
    char command[2048];
    const char *err_path = temp_path("stderr.txt");
    snprintf(command, sizeof command, "'%s' %s 2>'%s' >/dev/null", VKATTN_CLI_PATH, args, err_path);
    int status = system(command);
    FILE *f = fopen(err_path, "r");
    size_t n = f ? fread(err, 1, size - 1, f) : 0;
    err[n] = '\0';
    if (f)
        fclose(f);
    remove(err_path);
    return status;
}

static void expect_cli_failure(const char *args, const char *needle)
{
    char err[4096];
    int status = run_cli(args, err, sizeof err);
    size_t lines = 0;
    for (const char *c = err; *c; c++)
        lines += *c == '\n';
    CHECK_MSG(status != 0, "`vkattn %s` succeeded", args);
    CHECK_MSG(lines == 1 && strstr(err, needle), "`vkattn %s`: expected one line naming '%s', got: %s", args, needle,
              err);
}

static void command_line_errors_are_one_line(void)
{
    char q[256], bad[256];
    snprintf(q, sizeof q, "%s", temp_path("q.npy"));
    snprintf(bad, sizeof bad, "%s", temp_path("bad.npy"));
    float x[1 * 2 * 3 * 4] = {0};
    vka_npy_save(ctx, q, VKA_DTYPE_F32, 4, (uint32_t[]){1, 2, 3, 4}, x);
    write_file(bad, "not an npy", 10);
    char args[1024];
    snprintf(args, sizeof args, "run softmax q=%s k=%s v=%s/nonexistent.npy", q, q, "/tmp");
    expect_cli_failure(args, "nonexistent.npy");
    snprintf(args, sizeof args, "run softmax q=%s k=%s v=%s", q, q, bad);
    expect_cli_failure(args, "magic");
    snprintf(args, sizeof args, "run softmax q=%s k=%s v=%s scale=inf", q, q, q);
    expect_cli_failure(args, "scale");
    snprintf(args, sizeof args, "run softmax q=%s k=%s", q, q);
    expect_cli_failure(args, "'v' is required");
    expect_cli_failure("run nosuchscheme q=x.npy", "nosuchscheme");
    expect_cli_failure("run softmax q", "key=value");
    expect_cli_failure("frobnicate", "frobnicate");
    /* numeric options are read strictly: they were ignored or taken as 1 */
    expect_cli_failure("bench --causal 2", "--causal takes a whole number in 0..1, not '2'");
    expect_cli_failure("bench --seconds nan", "--seconds takes a number of seconds");
    expect_cli_failure("bench --heads 8x", "--heads takes a whole number");
    expect_cli_failure("bench --reps 100000", "--reps takes a whole number in 1..256");
    /* the element-type and grouped-heads options */
    snprintf(args, sizeof args, "run softmax q=%s k=%s v=%s in_dtype=f8", q, q, q);
    expect_cli_failure(args, "in_dtype=f8: want f16 or f32");
    snprintf(args, sizeof args, "run softmax q=%s k=%s v=%s out_dtype=int32", q, q, q);
    expect_cli_failure(args, "out_dtype=int32: want f16 or f32");
    expect_cli_failure("bench --dtype f64", "--dtype takes f32, f16 or both, not 'f64'");
    expect_cli_failure("bench --heads 8 --kv-heads 3", "--kv-heads 3 must divide --heads 8");
    expect_cli_failure("bench --param topk", "--param takes key=value");
    expect_cli_failure("bench --quality --scheme softmax", "--quality measures performer, reformer or clustered");
    expect_cli_failure("model somewhere dtype=f64", "dtype takes f16 or f32, not 'f64'");
    /* the Reformer's k must hold q's array (a file of other values is refused, naming both) */
    char other[256];
    snprintf(other, sizeof other, "%s", temp_path("other.npy"));
    float y[1 * 2 * 3 * 4] = {1.0f};
    vka_npy_save(ctx, other, VKA_DTYPE_F32, 4, (uint32_t[]){1, 2, 3, 4}, y);
    snprintf(args, sizeof args, "run reformer q=%s k=%s v=%s", q, other, q);
    expect_cli_failure(args, "reformer takes its q as its k");
    remove(other);
    snprintf(args, sizeof args, "run softmax q=%s k=%s v=%s runs=0", q, q, q);
    expect_cli_failure(args, "runs=0: want a count in 1..1000");
    snprintf(args, sizeof args, "run linear q=%s k=%s v=%s causal=1 decode=1 runs=2", q, q, q);
    expect_cli_failure(args, "not with decode=1");
    /* --help after any subcommand: the usage, exit 0 */
    static const char *const helps[] = {"run --help", "bench --help", "info -h", "model --help"};
    for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
        char help_err[4096];
        CHECK_MSG(run_cli(helps[i], help_err, sizeof help_err) == 0 && !help_err[0], "`vkattn %s` failed: %s", helps[i],
                  help_err);
    }
    /* runs=N: the first run apart from the steady state (the median of the rest) */
    char out[256], command[2048], line[4096] = "";
    snprintf(out, sizeof out, "%s", temp_path("stats.json"));
    snprintf(command, sizeof command, "'%s' run softmax q=%s k=%s v=%s runs=3 stats=1 >'%s' 2>/dev/null",
             VKATTN_CLI_PATH, q, q, q, out);
    CHECK_MSG(system(command) == 0, "failed: %s", command);
    test_read_text(out, line, sizeof line);
    static const char *const needles[] = {"\"runs\":3", "\"gpu_ms\":", "\"gpu_ms_first\":", NULL};
    CHECK_MSG(test_contains_all(line, needles), "runs=3 stats=1 printed: %.300s", line);
    remove(out);
    remove(q);
    remove(bad);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"shape_mismatch_names_tensor_and_axis", shape_mismatch_names_tensor_and_axis},
        {"head_dim_over_512_is_unsupported", head_dim_over_512_is_unsupported},
        {"zero_sized_axes_are_refused", zero_sized_axes_are_refused},
        {"rank_and_dtype_are_checked", rank_and_dtype_are_checked},
        {"bad_parameters_are_named", bad_parameters_are_named},
        {"unknown_operation_and_roles", unknown_operation_and_roles},
        {"kv_len_out_of_range_is_refused", kv_len_out_of_range_is_refused},
        {"tensor_beyond_binding_range_is_refused", tensor_beyond_binding_range_is_refused},
        {"allocation_beyond_the_device_is_refused", allocation_beyond_the_device_is_refused},
        {"plan_transfers_check_names_and_sizes", plan_transfers_check_names_and_sizes},
        {"null_arguments_do_not_crash", null_arguments_do_not_crash},
        {"messages_name_types_once", messages_name_types_once},
        {"malformed_npy_files_fail_cleanly", malformed_npy_files_fail_cleanly},
        {"npy_round_trip", npy_round_trip},
        {"command_line_errors_are_one_line", command_line_errors_are_one_line},
    };
    ctx = test_context(NULL);
    if (!ctx)
        return 1;
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    test_context_done(ctx);
    return status;
}
