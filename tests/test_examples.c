/* Every operation's self-description (vka_op_info's input table, vka_op_example_for)
 * against the operation itself: posed on a problem, each op builds from its own example
 * (the table's shapes and required parameters are the ones its build accepts), its
 * output has the shape the table states, the GPU result matches the double-precision
 * reference, and where the table says rows are independent, the reference over the last
 * rows alone equals those rows of the whole (so `vkattn bench` may check a few rows).
 * Validation layer on. */
#include "harness.h"

static vka_context *ctx;

typedef struct posed posed;
struct posed {
    vka_op_example e;
    vka_graph *graph;
    void *data[VKA_MAX_OP_INPUTS]; /* float or f16 (uint16_t); NULL: an index constant (ones) */
    const posed *values;           /* whose data the graph's constants hold: this one's, or the whole's */
    size_t bytes[VKA_MAX_OP_INPUTS];
    vka_tensor out;
};

static size_t elements(const vka_tensor_desc *d)
{
    size_t n = 1;
    for (uint32_t i = 0; i < d->rank; i++)
        n *= d->dims[i];
    return n;
}

static void posed_free(posed *p)
{
    vka_graph_destroy(p->graph);
    for (int i = 0; i < VKA_MAX_OP_INPUTS; i++)
        free(p->data[i]);
}

/* The inputs as the table says (constants: index ones as ones, learned ones from
 * p->values), the example's parameters. */
static bool build(const char *op, posed *p)
{
    vka_op_desc desc = {.op = op};
    bool ok = vka_graph_create(ctx, &p->graph) == VKA_SUCCESS;
    for (uint32_t i = 0; ok && i < p->e.input_count; i++) {
        const vka_example_input *in = &p->e.inputs[i];
        desc.inputs[i].role = in->role;
        if (in->kind == VKA_INPUT_INDICES) {
            size_t n = elements(&in->desc);
            int32_t *ones = malloc(n * sizeof *ones);
            for (size_t j = 0; ones && j < n; j++)
                ones[j] = 1;
            ok = ones && vka_graph_constant(p->graph, &in->desc, ones, n * sizeof *ones, &desc.inputs[i].tensor) == 0;
            free(ones);
        } else if (in->constant) {
            ok = vka_graph_constant(p->graph, &in->desc, p->values->data[i], p->values->bytes[i],
                                    &desc.inputs[i].tensor) == VKA_SUCCESS;
        } else {
            ok = vka_graph_input(p->graph, &in->desc, &desc.inputs[i].tensor) == VKA_SUCCESS;
        }
    }
    memcpy(desc.numbers, p->e.params, sizeof desc.numbers);
    CHECK_MSG(ok && vka_graph_op(p->graph, &desc, &p->out) == VKA_SUCCESS, "%s: its own example does not build: %s", op,
              vka_last_error(ctx));
    if (!ok || vka_graph_output(p->graph, "out", p->out) != VKA_SUCCESS)
        return false;
    vka_tensor_desc got;
    vka_graph_tensor_desc(p->graph, p->out, &got);
    bool same = got.rank == p->e.output.rank && memcmp(got.dims, p->e.output.dims, got.rank * sizeof *got.dims) == 0;
    CHECK_MSG(same, "%s: the output's shape is not the table's [%s]", op, "output_shape");
    return same;
}

/* Random inputs; those in `half_inputs` (bit i: input i) become f16 tensors. */
static bool fill(posed *p, uint64_t seed, uint32_t half_inputs)
{
    test_seed(seed);
    for (uint32_t i = 0; i < p->e.input_count; i++) {
        vka_example_input *in = &p->e.inputs[i];
        if (in->kind == VKA_INPUT_INDICES)
            continue;
        size_t n = elements(&in->desc);
        float *x = malloc(n * sizeof *x);
        if (!x)
            return false;
        float sigma = in->kind == VKA_INPUT_LEARNED ? 1.0f / sqrtf((float)in->desc.dims[in->desc.rank - 1])
                      : in->in_logits               ? 0.5f
                                                    : 1.0f;
        test_fill_normal(x, n, sigma);
        vka_value_range_place(&in->values, x, n);
        p->data[i] = x;
        p->bytes[i] = n * sizeof *x;
        if (half_inputs >> i & 1) {
            uint16_t *h = malloc(n * sizeof *h);
            if (!h)
                return false;
            vka_f16_from_f32(x, h, n);
            free(x);
            p->data[i] = h;
            p->bytes[i] = n * sizeof *h;
            in->desc.dtype = VKA_DTYPE_F16;
        }
    }
    return true;
}

