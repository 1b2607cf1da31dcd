/* Recursive descent over RFC 8259 JSON, strictly: objects (each key once), arrays,
 * strings (no control characters; escapes \" \\ \/ \b \f \n \r \t and \uXXXX, kept
 * as '?' beyond ASCII), numbers by the RFC's grammar (no hex, inf, nan, leading zeros or
 * bare dots; finite), true, false, null; the whole text, NUL bytes refused. */
#include "json.h"

#include <stdbool.h>

#include <ctype.h>
#include <math.h>
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
    while (s[n] && s[n] != '"') {
        if ((unsigned char)s[n] < 0x20)
            return r->p = s + n, fail(r, "a control character in a string");
        n += s[n] == '\\' && s[n + 1] ? 2 : 1;
    }
    if (!s[n])
        return fail(r, "unterminated string");
    char *o = malloc(n + 1), *w = o;
    if (!o)
        return fail(r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            c = s[++i];
            if (c == 'u') {
                unsigned code = 0;
                for (int k = 1; k <= 4; k++) {
                    char h = i + k < n ? s[i + k] : '\0';
                    if (!isxdigit((unsigned char)h)) {
                        free(o);
                        return r->p = s + i, fail(r, "a \\u escape without four hex digits");
                    }
                    code = code * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (h | 0x20) - 'a' + 10);
                }
                i += 4;
                c = code >= 0x20 && code < 0x7f ? (char)code : '?';
            } else if (strchr("\"\\/bfnrt", c) && c) {
                c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c == 'f' ? '\f' : c;
            } else {
                free(o);
                return r->p = s + i, fail(r, "an unknown escape in a string");
            }
        }
        *w++ = c;
    }
    *w = '\0';
    r->p = s + n + 1;
    *out = o;
    return true;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?, finite. */
static bool number(reader *r, double *out)
{
    const char *p = r->p;
    p += *p == '-';
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p))
            p++;
    else
        return fail(r, "unexpected character");
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return fail(r, "a number with no digits after its '.'");
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p += p[1] == '+' || p[1] == '-' ? 2 : 1;
        if (!isdigit((unsigned char)*p))
            return fail(r, "a number with no digits in its exponent");
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (isalnum((unsigned char)*p) || *p == '.')
        return fail(r, "a malformed number (JSON has no hex, leading zeros, inf or nan)");
    *out = strtod(r->p, NULL);
    if (!isfinite(*out))
        return fail(r, "a number too large for a double");
    r->p = p;
    return true;
}

/* true, false or null, ending there. */
static bool literal(reader *r, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(r->p, word, n) != 0 || isalnum((unsigned char)r->p[n]))
        return false;
    r->p += n;
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
            if (json_member(v, item.key)) {
                free(item.key);
                return fail(r, "a key given twice in one object");
            }
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
    } else if (literal(r, "true") || literal(r, "false")) {
        v->type = JSON_BOOL;
        v->number = c == 't';
        ok = true;
    } else if (literal(r, "null")) {
        v->type = JSON_NULL;
        ok = true;
    } else {
        v->type = JSON_NUMBER;
        ok = number(r, &v->number);
    }
    r->depth--;
    return ok;
}

json_value *json_parse(const char *text, size_t length, char *error, size_t error_size)
{
    reader r = {text, text, error, error_size, 0};
    error[0] = '\0';
    if (strlen(text) != length) {
        snprintf(error, error_size, "a NUL byte at byte %zu", strlen(text));
        return NULL;
    }
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
