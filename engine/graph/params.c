#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

vka_result vka_params_begin(vka_param_reader *r, vka_context *ctx, const char *op, const vka_param_info *schema,
                            const vka_op_param *params, const vka_op_number *numbers)
{
    *r = (vka_param_reader){.ctx = ctx, .op = op, .schema = schema};
    for (uint32_t i = 0; i < VKA_MAX_OP_PARAMS && params[i].key; i++) {
        if (!params[i].value)
            return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' has no value", op, params[i].key);
        r->given[r->count++] = (vka_given_param){params[i].key, params[i].value, 0};
    }
    for (uint32_t i = 0; i < VKA_MAX_OP_PARAMS && numbers[i].key; i++)
        r->given[r->count++] = (vka_given_param){numbers[i].key, NULL, numbers[i].value};
    for (uint32_t i = 0; i < r->count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(r->given[i].key, r->given[j].key) == 0)
                return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' is given twice", op,
                                r->given[i].key);
    return VKA_SUCCESS;
}

/* The schema's entry for a key read as `type`: a mismatch is the op's own mistake. */
static const vka_param_info *spec_of(vka_param_reader *r, const char *key, vka_param_type type)
{
    for (const vka_param_info *s = r->schema; s && s->key; s++)
        if (strcmp(s->key, key) == 0 && s->type == type)
            return s;
    vka_fail(r->ctx, VKA_ERROR_UNSUPPORTED, "internal: %s reads parameter '%s', which its schema does not declare so",
             r->op, key);
    return NULL;
}

static const vka_given_param *take(vka_param_reader *r, const char *key)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (strcmp(r->given[i].key, key) == 0) {
            r->used |= 1ull << i;
            return &r->given[i];
        }
    return NULL;
}

bool vka_param_given(const vka_param_reader *r, const char *key)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (strcmp(r->given[i].key, key) == 0)
            return true;
    return false;
}

/* Records what a key resolved to. */
static void note(vka_param_reader *r, const vka_param_info *s, bool given, double number, const char *text)
{
    if (r->resolved_count == VKA_MAX_OP_PARAMS)
        return;
    vka_resolved_param *p = &r->resolved[r->resolved_count++];
    p->value = (vka_param_value){.key = s->key, .type = s->type, .given = given, .number = number};
    if (text) {
        snprintf(p->text, sizeof p->text, "%s", text);
        p->value.text = p->text;
    }
}

/* The given value as text for messages. */
static const char *shown(const vka_given_param *given, char *buf, size_t size)
{
    if (given->text)
        return given->text;
    snprintf(buf, size, "%.17g", given->number);
    return buf;
}

/* A number from text (all of it) or from the number field. */
static bool number_of(const vka_given_param *given, double *out)
{
    if (!given->text) {
        *out = given->number;
        return true;
    }
    char *end;
    errno = 0;
    *out = strtod(given->text, &end);
    return end != given->text && *end == '\0' && errno != ERANGE;
}

/* A given key the operation does not read: named, with the keys it takes. */
static vka_result unknown_parameter(const vka_param_reader *r, uint32_t given)
{
    char keys[256] = "";
    for (const vka_param_info *s = r->schema; s && s->key; s++) {
        size_t used = strlen(keys);
        snprintf(keys + used, sizeof keys - used, "%s%s", s == r->schema ? "" : ", ", s->key);
    }
    return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: unknown parameter '%s' (%s takes: %s)", r->op,
                    r->given[given].key, r->op, keys[0] ? keys : "none");
}

/* A given key the schema does not declare (a typo: `windw` for `window`), or -1. */
static int undeclared_key(const vka_param_reader *r)
{
    for (uint32_t i = 0; i < r->count; i++) {
        const vka_param_info *s = r->schema;
        while (s && s->key && strcmp(s->key, r->given[i].key) != 0)
            s++;
        if (!s || !s->key)
            return (int)i;
    }
    return -1;
}

/* The value to read: the given one, else the schema's default, else `derived` (a default
 * the op computed from its inputs); a key with none of them is required. */
static vka_result source(vka_param_reader *r, const vka_param_info *s, const vka_given_param *derived,
                         vka_given_param *out, bool *given)
{
    const vka_given_param *p = take(r, s->key);
    *given = p != NULL;
    if (p)
        *out = *p;
    else if (s->fallback)
        *out = (vka_given_param){s->key, s->fallback, 0};
    else if (derived)
        *out = *derived;
    else if (undeclared_key(r) >= 0) /* the missing key is likely the typo */
        return unknown_parameter(r, (uint32_t)undeclared_key(r));
    else
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: %s= is required", r->op, s->key);
    return VKA_SUCCESS;
}

/* The schema entry of `key` read as `type`, and the value to read (source). */
static vka_result begin_read(vka_param_reader *r, const char *key, vka_param_type type, const vka_given_param *derived,
                             const vka_param_info **s, vka_given_param *v, bool *given)
{
    *v = (vka_given_param){0};
    *given = false;
    *s = spec_of(r, key, type);
    return *s ? source(r, *s, derived, v, given) : VKA_ERROR_UNSUPPORTED;
}

vka_result vka_param_bool(vka_param_reader *r, const char *key, bool *out)
{
    const vka_param_info *s;
    vka_given_param v;
    bool given;
    vka_result res = begin_read(r, key, VKA_PARAM_BOOL, NULL, &s, &v, &given);
    if (res != VKA_SUCCESS)
        return res;
    double x = -1;
    if (v.text)
        x = strcmp(v.text, "1") == 0 || strcmp(v.text, "true") == 0    ? 1
            : strcmp(v.text, "0") == 0 || strcmp(v.text, "false") == 0 ? 0
                                                                       : -1;
    else
        x = v.number;
    if (x != 0 && x != 1) {
        char buf[32];
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' must be 0 or 1, got '%s'", r->op, key,
                        shown(&v, buf, sizeof buf));
    }
    *out = x == 1;
    note(r, s, given, x, NULL);
    return VKA_SUCCESS;
}

