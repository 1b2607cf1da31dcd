#define _POSIX_C_SOURCE 200809L /* getpid */
/* .safetensors weights: a round trip of every rank and dtype, F16/BF16 widening and
 * rounding, binding a file's tensor into a graph (run on the device against the
 * reference), hand-made malformed headers that must each fail with a message naming
 * the problem, and random mutations of a valid file that must fail cleanly or read. */
#include "attention_util.h"
#include "vkattn/io.h"

#include <unistd.h>

static char scratch_path[64];

static const char *scratch(void)
{
    if (!scratch_path[0])
        snprintf(scratch_path, sizeof scratch_path, "/tmp/vkattn_st_%d.safetensors", (int)getpid());
    return scratch_path;
}

static bool write_bytes(const char *path, const void *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, bytes, f) == bytes;
    return f && fclose(f) == 0 && ok;
}

/* A file from a header text and `data_bytes` bytes of data (0x3F each). */
static bool write_file(const char *header, size_t data_bytes)
{
    size_t length = strlen(header), total = 8 + length + data_bytes;
    unsigned char *bytes = malloc(total);
    if (!bytes)
        return false;
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)((uint64_t)length >> (8 * i));
    memcpy(bytes + 8, header, length);
    memset(bytes + 8 + length, 0x3F, data_bytes);
    bool ok = write_bytes(scratch(), bytes, total);
    free(bytes);
    return ok;
}

/* ------------------------------------------------------------------ round trips */

static void round_trip_every_rank(void)
{
    float scalar = 3.5f, vec[5], mat[2 * 3], cube[2 * 2 * 2], four[1 * 2 * 3 * 4];
    float *all[] = {vec, mat, cube, four};
    size_t counts[] = {5, 6, 8, 24};
    test_seed(3);
    for (int i = 0; i < 4; i++)
        test_fill_normal(all[i], counts[i], 2.0f);
    vka_safetensors_write tensors[] = {
        {.name = "scalar", .rank = 0, .data = &scalar},
        {.name = "layer.0/weight \"quoted\"", .rank = 1, .dims = {5}, .data = vec},
        {.name = "matrix", .rank = 2, .dims = {2, 3}, .data = mat},
        {.name = "empty", .rank = 2, .dims = {0, 7}, .data = NULL},
        {.name = "cube", .rank = 3, .dims = {2, 2, 2}, .data = cube},
        {.name = "w\xc3\xa9ights", .rank = 4, .dims = {1, 2, 3, 4}, .data = four},
    };
    CHECK_OK(NULL, vka_safetensors_save(NULL, scratch(), tensors, 6));
    vka_safetensors *f = NULL;
    CHECK_OK(NULL, vka_safetensors_open(NULL, scratch(), &f));
    if (!f)
        return;
    CHECK(vka_safetensors_count(f) == 6);
    for (uint32_t i = 0; i < 6; i++) {
        vka_safetensors_entry e;
        CHECK_OK(NULL, vka_safetensors_entry_at(f, i, &e));
        CHECK_MSG(strcmp(e.name, tensors[i].name) == 0 && e.rank == tensors[i].rank && e.dtype == VKA_FILE_F32,
                  "entry %u reads back as '%s' rank %u", i, e.name, e.rank);
        float back[32];
        CHECK_OK(NULL, vka_safetensors_read_f32(f, tensors[i].name, back, e.elements));
        CHECK_MSG(e.elements == 0 || memcmp(back, tensors[i].data, e.elements * 4) == 0, "'%s' changed on the way",
                  e.name);
    }
    float one;
    CHECK(vka_safetensors_read_f32(f, "matrix", &one, 1) == VKA_ERROR_SHAPE_MISMATCH);
    CHECK(vka_safetensors_read_f32(f, "nothing", &one, 1) == VKA_ERROR_NOT_FOUND);
    vka_safetensors_close(f);
    remove(scratch());
}

static uint32_t bits_of(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return b;
}

/* Representable values come back exactly (subnormals, the largest half, infinities);
 * others round to nearest even; NaN stays NaN. */
