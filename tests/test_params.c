/* Typed, self-describing parameters: every operation's schema is well formed, values
 * given as numbers behave as the same values given as text, the graph reports what each
 * parameter resolved to (defaults and derived values included), bad values are refused
 * by name, and `vkattn info SCHEME` prints the schema. Plans nothing: graphs only. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "harness.h"

static vka_context *ctx;

/* q, k, v [1, 2, 8, 16] and one operation on them; 0 on failure (the message stays). */
static vka_tensor attention(vka_graph *g, const char *op, const vka_op_param *params, const vka_op_number *numbers)
{
    static unsigned made; /* inputs are named uniquely in a graph */
    vka_tensor q, k, v, out = {0};
    vka_tensor *t[] = {&q, &k, &v};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "%c%u", "qkv"[i], made++);
        if (vka_graph_input(g, &(vka_tensor_desc){.name = name, .rank = 4, .dims = {1, 2, 8, 16}}, t[i]))
            return out;
    }
    vka_op_desc d = {.op = op, .inputs = {{"q", q}, {"k", k}, {"v", v}}};
    for (int i = 0; params && params[i].key; i++)
        d.params[i] = params[i];
    for (int i = 0; numbers && numbers[i].key; i++)
        d.numbers[i] = numbers[i];
    if (vka_graph_op(g, &d, &out) != VKA_SUCCESS)
        out.id = 0;
    return out;
}

static bool find_value(vka_graph *g, vka_tensor op, const char *key, vka_param_value *out)
{
    for (uint32_t i = 0; i < vka_graph_op_param_count(g, op); i++)
        if (vka_graph_op_param_at(g, op, i, out) == VKA_SUCCESS && strcmp(out->key, key) == 0)
            return true;
    return false;
}

static bool fallback_is_valid(const vka_param_info *p)
{
    if (!p->fallback)
        return true;
    char *end;
    double x = strtod(p->fallback, &end);
    switch (p->type) {
    case VKA_PARAM_BOOL: return strcmp(p->fallback, "0") == 0 || strcmp(p->fallback, "1") == 0;
    case VKA_PARAM_INT: return *end == '\0' && x == floor(x) && x >= p->min && x <= p->max;
    case VKA_PARAM_FLOAT: return *end == '\0' && x >= p->min && x <= p->max;
    case VKA_PARAM_ENUM:
        for (int i = 0; p->choices && p->choices[i]; i++)
            if (strcmp(p->choices[i], p->fallback) == 0)
                return true;
        return false;
    case VKA_PARAM_NAME:
    case VKA_PARAM_LIST: return p->fallback[0] != '\0';
    }
    return false;
}

/* Every op's schema: keys unique, types known, ranges ordered, enums with choices, and
 * a default that is a valid value (or a described derivation, or none: required). */
static void every_schema_is_well_formed(void)
{
    for (uint32_t i = 0; i < vka_op_count(); i++) {
        vka_op_info info;
        CHECK(vka_op_info_at(i, &info) == VKA_SUCCESS);
        for (uint32_t j = 0; j < info.param_count; j++) {
            const vka_param_info *p = &info.params[j];
            CHECK_MSG(p->key && p->summary && p->summary[0], "%s: parameter %u lacks a key or summary", info.name, j);
            CHECK_MSG(p->type >= VKA_PARAM_BOOL && p->type <= VKA_PARAM_LIST, "%s.%s: type %d", info.name, p->key,
                      (int)p->type);
            CHECK_MSG(!(p->type == VKA_PARAM_INT || p->type == VKA_PARAM_FLOAT) || p->min <= p->max,
                      "%s.%s: range [%g, %g]", info.name, p->key, p->min, p->max);
            CHECK_MSG(p->type != VKA_PARAM_ENUM || (p->choices && p->choices[0]), "%s.%s: an enum without choices",
                      info.name, p->key);
            CHECK_MSG(fallback_is_valid(p), "%s.%s: default '%s' is not a valid value", info.name, p->key, p->fallback);
            CHECK_MSG(!(p->fallback && p->derived), "%s.%s: both a default and a derivation", info.name, p->key);
            for (uint32_t k = 0; k < j; k++)
                CHECK_MSG(strcmp(info.params[k].key, p->key) != 0, "%s.%s twice", info.name, p->key);
        }
    }
    vka_op_info softmax;
    CHECK(vka_op_info_named("softmax", &softmax) == VKA_SUCCESS && softmax.param_count == 9);
    CHECK(strcmp(softmax.params[3].key, "kernel") == 0 && softmax.params[3].type == VKA_PARAM_ENUM &&
          strcmp(softmax.params[3].choices[1], "materialized") == 0 &&
          strcmp(softmax.params[3].fallback, "flash") == 0);
    CHECK(strcmp(softmax.params[7].key, "capacity") == 0 && !softmax.params[7].fallback && softmax.params[7].derived);
}