static uint32_t host_inputs(const posed *p, vka_host_tensor *in)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->e.input_count; i++)
        if (p->data[i] && !p->e.inputs[i].constant)
            in[n++] = (vka_host_tensor){p->e.inputs[i].role, p->data[i], p->bytes[i]};
    return n;
}

/* The last `rows` along `axis`. */
static void last_rows(const float *x, const vka_tensor_desc *d, int32_t axis, uint32_t rows, float *out)
{
    size_t outer = 1, inner = 1;
    for (int32_t i = 0; i < axis; i++)
        outer *= d->dims[i];
    for (uint32_t i = (uint32_t)axis + 1; i < d->rank; i++)
        inner *= d->dims[i];
    for (size_t o = 0; o < outer; o++)
        memcpy(out + o * rows * inner, x + (o * d->dims[axis] + d->dims[axis] - rows) * inner,
               rows * inner * sizeof(float));
}

/* The reference over the last `rows` queries alone equals those rows of the whole. */
static void check_rows_independent(const char *op, const vka_problem *problem, const posed *whole, const float *ref)
{
    uint32_t rows = problem->queries / 2 + 1;
    vka_problem part = *problem;
    part.queries = rows;
    posed p = {.values = whole};
    if (vka_op_example_for(op, &part, &p.e) != VKA_SUCCESS || !build(op, &p)) {
        posed_free(&p);
        return;
    }
    vka_host_tensor in[VKA_MAX_OP_INPUTS];
    uint32_t count = host_inputs(whole, in);
    float *sliced[VKA_MAX_OP_INPUTS] = {0};
    for (uint32_t i = 0, h = 0; i < whole->e.input_count; i++) {
        const vka_example_input *e = &whole->e.inputs[i];
        if (!whole->data[i] || e->constant)
            continue;
        if (e->query_axis >= 0) {
            in[h].bytes = whole->bytes[i] / e->desc.dims[e->query_axis] * rows;
            sliced[i] = malloc(in[h].bytes);
            last_rows(whole->data[i], &e->desc, e->query_axis, rows, sliced[i]);
            in[h].data = sliced[i];
        }
        h++;
    }
    size_t part_count = elements(&p.e.output);
    float *part_ref = malloc(part_count * sizeof(float)), *expected = malloc(part_count * sizeof(float));
    CHECK_OK(ctx, vka_graph_reference(p.graph, in, count, (vka_host_tensor[]){{"out", part_ref, part_count * 4}}, 1));
    last_rows(ref, &whole->e.output, whole->e.output_query_axis, rows, expected);
    char label[96];
    snprintf(label, sizeof label, "%s: the last %u rows alone", op, rows);
    CHECK(test_close(label, part_ref, expected, part_count, 1e-6, 1e-6));
    free(part_ref);
    free(expected);
    for (int i = 0; i < VKA_MAX_OP_INPUTS; i++)
        free(sliced[i]);
    posed_free(&p);
}

/* The output as floats, from f32 or f16. */
static void widen_output(const vka_tensor_desc *d, void *data, size_t n)
{
    if (d->dtype != VKA_DTYPE_F16)
        return;
    uint16_t *h = malloc(n * sizeof *h);
    memcpy(h, data, n * sizeof *h);
    vka_f32_from_f16(h, data, n);
    free(h);
}

/* Inputs in `half_inputs` are f16 (the result then has the first input's type); any f16
 * anywhere is checked with SCHEMES.md's f16 gate against the f16 reference. */
