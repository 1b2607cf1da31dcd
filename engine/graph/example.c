/* An operation posed on a problem size (vka_op_example_for): the shapes its input table
 * states in axis names ("B,H,Nq,D", "F=128,H+X"), evaluated, and its required parameters
 * at their example values. What `vkattn bench` builds any scheme from, and what the tests
 * check each table against (the op's own build must accept it). */
#include "op.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

enum { MAX_SYMBOLS = 16, MAX_NAME = 8 };

typedef struct symbols {
    uint32_t count;
    char names[MAX_SYMBOLS][MAX_NAME];
    uint64_t values[MAX_SYMBOLS];
} symbols;

typedef struct cursor {
    const char *at;
    const symbols *symbols;
    bool ok;
} cursor;

static bool define(symbols *s, const char *name, size_t length, uint64_t value)
{
    if (length >= MAX_NAME || s->count == MAX_SYMBOLS)
        return false;
    memcpy(s->names[s->count], name, length);
    s->names[s->count][length] = '\0';
    s->values[s->count++] = value;
    return true;
}

static bool lookup(const symbols *s, const char *name, size_t length, uint64_t *value)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (strlen(s->names[i]) == length && memcmp(s->names[i], name, length) == 0) {
            *value = s->values[i];
            return true;
        }
    return false;
}

static uint64_t number(cursor *c)
{
    uint64_t v = 0;
    while (isdigit((unsigned char)*c->at) && v < UINT32_MAX)
        v = v * 10 + (uint64_t)(*c->at++ - '0');
    return v;
}

/* factor := INT | NAME ['=' INT] (the example value was collected beforehand). */
static uint64_t factor(cursor *c)
{
    if (isdigit((unsigned char)*c->at))
        return number(c);
    const char *name = c->at;
    while (isalnum((unsigned char)*c->at))
        c->at++;
    uint64_t v = 0;
    if (c->at == name || !lookup(c->symbols, name, (size_t)(c->at - name), &v))
        c->ok = false;
    if (*c->at == '=') {
        c->at++;
        number(c);
    }
    return v;
}

/* term := factor (('*' | '/') factor)*, '/' rounding up (blocks of a length). */
static uint64_t term(cursor *c)
{
    uint64_t v = factor(c);
    while (c->ok && (*c->at == '*' || *c->at == '/')) {
        char op = *c->at++;
        uint64_t w = factor(c);
        v = op == '*' ? v * w : w ? (v + w - 1) / w : (c->ok = false, 0);
        c->ok = c->ok && v <= UINT32_MAX;
    }
    return v;
}

static uint64_t expression(cursor *c)
{
    uint64_t v = term(c);
    while (c->ok && *c->at == '+') {
        c->at++;
        v += term(c);
    }
    return v;
}

/* Every NAME=INT of a shape, into the table. */
static bool collect(symbols *s, const char *shape)
{
    for (const char *at = shape; at && *at; at++) {
        if (*at != '=')
            continue;
        const char *name = at;
        while (name > shape && isalnum((unsigned char)name[-1]))
            name--;
        cursor c = {.at = at + 1, .ok = true};
        uint64_t value = number(&c);
        if (!define(s, name, (size_t)(at - name), value))
            return false;
    }
    return true;
}

/* The axes of `shape`; "..." stands for B, Nq. *query_axis: the axis named Nq, or -1. */
static bool evaluate(const symbols *s, const char *shape, vka_tensor_desc *desc, int32_t *query_axis)
{
    cursor c = {.at = shape, .symbols = s, .ok = shape != NULL};
    desc->rank = 0;
    *query_axis = -1;
    while (c.ok && *c.at) {
        if (strncmp(c.at, "...", 3) == 0) {
            c.at += 3;
            if (desc->rank + 2 > VKA_MAX_RANK)
                return false;
            uint64_t b = 0, nq = 0;
            lookup(s, "B", 1, &b);
            lookup(s, "Nq", 2, &nq);
            desc->dims[desc->rank++] = (uint32_t)b;
            *query_axis = (int32_t)desc->rank;
            desc->dims[desc->rank++] = (uint32_t)nq;
        } else {
            if (desc->rank == VKA_MAX_RANK)
                return false;
            if (strncmp(c.at, "Nq", 2) == 0 && (c.at[2] == ',' || c.at[2] == '\0'))
                *query_axis = (int32_t)desc->rank;
            uint64_t v = expression(&c);
            c.ok = c.ok && v >= 1;
            desc->dims[desc->rank++] = (uint32_t)v;
        }
        if (*c.at == ',')
            c.at++;
        else if (*c.at)
            c.ok = false;
    }
    return c.ok && desc->rank >= 1;
}