/* An integer in the schema's range, with `derived` as its default when it has none. */
static vka_result read_int(vka_param_reader *r, const char *key, const vka_given_param *derived, uint32_t *out)
{
    const vka_param_info *s;
    vka_given_param v;
    bool given;
    vka_result res = begin_read(r, key, VKA_PARAM_INT, derived, &s, &v, &given);
    if (res != VKA_SUCCESS)
        return res;
    double x;
    bool whole = number_of(&v, &x) && x == floor(x) && (!v.text || !strpbrk(v.text, ".eEnN"));
    if (!whole || x < s->min || x > s->max || x < 0 || x > UINT32_MAX) {
        char buf[32];
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: parameter '%s' must be an integer in [%.0f, %.0f], got '%s'", r->op, key, s->min, s->max,
                        shown(&v, buf, sizeof buf));
    }
    *out = (uint32_t)x;
    note(r, s, given, x, NULL);
    return VKA_SUCCESS;
}

vka_result vka_param_int(vka_param_reader *r, const char *key, uint32_t *out)
{
    return read_int(r, key, NULL, out);
}

vka_result vka_param_int_or(vka_param_reader *r, const char *key, uint32_t fallback, uint32_t *out)
{
    return read_int(r, key, &(vka_given_param){key, NULL, fallback}, out);
}

/* A finite number in the schema's range, with `derived` as its default when it has none. */
static vka_result read_float(vka_param_reader *r, const char *key, const vka_given_param *derived, double *out)
{
    const vka_param_info *s;
    vka_given_param v;
    bool given;
    vka_result res = begin_read(r, key, VKA_PARAM_FLOAT, derived, &s, &v, &given);
    if (res != VKA_SUCCESS)
        return res;
    double x;
    char buf[32];
    if (!number_of(&v, &x))
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' must be a number, got '%s'", r->op, key,
                        shown(&v, buf, sizeof buf));
    if (!isfinite(x))
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' must be finite, got '%s'", r->op, key,
                        shown(&v, buf, sizeof buf));
    if (x < s->min || x > s->max)
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: %s must be in [%g, %g], got %g", r->op, key, s->min,
                        s->max, x);
    *out = x;
    note(r, s, given, x, NULL);
    return VKA_SUCCESS;
}

vka_result vka_param_float(vka_param_reader *r, const char *key, double *out)
{
    return read_float(r, key, NULL, out);
}

vka_result vka_param_scale(vka_param_reader *r, const char *key, uint32_t head_dim, float *out)
{
    double scale;
    vka_result result = read_float(r, key, &(vka_given_param){key, NULL, 1.0 / sqrt((double)head_dim)}, &scale);
    if (result == VKA_SUCCESS && fabs(scale) > 3.0e38)
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: %s %g does not fit in float32", r->op, key, scale);
    *out = (float)scale;
    return result;
}

vka_result vka_param_enum(vka_param_reader *r, const char *key, int *out)
{
    const vka_param_info *s;
    vka_given_param v;
    bool given;
    vka_result res = begin_read(r, key, VKA_PARAM_ENUM, NULL, &s, &v, &given);
    if (res != VKA_SUCCESS)
        return res;
    char list[256] = "", buf[32];
    for (int i = 0; s->choices[i]; i++) {
        if (v.text && strcmp(s->choices[i], v.text) == 0) {
            *out = i;
            note(r, s, given, i, s->choices[i]);
            return VKA_SUCCESS;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? " or " : "", s->choices[i]);
    }
    return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' must be %s, got '%s'", r->op, key, list,
                    shown(&v, buf, sizeof buf));
}

static vka_result read_text(vka_param_reader *r, const char *key, const vka_given_param *derived, char *out,
                            size_t size)
{
    const vka_param_info *s = NULL;
    for (const vka_param_info *e = r->schema; e && e->key && !s; e++)
        if (strcmp(e->key, key) == 0 && (e->type == VKA_PARAM_NAME || e->type == VKA_PARAM_LIST))
            s = e;
    if (!s) {
        spec_of(r, key, VKA_PARAM_NAME); /* the message */
        return VKA_ERROR_UNSUPPORTED;
    }
    vka_given_param v = {0};
    bool given = false;
    vka_result res = source(r, s, derived, &v, &given);
    if (res != VKA_SUCCESS)
        return res;
    if (!v.text || !v.text[0] || strlen(v.text) >= size)
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' wants %s of 1 to %zu characters", r->op,
                        key, s->type == VKA_PARAM_LIST ? "a comma-separated list of numbers" : "a name", size - 1);
    memcpy(out, v.text, strlen(v.text) + 1);
    note(r, s, given, 0, out);
    return VKA_SUCCESS;
}

vka_result vka_param_text(vka_param_reader *r, const char *key, char *out, size_t size)
{
    return read_text(r, key, NULL, out, size);
}

vka_result vka_param_text_or(vka_param_reader *r, const char *key, const char *fallback, char *out, size_t size)
{
    return read_text(r, key, &(vka_given_param){key, fallback, 0}, out, size);
}

vka_result vka_params_end(vka_param_reader *r)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (!(r->used & (1ull << i)))
            return unknown_parameter(r, i);
    return VKA_SUCCESS;
}
