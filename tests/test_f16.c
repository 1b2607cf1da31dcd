/* f16 storage around the kernels (every op's kernels are checked in f16 by test_examples,
 * every vector case by test_vectors, the TNP models by test_tnp): the host conversions
 * against every binary16 value, the element type of results, plan memory at 2 bytes per
 * element, the widened path (disable_f16) against the packed one, .npy '<f2' and
 * .safetensors F16/BF16 as graph constants, and f16 given where it does not belong.
 * Validation layer on. */
#include "harness.h"
#include "vkattn/io.h"

#include <stdint.h>
#include <unistd.h>

static vka_context *ctx;

static uint32_t bits_of(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return b;
}

/* Every half widens exactly and rounds back to itself (NaNs stay NaN); halfway values
 * between neighbours round to the even one; past the largest half goes to infinity. */
static void conversions_are_exact(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t in = (uint16_t)h, back;
        float f;
        vka_f32_from_f16(&in, &f, 1);
        vka_f16_from_f32(&f, &back, 1);
        bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        bad += nan ? !(f != f) || (back & 0x7C00) != 0x7C00 || !(back & 0x3FF) : back != in;
    }
    CHECK_MSG(bad == 0, "%d halves did not survive f16 -> f32 -> f16", bad);
    const float cases[] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65520.0f, 65519.0f, 2.9802322387695312e-08f, -0.0f};
    const uint16_t want[] = {0x3C00, 0x3C02, 0x7C00, 0x7BFF, 0x0000, 0x8000};
    uint16_t got[6];
    vka_f16_from_f32(cases, got, 6);
    for (int i = 0; i < 6; i++)
        CHECK_MSG(got[i] == want[i], "%.10g rounded to 0x%04x, not 0x%04x", cases[i], got[i], want[i]);
    float one;
    vka_f32_from_f16(&(uint16_t){0x3C00}, &one, 1);
    CHECK(bits_of(one) == bits_of(1.0f));
}

typedef struct softmax_graph {
    vka_graph *g;
    vka_tensor q, k, v, out;
} softmax_graph;

/* softmax with q, k, v of the given types (B=1, H=2, N=48, D=20), result as asked. */
static vka_result softmax_of(vka_context *c, const vka_dtype types[3], vka_dtype result, softmax_graph *s)
{
    vka_result r = vka_graph_create(c, &s->g);
    const char *names[3] = {"q", "k", "v"};
    vka_tensor *t[3] = {&s->q, &s->k, &s->v};
    for (int i = 0; r == VKA_SUCCESS && i < 3; i++)
        r = vka_graph_input(s->g, &(vka_tensor_desc){names[i], types[i], 4, {1, 2, 48, 20}}, t[i]);
    if (r == VKA_SUCCESS)
        r = vka_graph_op(
            s->g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", s->q}, {"k", s->k}, {"v", s->v}}, .dtype = result},
            &s->out);
    return r == VKA_SUCCESS ? vka_graph_output(s->g, "o", s->out) : r;
}

/* The result's type: asked, else the first input's (SCHEMES.md §Conventions). */
static void results_take_the_type_asked_or_the_first_inputs(void)
{
    const struct {
        vka_dtype in[3], asked, want;
    } cases[] = {
        {{VKA_DTYPE_F16, VKA_DTYPE_F16, VKA_DTYPE_F16}, VKA_DTYPE_DEFAULT, VKA_DTYPE_F16},
        {{VKA_DTYPE_F32, VKA_DTYPE_F16, VKA_DTYPE_F16}, VKA_DTYPE_DEFAULT, VKA_DTYPE_F32},
        {{VKA_DTYPE_DEFAULT, VKA_DTYPE_F32, VKA_DTYPE_F32}, VKA_DTYPE_F16, VKA_DTYPE_F16},
        {{VKA_DTYPE_F16, VKA_DTYPE_F32, VKA_DTYPE_F16}, VKA_DTYPE_F32, VKA_DTYPE_F32},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        softmax_graph s = {0};
        CHECK_OK(ctx, softmax_of(ctx, cases[i].in, cases[i].asked, &s));
        vka_tensor_desc d;
        CHECK_OK(ctx, vka_graph_tensor_desc(s.g, s.out, &d));
        CHECK_MSG(d.dtype == cases[i].want, "case %zu: result dtype %d, want %d", i, (int)d.dtype, (int)cases[i].want);
        vka_graph_destroy(s.g);
    }
}