static void check_op(const vka_op_info *info, const vka_problem *problem, uint64_t seed, uint32_t half_inputs)
{
    posed p = {0};
    p.values = &p;
    vka_result r = vka_op_example_for(info->name, problem, &p.e);
    CHECK_MSG(r == VKA_SUCCESS, "%s: no example (%s)", info->name, vka_result_string(r));
    vka_plan *plan = NULL;
    size_t out_count = elements(&p.e.output);
    float *gpu = malloc(out_count * sizeof(float)), *ref = malloc(out_count * sizeof(float));
    if (r == VKA_SUCCESS && fill(&p, seed, half_inputs) && build(info->name, &p) && gpu && ref) {
        vka_tensor_desc out_desc;
        vka_graph_tensor_desc(p.graph, p.out, &out_desc);
        size_t out_bytes = out_count * (out_desc.dtype == VKA_DTYPE_F16 ? 2 : 4);
        vka_host_tensor in[VKA_MAX_OP_INPUTS];
        uint32_t count = host_inputs(&p, in);
        vka_result made = vka_plan_create(p.graph, NULL, &plan);
        CHECK_MSG(made == VKA_SUCCESS, "%s: %s", info->name, vka_last_error(ctx)); /* under every limits profile */
        for (uint32_t i = 0; plan && i < count; i++)
            CHECK_OK(ctx, vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes));
        bool any_half = out_desc.dtype == VKA_DTYPE_F16;
        for (uint32_t i = 0; i < p.e.input_count; i++)
            any_half = any_half || p.e.inputs[i].desc.dtype == VKA_DTYPE_F16;
        vka_plan_stats stats = {0};
        if (plan && any_half) { /* f16 on the device, or (disable_f16) widened at the boundary */
            vka_plan_stats_get(plan, &stats);
            CHECK_MSG(stats.f16_tensors + stats.f16_widened > 0, "%s: no f16 tensor in the plan", info->name);
        }
        if (plan) {
            CHECK_OK(ctx, vka_plan_run(plan));
            CHECK_OK(ctx, vka_plan_read(plan, "out", gpu, out_bytes));
            widen_output(&out_desc, gpu, out_count);
        }
        CHECK_OK(ctx, vka_graph_reference(p.graph, in, count, (vka_host_tensor[]){{"out", ref, out_bytes}}, 1));
        widen_output(&out_desc, ref, out_count);
        char label[128];
        snprintf(label, sizeof label, "%s posed on its example%s", info->name, half_inputs ? " (f16)" : "");
        if (half_inputs)
            CHECK(!plan || test_f16_gate(label, gpu, ref, out_count));
        else
            CHECK(!plan || test_close(label, gpu, ref, out_count, 2e-4, 2e-3));
        if (!half_inputs && info->rows_independent && p.e.output_query_axis >= 0)
            check_rows_independent(info->name, problem, &p, ref);
    }
    vka_plan_destroy(plan);
    free(gpu);
    free(ref);
    posed_free(&p);
    test_check_validation(ctx);
}

static void every_operation_builds_from_its_example(void)
{
    const vka_problem problems[] = {
        {.batch = 2, .heads = 2, .queries = 40, .keys = 40, .head_dim = 16},
        {.batch = 1, .heads = 3, .queries = 33, .keys = 33, .head_dim = 8, .value_dim = 5},
        {.batch = 2, .heads = 1, .queries = 24, .keys = 88, .head_dim = 4},   /* the queries start on a block of 64 */
        {.batch = 1, .heads = 2, .queries = 150, .keys = 150, .head_dim = 4}, /* more tokens than the landmarks */
        {.batch = 2, .heads = 4, .kv_heads = 2, .queries = 30, .keys = 30, .head_dim = 8}, /* grouped k/v heads */
    };
    for (uint32_t i = 0; i < vka_op_count(); i++) {
        vka_op_info info;
        vka_op_info_at(i, &info);
        for (size_t k = 0; k < sizeof problems / sizeof *problems; k++)
            check_op(&info, &problems[k], 100 + 10 * i + k, 0);
    }
}

/* Every operation, f32 and f16, on a context of its own (the suite's is put back after). */
static void every_operation_on(const vka_context_desc *desc, uint64_t seed)
{
    vka_context *saved = ctx;
    ctx = test_context(desc);
    const vka_problem problem = {.batch = 1, .heads = 2, .queries = 70, .keys = 70, .head_dim = 16};
    for (uint32_t i = 0; ctx && i < vka_op_count(); i++) {
        vka_op_info op;
        vka_op_info_at(i, &op);
        check_op(&op, &problem, seed + i, 0);
        check_op(&op, &problem, seed + 100 + i, ~0u);
    }
    test_context_done(ctx);
    ctx = saved;
}

/* GPU-class kernels on a device that reports no subgroup operations (VKATTN_DISABLE_SUBGROUPS
 * =1: MoltenVK on AMD breaks subgroupShuffleXor): the results must not depend on them, and a
 * kernel that needed them would be refused by name. f16 too: the suite's context is the CPU
 * class on lavapipe. */