static bool problem_symbols(const vka_problem *p, const vka_op_class *cls, symbols *s)
{
    const char *names[] = {"B", "H", "Nq", "Nk", "D", "Dv", "Hkv"};
    const uint32_t values[] = {p->batch,
                               p->heads,
                               p->queries,
                               p->keys,
                               p->head_dim,
                               p->value_dim ? p->value_dim : p->head_dim,
                               p->kv_heads ? p->kv_heads : p->heads};
    *s = (symbols){0};
    for (int i = 0; i < 7; i++)
        define(s, names[i], strlen(names[i]), values[i]);
    bool ok = collect(s, cls->output_shape);
    for (uint32_t i = 0; ok && cls->inputs[i].role; i++)
        ok = collect(s, cls->inputs[i].shape);
    return ok;
}

void vka_value_range_place(const vka_value_range *r, float *x, size_t n)
{
    for (size_t i = 0; r && x && r->bounded && i < n; i++) {
        if (isfinite(r->min) && isfinite(r->max)) {
            double t = fmin(fmax(0.5 + 0.5 * tanh(x[i]), 0.01), 0.99);
            x[i] = (float)(r->min + (r->max - r->min) * t);
        } else if (isfinite(r->max))
            x[i] = r->max - fabsf(x[i]) - (r->open_max ? 1e-3f : 0.0f);
        else if (isfinite(r->min))
            x[i] = r->min + fabsf(x[i]) + (r->open_min ? 1e-3f : 0.0f);
    }
}

vka_result vka_op_example_for(const char *op, const vka_problem *problem, vka_op_example *out)
{
    const vka_op_class *cls = op ? vka_op_class_named(op) : NULL;
    if (!cls || !out)
        return cls ? VKA_ERROR_INVALID_ARGUMENT : VKA_ERROR_NOT_FOUND;
    if (!problem || !problem->batch || !problem->heads || !problem->queries || !problem->keys || !problem->head_dim)
        return VKA_ERROR_INVALID_ARGUMENT;
    symbols s;
    if (!problem_symbols(problem, cls, &s))
        return VKA_ERROR_UNSUPPORTED;
    *out = (vka_op_example){0};
    for (uint32_t i = 0; cls->inputs[i].role; i++) {
        const vka_input_info *in = &cls->inputs[i];
        /* a chunk of tokens is posed too; an input that must be another (same_as) is left out */
        if (in->optional && (in->kind != VKA_INPUT_TOKENS || in->same_as))
            continue;
        vka_example_input *e = &out->inputs[out->input_count++];
        *e = (vka_example_input){.role = in->role,
                                 .kind = in->kind,
                                 .in_logits = in->in_logits,
                                 .constant = in->constant,
                                 .values = in->values};
        e->desc.name = in->role;
        e->desc.dtype = in->dtypes & VKA_DTYPE_BIT(VKA_DTYPE_F32) ? VKA_DTYPE_F32 : VKA_DTYPE_I32;
        if (!evaluate(&s, in->shape, &e->desc, &e->query_axis))
            return VKA_ERROR_UNSUPPORTED;
    }
    for (uint32_t i = 0; cls->examples && cls->examples[i].key; i++) {
        vka_tensor_desc value;
        int32_t unused;
        if (i == VKA_MAX_OP_PARAMS || !evaluate(&s, cls->examples[i].value, &value, &unused) || value.rank != 1)
            return VKA_ERROR_UNSUPPORTED;
        out->params[i] = (vka_op_number){cls->examples[i].key, value.dims[0]};
    }
    out->output.name = "out";
    return evaluate(&s, cls->output_shape, &out->output, &out->output_query_axis) ? VKA_SUCCESS : VKA_ERROR_UNSUPPORTED;
}