/* f16 tensors take 2 bytes an element: peak bytes of an all-f16 softmax are half, but for
 * the 16-byte kv_len table every softmax plan holds. */
static void f16_halves_the_plan(void)
{
    uint64_t peak[2] = {0};
    for (int half = 0; half < 2; half++) {
        vka_dtype t = half ? VKA_DTYPE_F16 : VKA_DTYPE_F32;
        softmax_graph s = {0};
        vka_plan *plan = NULL;
        CHECK_OK(ctx, softmax_of(ctx, (vka_dtype[]){t, t, t}, VKA_DTYPE_DEFAULT, &s));
        CHECK_OK(ctx, vka_plan_create(s.g, &(vka_plan_desc){.memory_only = true}, &plan));
        vka_plan_stats st = {0};
        vka_plan_stats_get(plan, &st);
        peak[half] = st.peak_device_bytes;
        CHECK(st.f16_tensors == (half ? 4u : 0u) && st.f16_widened == 0);
        vka_plan_destroy(plan);
        vka_graph_destroy(s.g);
    }
    CHECK_MSG((peak[1] - 16) * 2 == peak[0] - 16, "peak bytes f16 %llu, f32 %llu", (unsigned long long)peak[1],
              (unsigned long long)peak[0]);
}

/* Runs an all-f16 softmax on ctx c; out gets the halves. */
static void run_f16_softmax(vka_context *c, const uint16_t *const in[3], uint16_t *out, vka_plan_stats *stats)
{
    softmax_graph s = {0};
    vka_plan *plan = NULL;
    size_t bytes = 2 * 48 * 20 * 2;
    CHECK_OK(c, softmax_of(c, (vka_dtype[]){VKA_DTYPE_F16, VKA_DTYPE_F16, VKA_DTYPE_F16}, VKA_DTYPE_DEFAULT, &s));
    CHECK_OK(c, vka_plan_create(s.g, NULL, &plan));
    const char *names[3] = {"q", "k", "v"};
    for (int i = 0; plan && i < 3; i++)
        CHECK_OK(c, vka_plan_write(plan, names[i], in[i], bytes));
    CHECK(!plan || vka_plan_write(plan, "q", in[0], bytes * 2) == VKA_ERROR_SHAPE_MISMATCH); /* f32 bytes for f16 */
    if (plan) {
        CHECK_OK(c, vka_plan_run(plan));
        CHECK_OK(c, vka_plan_read(plan, "o", out, bytes));
        vka_plan_stats_get(plan, stats);
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(s.g);
}

/* disable_f16 (VKATTN_DISABLE_F16=1) holds f16 tensors as f32, converted at the boundary:
 * the host sees the same types and the same results as the packed f16 path. */
static void widened_f16_matches_packed(void)
{
    enum { N = 2 * 48 * 20 };
    static float x[3][N];
    static uint16_t h[3][N], packed[N], widened[N];
    test_seed(5);
    for (int i = 0; i < 3; i++) {
        test_fill_normal(x[i], N, 1.0f);
        vka_f16_from_f32(x[i], h[i], N);
    }
    const uint16_t *in[3] = {h[0], h[1], h[2]};
    vka_plan_stats a = {0}, b = {0};
    run_f16_softmax(ctx, in, packed, &a);
    vka_context *wide = test_context(&(vka_context_desc){.disable_f16 = true});
    if (!wide)
        return;
    run_f16_softmax(wide, in, widened, &b);
    test_context_done(wide);
    CHECK_MSG(a.f16_tensors == 4 && a.f16_widened == 0, "packed: %u f16, %u widened", a.f16_tensors, a.f16_widened);
    CHECK_MSG(b.f16_tensors == 0 && b.f16_widened == 4, "widened: %u f16, %u widened", b.f16_tensors, b.f16_widened);
    float fa[N], fb[N];
    vka_f32_from_f16(packed, fa, N);
    vka_f32_from_f16(widened, fb, N);
    CHECK(test_close("widened against packed", fb, fa, N, 1e-3, 2e-3));
}

static const char *temp_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/vkattn_test_f16_%d_%s", (int)getpid(), name);
    return path;
}

