/* A small JSON reader for model descriptions: the whole document as a tree of values. */
#ifndef VKATTN_SAMPLES_JSON_H
#define VKATTN_SAMPLES_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value json_value;
struct json_value {
    json_type type;
    double number;     /* JSON_NUMBER, JSON_BOOL (0 or 1) */
    char *string;      /* JSON_STRING; the key of an object member */
    char *key;         /* set on the members of an object */
    json_value *items; /* JSON_ARRAY elements, JSON_OBJECT members */
    size_t count;
};

/* Parses text; NULL on a syntax error, with where and what in `error`. */
/* `text` holds `length` bytes and a NUL after them. */
json_value *json_parse(const char *text, size_t length, char *error, size_t error_size);
void json_free(json_value *v);
/* Frees what a value holds (not the value itself). */
void json_free_members(json_value *v);
/* The member `key` of an object, or NULL. */
const json_value *json_member(const json_value *object, const char *key);

#endif