/* Defaults, derived values and given ones, as the graph reports them. */
static void resolved_values_are_reported(void)
{
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_tensor o = attention(g, "softmax", (vka_op_param[]){{"kernel", "materialized"}, {0}}, NULL);
    CHECK_OK(ctx, o.id ? VKA_SUCCESS : VKA_ERROR_INVALID_ARGUMENT);
    vka_param_value v;
    CHECK(vka_graph_op_param_count(g, o) == 8); /* all but capacity, which applies only when decoding */
    CHECK(find_value(g, o, "scale", &v) && !v.given && v.type == VKA_PARAM_FLOAT && fabs(v.number - 0.25) < 1e-12);
    CHECK(find_value(g, o, "causal", &v) && !v.given && v.number == 0);
    CHECK(find_value(g, o, "kernel", &v) && v.given && v.number == 1 && strcmp(v.text, "materialized") == 0);
    CHECK(vka_graph_op_param_at(g, o, 8, &v) == VKA_ERROR_INVALID_ARGUMENT);
    /* An input is no operation: nothing resolved. */
    CHECK(vka_graph_op_param_count(g, (vka_tensor){1}) == 0);
    /* performer: features derived from the default (no projection given), seed defaulted. */
    vka_tensor p = attention(g, "performer", NULL, (vka_op_number[]){{"seed", 7}, {0}});
    CHECK(find_value(g, p, "features", &v) && !v.given && v.number == 256);
    CHECK(find_value(g, p, "seed", &v) && v.given && v.number == 7);
    CHECK(find_value(g, p, "state", &v) && !v.given && strcmp(v.text, "performer.state") == 0);
    vka_graph_destroy(g);
}