static void half_and_bfloat_widen_and_round(void)
{
    const float exact_half[] = {
        0.0f,     -0.0f,     1.0f,         -2.5f, 65504.0f, 6.103515625e-05f, 5.9604644775390625e-08f,
        INFINITY, -INFINITY, 1.0009765625f};
    const float exact_bf16[] = {0.0f,     1.0f,      -2.5f, 3.3895313892515355e38f, 9.183549615799121e-41f,
                                INFINITY, 1.0078125f};
    float ties[] = {1.00048828125f /* 1 + 2^-11: to 1 */, 1.00146484375f /* 1 + 3·2^-11: to 1 + 2^-9 */, 70000.0f, NAN};
    float rounded_half[] = {1.0f, 1.001953125f, INFINITY};
    vka_safetensors_write tensors[] = {
        {.name = "h", .dtype = VKA_FILE_F16, .rank = 1, .dims = {10}, .data = exact_half},
        {.name = "b", .dtype = VKA_FILE_BF16, .rank = 1, .dims = {7}, .data = exact_bf16},
        {.name = "ties", .dtype = VKA_FILE_F16, .rank = 1, .dims = {4}, .data = ties},
    };
    CHECK_OK(NULL, vka_safetensors_save(NULL, scratch(), tensors, 3));
    vka_safetensors *f = NULL;
    CHECK_OK(NULL, vka_safetensors_open(NULL, scratch(), &f));
    if (!f)
        return;
    float back[10];
    CHECK_OK(NULL, vka_safetensors_read_f32(f, "h", back, 10));
    for (int i = 0; i < 10; i++)
        CHECK_MSG(bits_of(back[i]) == bits_of(exact_half[i]), "F16 %g came back as %g", exact_half[i], back[i]);
    CHECK_OK(NULL, vka_safetensors_read_f32(f, "b", back, 7));
    for (int i = 0; i < 7; i++)
        CHECK_MSG(bits_of(back[i]) == bits_of(exact_bf16[i]), "BF16 %g came back as %g", exact_bf16[i], back[i]);
    CHECK_OK(NULL, vka_safetensors_read_f32(f, "ties", back, 4));
    for (int i = 0; i < 3; i++)
        CHECK_MSG(back[i] == rounded_half[i], "F16 of %.10g rounded to %.10g, not %.10g", ties[i], back[i],
                  rounded_half[i]);
    CHECK_MSG(isnan(back[3]), "NaN did not stay NaN");
    vka_safetensors_close(f);
    remove(scratch());
}

/* q comes from a file, bound into the graph as a constant; the device result matches
 * the reference on the same values. */
static void graph_binds_weights_from_a_file(void)
{
    enum { N = 40, D = 16 };
    static float q[N * D], k[N * D], v[N * D], gpu[N * D], ref[N * D];
    test_seed(11);
    test_fill_normal(q, N * D, 1.0f);
    test_fill_normal(k, N * D, 1.0f);
    test_fill_normal(v, N * D, 1.0f);
    vka_safetensors_write w = {.name = "q", .dtype = VKA_FILE_BF16, .rank = 4, .dims = {1, 1, N, D}, .data = q};
    CHECK_OK(NULL, vka_safetensors_save(NULL, scratch(), &w, 1));
    vka_context *ctx = test_context(NULL);
    vka_safetensors *f = NULL;
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    if (!ctx)
        return;
    CHECK_OK(ctx, vka_safetensors_open(ctx, scratch(), &f));
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tensor tq = {0}, tk = {0}, tv = {0}, o = {0};
    if (f && g) {
        CHECK_OK(ctx, vka_graph_constant_from_file(g, f, "q", &tq));
        CHECK(vka_graph_constant_from_file(g, f, "missing", &tk) == VKA_ERROR_NOT_FOUND);
        vka_tensor_desc desc = {.name = "k", .rank = 4, .dims = {1, 1, N, D}};
        vka_graph_input(g, &desc, &tk);
        desc.name = "v";
        vka_graph_input(g, &desc, &tv);
        CHECK_OK(ctx,
                 vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", tq}, {"k", tk}, {"v", tv}}}, &o));
        CHECK_OK(ctx, vka_graph_output(g, "out", o));
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    }
    if (plan) {
        vka_plan_write(plan, "k", k, sizeof k);
        vka_plan_write(plan, "v", v, sizeof v);
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "out", gpu, sizeof gpu));
        /* The reference sees q as stored: rounded to bfloat16. */
        float stored[N * D];
        CHECK_OK(ctx, vka_safetensors_read_f32(f, "q", stored, N * D));
        vka_host_tensor in[] = {{"k", k, sizeof k}, {"v", v, sizeof v}};
        vka_host_tensor out[] = {{"out", ref, sizeof ref}};
        CHECK_OK(ctx, vka_graph_reference(g, in, 2, out, 1));
        test_close("softmax with q from a file", gpu, ref, N * D, 2e-5, 2e-4);
        double moved = 0;
        for (int i = 0; i < N * D; i++)
            moved = fmax(moved, fabs(stored[i] - q[i]));
        CHECK_MSG(moved > 0 && moved < 0.05, "bfloat16 storage changed q by %g", moved);
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    vka_safetensors_close(f);
    test_context_done(ctx);
    remove(scratch());
}