/* '<f2' is read as f16 and written back bit for bit. */
static void npy_keeps_f16(void)
{
    const uint16_t halves[6] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x3555};
    const char *p = temp_path("h.npy");
    CHECK_OK(ctx, vka_npy_save(ctx, p, VKA_DTYPE_F16, 2, (uint32_t[]){2, 3}, halves));
    vka_npy npy = {0};
    CHECK_OK(ctx, vka_npy_load(ctx, p, &npy));
    CHECK(npy.dtype == VKA_DTYPE_F16 && npy.rank == 2 && npy.bytes == 12 && npy.data &&
          memcmp(npy.data, halves, 12) == 0);
    vka_npy_free(&npy);
    FILE *f = fopen(p, "rb");
    char header[128] = {0};
    CHECK(f && fread(header, 1, sizeof header - 1, f) > 0 && strstr(header + 10, "'<f2'"));
    if (f)
        fclose(f);
    remove(p);
}

/* F16 weights stay f16 constants (no widening), BF16 ones become f32 or are rounded to
 * f16 on request; the device result equals the reference on the same constants. */
static void safetensors_weights_keep_their_type(void)
{
    enum { N = 24, D = 8 };
    static float q[N * D];
    test_seed(3);
    test_fill_normal(q, N * D, 1.0f);
    const char *p = temp_path("w.safetensors");
    vka_safetensors_write w[] = {{.name = "qh", .dtype = VKA_FILE_F16, .rank = 4, .dims = {1, 1, N, D}, .data = q},
                                 {.name = "qb", .dtype = VKA_FILE_BF16, .rank = 4, .dims = {1, 1, N, D}, .data = q}};
    CHECK_OK(ctx, vka_safetensors_save(ctx, p, w, 2));
    vka_safetensors *file = NULL;
    CHECK_OK(ctx, vka_safetensors_open(ctx, p, &file));
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!file || !g)
        return;
    vka_tensor qh, qb, qb16, k, v, o;
    vka_tensor_desc d;
    CHECK_OK(ctx, vka_graph_constant_from_file(g, file, "qh", &qh));
    CHECK(vka_graph_tensor_desc(g, qh, &d) == VKA_SUCCESS && d.dtype == VKA_DTYPE_F16);
    CHECK_OK(ctx, vka_graph_constant_from_file(g, file, "qb", &qb));
    CHECK(vka_graph_tensor_desc(g, qb, &d) == VKA_SUCCESS && d.dtype == VKA_DTYPE_F32);
    CHECK(vka_graph_constant_from_file_as(g, file, "qb", VKA_DTYPE_I32, &qb16) == VKA_ERROR_INVALID_ARGUMENT);
    uint16_t stored[N * D], rounded[N * D];
    CHECK_OK(ctx, vka_safetensors_read_f16(file, "qh", stored, N * D));
    vka_f16_from_f32(q, rounded, N * D);
    CHECK_MSG(memcmp(stored, rounded, sizeof stored) == 0, "F16 weights came back changed");
    vka_safetensors_close(file);
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"k", VKA_DTYPE_F16, 4, {1, 1, N, D}}, &k));
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"v", VKA_DTYPE_F32, 4, {1, 1, N, D}}, &v));
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", qh}, {"k", k}, {"v", v}}}, &o));
    CHECK_OK(ctx, vka_graph_output(g, "o", o));
    vka_plan *plan = NULL;
    CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    static uint16_t kh[N * D], gpu[N * D], ref[N * D];
    static float vf[N * D];
    test_fill_normal(vf, N * D, 1.0f);
    vka_f16_from_f32(vf, kh, N * D);
    vka_host_tensor in[2] = {{"k", kh, sizeof kh}, {"v", vf, sizeof vf}};
    if (plan) {
        CHECK_OK(ctx, vka_plan_write(plan, "k", kh, sizeof kh));
        CHECK_OK(ctx, vka_plan_write(plan, "v", vf, sizeof vf));
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "o", gpu, sizeof gpu));
    }
    CHECK_OK(ctx, vka_graph_reference(g, in, 2, (vka_host_tensor[]){{"o", ref, sizeof ref}}, 1));
    float a[N * D], b[N * D];
    vka_f32_from_f16(gpu, a, N * D);
    vka_f32_from_f16(ref, b, N * D);
    CHECK(test_f16_gate("softmax on an F16 weight", a, b, N * D));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    remove(p);
}