/* A number means what its text means; wrong kinds of numbers are refused by name. */
static void numbers_are_typed_values(void)
{
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_param_value v;
    vka_tensor a = attention(g, "local", NULL, (vka_op_number[]){{"window", 3}, {"causal", 1}, {"scale", 0.5}, {0}});
    vka_tensor b =
        attention(g, "local", (vka_op_param[]){{"window", "3"}, {"causal", "1"}, {"scale", "0.5"}, {0}}, NULL);
    CHECK(a.id && b.id);
    for (int i = 0; i < 2; i++) {
        vka_tensor t = i ? b : a;
        CHECK(find_value(g, t, "window", &v) && v.given && v.number == 3);
        CHECK(find_value(g, t, "causal", &v) && v.number == 1);
        CHECK(find_value(g, t, "scale", &v) && v.number == 0.5);
    }
    static const struct {
        const char *op;
        vka_op_number number;
        const char *message;
    } bad[] = {
        {"local", {"window", 2.5}, "'window' must be an integer in [0, 16777216], got '2.5'"},
        {"local", {"window", -1}, "'window' must be an integer"},
        {"softmax", {"causal", 2}, "'causal' must be 0 or 1, got '2'"},
        {"softmax", {"kernel", 1}, "'kernel' must be flash or materialized"},
        {"softmax",
         {"windw", 3},
         "unknown parameter 'windw' (softmax takes: scale, causal, causal_align, kernel, softcap, split_k, decode, "
         "capacity, state)"},
        {"linear", {"eps", -1}, "eps must be in [0, 1e+30], got -1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vka_tensor t = attention(g, bad[i].op, NULL, (vka_op_number[]){bad[i].number, {0}});
        CHECK_MSG(!t.id && strstr(vka_last_error(ctx), bad[i].message), "%s %s: '%s'", bad[i].op, bad[i].number.key,
                  vka_last_error(ctx));
    }
    /* The same key as text and as a number is given twice. */
    vka_tensor t =
        attention(g, "softmax", (vka_op_param[]){{"causal", "1"}, {0}}, (vka_op_number[]){{"causal", 1}, {0}});
    CHECK_MSG(!t.id && strstr(vka_last_error(ctx), "given twice"), "'%s'", vka_last_error(ctx));
    /* A required parameter missing is named. */
    t = attention(g, "strided", NULL, NULL);
    CHECK_MSG(!t.id && strstr(vka_last_error(ctx), "stride= is required"), "'%s'", vka_last_error(ctx));
    /* ... unless a key it does not know was given: the typo is named, not the key it missed */
    t = attention(g, "local", NULL, (vka_op_number[]){{"windw", 3}, {0}});
    CHECK_MSG(!t.id && strstr(vka_last_error(ctx), "unknown parameter 'windw' (local takes: window,"), "'%s'",
              vka_last_error(ctx));
    vka_graph_destroy(g);
}

/* The tool's stdout (and its status) for `vkattn ARGS`. */
static int run_cli(const char *args, char *out, size_t size)
{
    char command[512];
    snprintf(command, sizeof command, "'%s' %s 2>&1", VKATTN_CLI_PATH, args);
    return test_command_output(command, out, size);
}

/* `vkattn info SCHEME` lists inputs and each parameter's type, range, default, meaning. */
static void info_prints_the_schema(void)
{
    char out[8192];
    CHECK(run_cli("info local", out, sizeof out) == 0);
    static const char *const wanted[] = {"local:",     "kv_len", "optional", "window", "int",       "[0, 16777216]",
                                         "(required)", "causal", "bool",     "scale",  "1/sqrt(D)", NULL};
    CHECK_MSG(test_contains_all(out, wanted), "vkattn info local printed:\n%s", out);
    CHECK(run_cli("info softmax", out, sizeof out) == 0 && strstr(out, "flash|materialized") &&
          strstr(out, "default flash"));
    CHECK(run_cli("info nope", out, sizeof out) != 0 && strstr(out, "unknown operation 'nope'"));
}

/* Model builders find tensors by name and reach the graph's context through the API. */
static void graph_find_and_context(void)
{
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_tensor x, found, o;
    float w[4] = {1, 2, 3, 4};
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 2, .dims = {3, 4}}, &x));
    CHECK_OK(ctx,
             vka_graph_constant(g, &(vka_tensor_desc){.name = "w", .rank = 2, .dims = {4, 1}}, w, sizeof w, &found));
    CHECK(vka_graph_find(g, "x", &found) == VKA_SUCCESS && found.id == x.id);
    CHECK(vka_graph_find(g, "w", &found) == VKA_SUCCESS && found.id != x.id);
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "gelu", .inputs = {{"x", x}}}, &o));
    CHECK(vka_graph_find(g, "gelu", &found) == VKA_ERROR_NOT_FOUND && found.id == 0); /* results are not found */
    CHECK(vka_graph_find(g, "nope", &found) == VKA_ERROR_NOT_FOUND);
    CHECK(vka_graph_find(NULL, "x", &found) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(vka_graph_context(g) == ctx && vka_graph_context(NULL) == NULL);
    vka_graph_destroy(g);
}

/* Each graph case has its own validated context. */
static void with_context(void (*fn)(void))
{
    ctx = test_context(NULL);
    if (!ctx)
        return;
    fn();
    test_context_done(ctx);
    ctx = NULL;
}

static void schema(void)
{
    every_schema_is_well_formed();
}
static void resolved(void)
{
    with_context(resolved_values_are_reported);
}
static void numbers(void)
{
    with_context(numbers_are_typed_values);
}
static void find(void)
{
    with_context(graph_find_and_context);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"every_schema_is_well_formed", schema},
        {"resolved_values_are_reported", resolved},
        {"numbers_are_typed_values", numbers},
        {"graph_find_and_context", find},
        {"info_prints_the_schema", info_prints_the_schema},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