/* ------------------------------------------------------------------ malformed files */

static void expect_refused(const char *what, const char *needle)
{
    vka_safetensors *f = NULL;
    vka_result r = vka_safetensors_open(NULL, scratch(), &f);
    CHECK_MSG(r == VKA_ERROR_FILE_FORMAT && f == NULL, "%s: accepted (result %s)", what, vka_result_string(r));
    CHECK_MSG(strstr(vka_last_error(NULL), needle), "%s: message '%s' lacks '%s'", what, vka_last_error(NULL), needle);
    vka_safetensors_close(f);
}

static void malformed_headers_are_refused(void)
{
    static const struct {
        const char *what, *header;
        size_t data;
        const char *needle;
    } cases[] = {
        {"not JSON", "hello", 0, "not a JSON object"},
        {"truncated JSON", "{\"a\":{\"dtype\":\"F32\"", 0, "malformed"},
        {"unknown dtype", "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "'F64'"},
        {"offsets past the end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "outside"},
        {"huge offsets",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,18446744073709551615]}}", 8,
         "outside"},
        {"begin after end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, "outside"},
        {"size and shape disagree", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", 16,
         "need 16"},
        {"overlapping tensors",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
         24, "overlap"},
        {"non-UTF-8 name", "{\"\xff\xfe\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "UTF-8"},
        {"overlong UTF-8", "{\"\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "UTF-8"},
        {"a name twice",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "named twice"},
        {"rank 5", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "rank above 4"},
        {"NUL in a name", "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "NUL"},
        {"lone surrogate", "{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "surrogate"},
        {"fractional shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}", 4, "fraction"},
        {"negative shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative"},
        {"integer overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}",
         4, "too large"},
        {"shape too large", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967295,4294967295,4],\"data_offsets\":[0,4]}}", 4,
         "too large"},
        {"missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "lacks data_offsets"},
        {"unknown key", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unknown key"},
        {"text after the object", "{} trailing", 0, "text after"},
        {"metadata not strings", "{\"__metadata__\":{\"a\":1}}", 0, "expected a string"},
        {"control character", "{\"a\nb\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "control"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        CHECK(write_file(cases[i].header, cases[i].data));
        expect_refused(cases[i].what, cases[i].needle);
    }
    /* Shorter than the length prefix; a length beyond the file; a 2^63 length. */
    CHECK(write_bytes(scratch(), "\x04\0\0", 3));
    expect_refused("3-byte file", "shorter than");
    CHECK(write_bytes(scratch(), "\x40\0\0\0\0\0\0\0{}", 10));
    expect_refused("length beyond the file", "claims 64 bytes");
    CHECK(write_bytes(scratch(), "\0\0\0\0\0\0\0\x80{}", 10));
    expect_refused("2^63 length", "claims");
    /* The well-formed neighbours of those cases open. */
    CHECK(write_file(
        "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}  ", 4));
    vka_safetensors *f = NULL;
    CHECK_OK(NULL, vka_safetensors_open(NULL, scratch(), &f));
    vka_safetensors_close(f);
    vka_result missing = vka_safetensors_open(NULL, "/nonexistent/w.safetensors", &f);
    CHECK(missing == VKA_ERROR_IO && strstr(vka_last_error(NULL), "/nonexistent/w.safetensors"));
    remove(scratch());
}

/* Random byte changes, insertions of odd bytes and truncations of a valid file: every
 * open either fails with FILE_FORMAT or IO, or yields entries that all read. (The
 * sanitizer build of this test is what makes "cleanly" mean no memory error.) */
static void mutated_files_fail_cleanly(void)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[4] = {-1, -2, -3, -4};
    vka_safetensors_write tensors[] = {
        {.name = "alpha", .dtype = VKA_FILE_F32, .rank = 2, .dims = {2, 3}, .data = a},
        {.name = "beta", .dtype = VKA_FILE_F16, .rank = 1, .dims = {4}, .data = b},
    };
    CHECK_OK(NULL, vka_safetensors_save(NULL, scratch(), tensors, 2));
    FILE *file = fopen(scratch(), "rb");
    unsigned char original[1024];
    size_t size = file ? fread(original, 1, sizeof original, file) : 0;
    if (file)
        fclose(file);
    CHECK(size > 40);
    static const unsigned char odd[] = {'"', '{', '}', '[', ']', ',', ':', '\\', '9', '-', 0, 0xff, 0xc3, 'e', ' '};
    uint32_t opened = 0, refused = 0;
    test_seed(2026);
    for (int round = 0; round < 3000 && size > 40; round++) {
        unsigned char bytes[1024];
        memcpy(bytes, original, size);
        size_t n = size;
        uint32_t kind = (uint32_t)(fabs(test_normal()) * 1000) % 3,
                 changes = 1 + (uint32_t)(fabs(test_normal()) * 7) % 4;
        for (uint32_t c = 0; c < changes; c++) {
            size_t at = (size_t)(fabs(test_normal()) * 1e6) % n;
            if (kind == 0)
                bytes[at] = (unsigned char)((size_t)(fabs(test_normal()) * 1e6) & 0xff);
            else if (kind == 1)
                bytes[at] = odd[(size_t)(fabs(test_normal()) * 1e6) % sizeof odd];
            else
                n = at > 0 ? at : 1;
        }
        if (!write_bytes(scratch(), bytes, n))
            continue;
        vka_safetensors *f = NULL;
        vka_result r = vka_safetensors_open(NULL, scratch(), &f);
        if (r != VKA_SUCCESS) {
            CHECK_MSG(r == VKA_ERROR_FILE_FORMAT && f == NULL && vka_last_error(NULL)[0], "round %d: result %s", round,
                      vka_result_string(r));
            refused++;
            continue;
        }
        opened++;
        for (uint32_t i = 0; i < vka_safetensors_count(f); i++) {
            vka_safetensors_entry e;
            CHECK_OK(NULL, vka_safetensors_entry_at(f, i, &e));
            float values[64];
            if (e.elements <= 64)
                CHECK_OK(NULL, vka_safetensors_read_f32(f, e.name, values, e.elements));
        }
        vka_safetensors_close(f);
    }
    CHECK_MSG(refused > 1000, "only %u of 3000 mutated files were refused", refused);
    printf("  mutated files: %u opened, %u refused\n", opened, refused);
    remove(scratch());
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"round_trip_every_rank", round_trip_every_rank},
        {"half_and_bfloat_widen_and_round", half_and_bfloat_widen_and_round},
        {"graph_binds_weights_from_a_file", graph_binds_weights_from_a_file},
        {"malformed_headers_are_refused", malformed_headers_are_refused},
        {"mutated_files_fail_cleanly", mutated_files_fail_cleanly},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
