/* libFuzzer: operation parameters as the command line gives them. The input's first byte
 * picks an operation (any registered one), the rest is lines of key=value split as
 * `vkattn run` splits them (cli_split_pair); the operation is posed on a small problem
 * (vka_op_example_for) and built with those parameters, then planned memory-only (its
 * lowering runs, nothing is allocated). Everything must fail with a message or succeed. */
#include "../../samples/vkattn/cli.h"

#include <stdlib.h>
#include <string.h>

static vka_context *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (vka_context_create(&(vka_context_desc){.ignore_environment = true}, &ctx) != VKA_SUCCESS)
        abort(); /* the fuzzer needs a device (lavapipe) */
    return 0;
}

/* Index constants (layouts) as ones; everything else as a graph input. */
static vka_result add_inputs(vka_graph *g, const vka_op_example *e, vka_op_desc *op)
{
    vka_result r = VKA_SUCCESS;
    for (uint32_t i = 0; r == VKA_SUCCESS && i < e->input_count; i++) {
        const vka_example_input *in = &e->inputs[i];
        op->inputs[i].role = in->role;
        if (in->constant) {
            size_t n = 1;
            for (uint32_t a = 0; a < in->desc.rank; a++)
                n *= in->desc.dims[a];
            int32_t *ones = malloc(n * 4);
            for (size_t k = 0; ones && k < n; k++)
                ones[k] = in->kind == VKA_INPUT_INDICES ? 1 : 0;
            r = ones ? vka_graph_constant(g, &in->desc, ones, n * 4, &op->inputs[i].tensor)
                     : VKA_ERROR_OUT_OF_HOST_MEMORY;
            free(ones);
        } else {
            r = vka_graph_input(g, &in->desc, &op->inputs[i].tensor);
        }
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    vka_op_info info;
    vka_op_info_at(data[0] % vka_op_count(), &info);
    vka_op_example e;
    vka_problem problem = {.batch = 2, .heads = 2, .queries = 24, .keys = 24, .head_dim = 8};
    if (vka_op_example_for(info.name, &problem, &e) != VKA_SUCCESS)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    vka_op_desc op = {.op = info.name};
    uint32_t count = 0;
    for (char *line = strtok(text, "\n"); line && count < VKA_MAX_OP_PARAMS; line = strtok(NULL, "\n")) {
        char *key, *value;
        cli_split_pair(line, &key, &value);
        if (value)
            op.params[count++] = (vka_op_param){key, value};
    }
    vka_graph *g = NULL;
    vka_tensor out;
    vka_plan *plan = NULL;
    if (vka_graph_create(ctx, &g) == VKA_SUCCESS && add_inputs(g, &e, &op) == VKA_SUCCESS &&
        vka_graph_op(g, &op, &out) == VKA_SUCCESS && vka_graph_output(g, "out", out) == VKA_SUCCESS) {
        for (uint32_t i = 0; i < vka_graph_op_param_count(g, out); i++) {
            vka_param_value v;
            if (vka_graph_op_param_at(g, out, i, &v) != VKA_SUCCESS)
                abort();
        }
        vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan);
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    free(text);
    return 0;
}
