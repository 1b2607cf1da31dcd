/* Recursive descent over RFC 8259 JSON, enough for model.json: objects, arrays,
 * strings (escapes \" \\ \/ \b \f \n \r \t; \u kept as '?'), numbers, true, false, null. */
#include "json.h"

#include <stdbool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const char *p, *start;
    char *error;
    size_t error_size;
    int depth;
} reader;

static bool fail(reader *r, const char *what)
{
    if (!r->error[0])
        snprintf(r->error, r->error_size, "%s at byte %zu", what, (size_t)(r->p - r->start));
    return false;
}

static void space(reader *r)
{
    while (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')
        r->p++;
}

static bool value(reader *r, json_value *v);

static bool string(reader *r, char **out)
{
    if (*r->p != '"')
        return fail(r, "expected a string");
    const char *s = ++r->p;
    size_t n = 0;
    while (s[n] && s[n] != '"')
        n += s[n] == '\\' && s[n + 1] ? 2 : 1;
    if (!s[n])
        return fail(r, "unterminated string");
    char *o = malloc(n + 1), *w = o;
    if (!o)
        return fail(r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            c = s[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c == 'f' ? '\f' : c;
            if (c == 'u') { /* not needed by model files: kept visible */
                c = '?';
                i += 4 < n - i ? 4 : n - i - 1;
            }
        }
        *w++ = c;
    }
    *w = '\0';
    r->p = s + n + 1;
    *out = o;
    return true;
}

static bool push(reader *r, json_value *v, json_value *item)
{
    json_value *grown = realloc(v->items, (v->count + 1) * sizeof *grown);
    if (!grown)
        return fail(r, "out of memory");
    v->items = grown;
    v->items[v->count++] = *item;
    return true;
}

static bool container(reader *r, json_value *v, char close)
{
    v->type = close == '}' ? JSON_OBJECT : JSON_ARRAY;
    r->p++;
    space(r);
    if (*r->p == close) {
        r->p++;
        return true;
    }
    for (;;) {
        json_value item = {0};
        space(r);
        if (close == '}') {
            if (!string(r, &item.key))
                return false;
            space(r);
            if (*r->p++ != ':') {
                free(item.key);
                return fail(r, "expected ':'");
            }
        }
        if (!value(r, &item) || !push(r, v, &item)) {
            json_free_members(&item);
            return false;
        }
        space(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p++ == close)
            return true;
        return fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool value(reader *r, json_value *v)
{
    if (++r->depth > 64)
        return fail(r, "nested too deeply");
    space(r);
    bool ok;
    char c = *r->p;
    if (c == '{' || c == '[')
        ok = container(r, v, c == '{' ? '}' : ']');
    else if (c == '"') {
        v->type = JSON_STRING;
        ok = string(r, &v->string);
    } else if (strncmp(r->p, "true", 4) == 0 || strncmp(r->p, "false", 5) == 0) {
        v->type = JSON_BOOL;
        v->number = c == 't';
        r->p += c == 't' ? 4 : 5;
        ok = true;
    } else if (strncmp(r->p, "null", 4) == 0) {
        v->type = JSON_NULL;
        r->p += 4;
        ok = true;
    } else {
        char *end;
        v->type = JSON_NUMBER;
        v->number = strtod(r->p, &end);
        ok = end != r->p && (c == '-' || (c >= '0' && c <= '9'));
        if (ok)
            r->p = end;
        else
            fail(r, "unexpected character");
    }
    r->depth--;
    return ok;
}

json_value *json_parse(const char *text, char *error, size_t error_size)
{
    reader r = {text, text, error, error_size, 0};
    error[0] = '\0';
    json_value *v = calloc(1, sizeof *v);
    bool ok = v && value(&r, v);
    if (ok) {
        space(&r);
        ok = *r.p == '\0' || fail(&r, "text after the value");
    }
    if (!ok) {
        if (!v)
            snprintf(error, error_size, "out of memory");
        json_free(v);
        return NULL;
    }
    return v;
}

void json_free_members(json_value *v)
{
    for (size_t i = 0; i < v->count; i++)
        json_free_members(&v->items[i]);
    free(v->items);
    free(v->string);
    free(v->key);
}

void json_free(json_value *v)
{
    if (v)
        json_free_members(v);
    free(v);
}

const json_value *json_member(const json_value *o, const char *key)
{
    for (size_t i = 0; o && o->type == JSON_OBJECT && i < o->count; i++)
        if (strcmp(o->items[i].key, key) == 0)
            return &o->items[i];
    return NULL;
}