static bool failed_naming(vka_result r, vka_result want, const char *const *needles)
{
    bool ok = r == want && test_contains_all(vka_last_error(ctx), needles);
    CHECK_MSG(ok, "want %s naming the problem, got %s: %s", vka_result_string(want), vka_result_string(r),
              vka_last_error(ctx));
    return ok;
}

/* An f16 tensor where an op needs int32, an int32 one where it needs floats, an int32
 * result, an unknown type, a float64 .npy: each a clear error. */
static void wrong_types_are_named(void)
{
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_tensor q, kv_half, ints, out;
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"q", VKA_DTYPE_F16, 4, {1, 1, 8, 4}}, &q));
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_F16, 1, {1}}, &kv_half));
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"i", VKA_DTYPE_I32, 4, {1, 1, 8, 4}}, &ints));
    failed_naming(
        vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", q}, {"v", q}, {"kv_len", kv_half}}},
                     &out),
        VKA_ERROR_SHAPE_MISMATCH, (const char *[]){"kv_len must be int32", "is float16", NULL});
    failed_naming(vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", ints}, {"v", q}}}, &out),
                  VKA_ERROR_SHAPE_MISMATCH, (const char *[]){"k must be float32 or float16", "is int32", NULL});
    failed_naming(
        vka_graph_op(
            g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", q}, {"v", q}}, .dtype = VKA_DTYPE_I32}, &out),
        VKA_ERROR_INVALID_ARGUMENT, (const char *[]){"float32 or float16", "int32", NULL});
    failed_naming(vka_graph_input(g, &(vka_tensor_desc){"bad", (vka_dtype)9, 1, {1}}, &out), VKA_ERROR_INVALID_ARGUMENT,
                  (const char *[]){"unknown dtype 9", NULL});
    vka_graph_destroy(g);
    const char *p = temp_path("f8.npy");
    FILE *f = fopen(p, "wb");
    const char header[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
    char padded[118];
    memset(padded, ' ', sizeof padded);
    memcpy(padded, header, sizeof header - 1);
    padded[sizeof padded - 1] = '\n';
    double data[2] = {1, 2};
    CHECK(f && fwrite("\x93NUMPY\x01\x00\x76\x00", 1, 10, f) == 10 && fwrite(padded, 1, sizeof padded, f) == 118 &&
          fwrite(data, 8, 2, f) == 2);
    if (f)
        fclose(f);
    vka_npy npy;
    failed_naming(vka_npy_load(ctx, p, &npy), VKA_ERROR_FILE_FORMAT, (const char *[]){"'<f8'", "float16", NULL});
    remove(p);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"conversions_are_exact", conversions_are_exact},
        {"results_take_the_type_asked_or_the_first_inputs", results_take_the_type_asked_or_the_first_inputs},
        {"f16_halves_the_plan", f16_halves_the_plan},
        {"widened_f16_matches_packed", widened_f16_matches_packed},
        {"npy_keeps_f16", npy_keeps_f16},
        {"safetensors_weights_keep_their_type", safetensors_weights_keep_their_type},
        {"wrong_types_are_named", wrong_types_are_named},
    };
    ctx = test_context(NULL);
    int status = ctx ? test_main(argc, argv, cases, sizeof cases / sizeof *cases) : 1;
    test_context_done(ctx);
    return status;
}
