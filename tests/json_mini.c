#include "json_mini.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *json_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    if (text)
        text[n] = '\0';
    fclose(f);
    return text;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

/* Parses a string at p (which points at '"'); returns the character after it. */
static const char *parse_string(const char *p, char *out, size_t size)
{
    size_t n = 0;
    for (p++; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\' && p[1]) {
            p++;
            c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
        }
        if (n + 1 < size)
            out[n++] = c;
    }
    if (size)
        out[n] = '\0';
    return *p ? p + 1 : p;
}

/* The value of top-level `key`: the text right after its colon. */
static const char *find_value(const char *json, const char *key)
{
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *p = strstr(json, quoted);
    if (!p)
        return NULL;
    p = skip_space(p + strlen(quoted));
    return *p == ':' ? skip_space(p + 1) : NULL;
}

bool json_get_string(const char *json, const char *key, char *out, size_t size)
{
    const char *p = find_value(json, key);
    if (!p || *p != '"')
        return false;
    parse_string(p, out, size);
    return true;
}

bool json_get_number(const char *json, const char *key, double *out)
{
    const char *p = find_value(json, key);
    if (!p)
        return false;
    char *end;
    *out = strtod(p, &end);
    return end != p;
}

static int parse_string_array(const char *p, char **items, int max)
{
    if (!p || *p != '[')
        return -1;
    int n = 0;
    p = skip_space(p + 1);
    while (*p == '"' && n < max) {
        char buf[1024];
        p = skip_space(parse_string(p, buf, sizeof buf));
        items[n] = malloc(strlen(buf) + 1);
        if (!items[n])
            return n;
        strcpy(items[n++], buf);
        if (*p == ',')
            p = skip_space(p + 1);
    }
    return n;
}

int json_get_string_array(const char *json, const char *key, char **items, int max)
{
    return parse_string_array(find_value(json, key), items, max);
}

int json_string_array(const char *json, char **items, int max)
{
    return parse_string_array(skip_space(json), items, max);
}