static void every_operation_without_subgroups(void)
{
    vka_context *probe = test_context(&(vka_context_desc){.disable_subgroups = true});
    vka_device_info info;
    CHECK(probe && vka_context_device_info(probe, &info) == VKA_SUCCESS && info.subgroup_operations == 0);
    test_context_done(probe);
    every_operation_on(&(vka_context_desc){.disable_subgroups = true, .kernel_class = VKA_KERNEL_CLASS_GPU}, 500);
}

/* f16 tensors held as f32 on the device (VKATTN_DISABLE_F16=1), converted at the boundary. */
static void every_operation_with_f16_widened(void)
{
    every_operation_on(&(vka_context_desc){.disable_f16 = true}, 700);
}

/* Every operation with f16 inputs and result (SCHEMES.md's f16 gate), and with a mix:
 * the first input f32 (so the result is f32), the rest f16. */
static void every_operation_takes_f16(void)
{
    const vka_problem problems[] = {
        {.batch = 2, .heads = 2, .queries = 40, .keys = 40, .head_dim = 16},
        {.batch = 1, .heads = 3, .queries = 33, .keys = 33, .head_dim = 8, .value_dim = 5},
    };
    for (uint32_t i = 0; i < vka_op_count(); i++) {
        vka_op_info info;
        vka_op_info_at(i, &info);
        check_op(&info, &problems[0], 300 + i, ~0u);
        check_op(&info, &problems[1], 400 + i, ~1u);
    }
}

/* The table's facts: each input's dtypes, kinds, the required count. */
static void tables_are_consistent(void)
{
    for (uint32_t i = 0; i < vka_op_count(); i++) {
        vka_op_info info;
        vka_op_info_at(i, &info);
        uint32_t required = 0;
        CHECK_MSG(info.output_shape && info.input_count >= 1, "%s: no output shape or inputs", info.name);
        for (uint32_t k = 0; k < info.input_count; k++) {
            const vka_input_info *in = &info.inputs[k];
            required += !in->optional;
            CHECK_MSG(in->role && in->shape && in->summary && in->dtypes && in->kind >= VKA_INPUT_TOKENS &&
                          in->kind <= VKA_INPUT_MASK,
                      "%s: input %u is not fully described", info.name, k);
            CHECK_MSG(!(in->dtypes & VKA_DTYPE_BIT(VKA_DTYPE_I32)) == (in->kind != VKA_INPUT_INDICES),
                      "%s: %s: int32 exactly for index inputs", info.name, in->role);
        }
        CHECK(required == info.required_input_count);
    }
}

static void bad_problems_are_refused(void)
{
    vka_op_example e;
    vka_problem ok = {.batch = 1, .heads = 1, .queries = 4, .keys = 4, .head_dim = 4};
    CHECK(vka_op_example_for("nope", &ok, &e) == VKA_ERROR_NOT_FOUND);
    CHECK(vka_op_example_for(NULL, &ok, &e) == VKA_ERROR_NOT_FOUND);
    CHECK(vka_op_example_for("softmax", NULL, &e) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_op_example_for("softmax", &ok, NULL) == VKA_ERROR_INVALID_ARGUMENT);
    vka_problem zero = ok;
    zero.keys = 0;
    CHECK(vka_op_example_for("softmax", &zero, &e) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_op_example_for("te_attention", &ok, &e) == VKA_SUCCESS);
    CHECK(e.input_count == 8 && e.inputs[0].desc.rank == 3 && e.inputs[0].desc.dims[2] == 4 &&
          e.inputs[5].desc.dims[0] == 128 && e.inputs[5].desc.dims[1] == 1 + 2 && e.inputs[3].query_axis == 1 &&
          e.inputs[4].query_axis == -1 && e.output_query_axis == 1);
    CHECK(vka_op_example_for("local", &ok, &e) == VKA_SUCCESS);
    CHECK(strcmp(e.params[0].key, "window") == 0 && e.params[0].value == 128 && !e.params[1].key);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"tables_are_consistent", tables_are_consistent},
        {"bad_problems_are_refused", bad_problems_are_refused},
        {"every_operation_builds_from_its_example", every_operation_builds_from_its_example},
        {"every_operation_takes_f16", every_operation_takes_f16},
        {"every_operation_without_subgroups", every_operation_without_subgroups},
        {"every_operation_with_f16_widened", every_operation_with_f16_widened},
    };
    ctx = test_context(NULL);
    int status = ctx ? test_main(argc, argv, cases, sizeof cases / sizeof *cases) : 1;
    test_context_done(ctx);
    return status;
}
