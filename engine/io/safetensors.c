/* .safetensors files: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. vkattn reads
 * F32, F16 and BF16 tensors of rank 0..4 (widened to float32 exactly) and writes them.
 *
 * Nothing in a file is trusted: the header length is checked against the file size, the
 * JSON is parsed strictly (only the structure the format defines, names valid UTF-8,
 * no NUL), and every tensor's range must lie inside the data, match its shape and dtype,
 * and overlap no other tensor. A malformed file gets VKA_ERROR_FILE_FORMAT with a message
 * naming the file and the problem. */
#include "../common/common.h"
#include "../common/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER_BYTES (100u << 20) /* the format's own limit */
#define MAX_NAME_BYTES 4096

typedef struct st_entry {
    char *name;
    vka_file_dtype dtype;
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
    uint64_t elements;
    uint64_t begin, end; /* byte range within the data */
} st_entry;

struct vka_safetensors {
    vka_context *ctx;
    char *path;
    uint64_t data_start, data_bytes;
    st_entry *entries;
    uint32_t count, capacity;
};

static const char *const dtype_names[] = {"F32", "F16", "BF16"};
static const uint32_t dtype_sizes[] = {4, 2, 2};

/* ------------------------------------------------------------------ the JSON header */

typedef struct json_reader {
    const char *start, *at, *end;
    vka_context *ctx;
    const char *path;
} json_reader;

static vka_result malformed(const json_reader *j, const char *what)
{
    return vka_fail(j->ctx, VKA_ERROR_FILE_FORMAT, "%s: malformed .safetensors header: %s (at byte %zu of the header)",
                    j->path, what, (size_t)(j->at - j->start));
}

static void skip_space(json_reader *j)
{
    while (j->at < j->end && (*j->at == ' ' || *j->at == '\t' || *j->at == '\n' || *j->at == '\r'))
        j->at++;
}

static bool take(json_reader *j, char c)
{
    skip_space(j);
    if (j->at < j->end && *j->at == c) {
        j->at++;
        return true;
    }
    return false;
}

/* Appends code point cp as UTF-8. */
static bool put_utf8(char *out, size_t size, size_t *n, uint32_t cp)
{
    unsigned char b[4];
    size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (len == 1)
        b[0] = (unsigned char)cp;
    else {
        for (size_t i = len - 1; i > 0; i--, cp >>= 6)
            b[i] = (unsigned char)(0x80 | (cp & 0x3F));
        b[0] = (unsigned char)((len == 2 ? 0xC0 : len == 3 ? 0xE0 : 0xF0) | cp);
    }
    if (*n + len >= size)
        return false;
    memcpy(out + *n, b, len);
    *n += len;
    return true;
}

/* Length of the valid UTF-8 sequence at s (up to end), 0 if invalid. */
static size_t utf8_length(const unsigned char *s, const unsigned char *end)
{
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xE0) == 0xC0 ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (!len || (size_t)(end - s) < len)
        return 0;
    uint32_t cp = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    bool overlong = cp < least[len], surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    return overlong || surrogate || cp > 0x10FFFF ? 0 : len;
}

static bool hex4(json_reader *j, uint32_t *v)
{
    if (j->end - j->at < 4)
        return false;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *j->at++;
        uint32_t d = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
                     : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return false;
        *v = *v << 4 | d;
    }
    return true;
}

/* An escape after the backslash, as UTF-8 into out. */
static vka_result read_escape(json_reader *j, char *out, size_t size, size_t *n)
{
    static const char plain[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
    const char *hit = j->at < j->end ? strchr(plain, *j->at) : NULL;
    if (hit && *hit) {
        j->at++;
        return put_utf8(out, size, n, (unsigned char)decoded[hit - plain]) ? VKA_SUCCESS
                                                                           : malformed(j, "a string is too long");
    }
    uint32_t cp, low;
    if (j->at >= j->end || *j->at++ != 'u' || !hex4(j, &cp))
        return malformed(j, "a bad escape in a string");
    if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
        if (j->end - j->at < 2 || j->at[0] != '\\' || j->at[1] != 'u')
            return malformed(j, "a lone surrogate in a string");
        j->at += 2;
        if (!hex4(j, &low) || low < 0xDC00 || low > 0xDFFF)
            return malformed(j, "a lone surrogate in a string");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
        return malformed(j, cp ? "a lone surrogate in a string" : "a NUL character in a string");
    }
    return put_utf8(out, size, n, cp) ? VKA_SUCCESS : malformed(j, "a string is too long");
}

/* A JSON string, decoded into out (NUL-terminated); raw bytes must be valid UTF-8. */
static vka_result read_string(json_reader *j, char *out, size_t size)
{
    if (!take(j, '"'))
        return malformed(j, "expected a string");
    size_t n = 0;
    while (j->at < j->end && *j->at != '"') {
        const unsigned char *s = (const unsigned char *)j->at;
        if (*s < 0x20)
            return malformed(j, "a control character in a string");
        if (*s == '\\') {
            j->at++;
            vka_result r = read_escape(j, out, size, &n);
            if (r != VKA_SUCCESS)
                return r;
            continue;
        }
        size_t len = utf8_length(s, (const unsigned char *)j->end);
        if (!len)
            return malformed(j, "a string that is not valid UTF-8");
        if (n + len >= size)
            return malformed(j, "a string is too long");
        memcpy(out + n, s, len);
        n += len;
        j->at += len;
    }
    if (j->at >= j->end)
        return malformed(j, "an unterminated string");
    j->at++;
    out[n] = '\0';
    return VKA_SUCCESS;
}

static vka_result read_uint(json_reader *j, uint64_t *v)
{
    skip_space(j);
    if (j->at >= j->end || *j->at < '0' || *j->at > '9')
        return malformed(j, "expected a non-negative integer");
    *v = 0;
    while (j->at < j->end && *j->at >= '0' && *j->at <= '9') {
        uint64_t d = (uint64_t)(*j->at++ - '0');
        if (*v > (UINT64_MAX - d) / 10)
            return malformed(j, "an integer too large");
        *v = *v * 10 + d;
    }
    if (j->at < j->end && (*j->at == '.' || *j->at == 'e' || *j->at == 'E'))
        return malformed(j, "expected an integer, found a fraction");
    return VKA_SUCCESS;
}

/* [a, b, ...] of at most `most` non-negative integers. */
static vka_result read_uint_array(json_reader *j, uint64_t *values, uint32_t most, uint32_t *count, const char *what)
{
    *count = 0;
    if (!take(j, '['))
        return malformed(j, what);
    if (take(j, ']'))
        return VKA_SUCCESS;
    do {
        uint64_t v = 0;
        vka_result r = read_uint(j, &v);
        if (r != VKA_SUCCESS)
            return r;
        if (*count == most)
            return malformed(j, what);
        values[(*count)++] = v;
    } while (take(j, ','));
    return take(j, ']') ? VKA_SUCCESS : malformed(j, what);
}

/* "__metadata__": an object of string values, checked and dropped. */
static vka_result skip_metadata(json_reader *j)
{
    char text[MAX_NAME_BYTES * 4]; /* metadata values are checked, not kept */
    if (!take(j, '{'))
        return malformed(j, "__metadata__ must be an object of strings");
    if (take(j, '}'))
        return VKA_SUCCESS;
    do {
        vka_result r = read_string(j, text, sizeof text);
        if (r == VKA_SUCCESS && !take(j, ':'))
            r = malformed(j, "expected ':'");
        if (r == VKA_SUCCESS)
            r = read_string(j, text, sizeof text);
        if (r != VKA_SUCCESS)
            return r;
    } while (take(j, ','));
    return take(j, '}') ? VKA_SUCCESS : malformed(j, "expected '}' after __metadata__");
}

static vka_result read_dtype(json_reader *j, st_entry *e)
{
    char dtype[32];
    vka_result r = read_string(j, dtype, sizeof dtype);
    if (r != VKA_SUCCESS)
        return r;
    for (uint32_t i = 0; i < VKA_ARRAY_LEN(dtype_names); i++)
        if (strcmp(dtype, dtype_names[i]) == 0) {
            e->dtype = (vka_file_dtype)i;
            return VKA_SUCCESS;
        }
    return vka_fail(j->ctx, VKA_ERROR_FILE_FORMAT, "%s: tensor '%s' has dtype '%s'; vkattn reads F32, F16 and BF16",
                    j->path, e->name, dtype);
}

static vka_result read_shape(json_reader *j, st_entry *e)
{
    uint64_t dims[VKA_MAX_RANK + 1];
    uint32_t rank;
    vka_result r = read_uint_array(j, dims, VKA_MAX_RANK + 1, &rank, "shape must be a list of integers");
    if (r != VKA_SUCCESS)
        return r;
    if (rank > VKA_MAX_RANK)
        return vka_fail(j->ctx, VKA_ERROR_FILE_FORMAT, "%s: tensor '%s' has rank above %d, which vkattn does not take",
                        j->path, e->name, VKA_MAX_RANK);
    e->rank = rank;
    e->elements = 1;
    for (uint32_t i = 0; i < rank; i++) {
        if (dims[i] > UINT32_MAX || (dims[i] && e->elements > UINT64_MAX / 4 / dims[i]))
            return vka_fail(j->ctx, VKA_ERROR_FILE_FORMAT, "%s: tensor '%s' has a shape too large", j->path, e->name);
        e->dims[i] = (uint32_t)dims[i];
        e->elements *= dims[i];
    }
    return VKA_SUCCESS;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [begin, end]} in any order. */
static vka_result read_tensor(json_reader *j, st_entry *e)
{
    char key[32];
    bool seen[3] = {false, false, false};
    if (!take(j, '{'))
        return malformed(j, "a tensor entry must be an object");
    do {
        vka_result r = read_string(j, key, sizeof key);
        if (r == VKA_SUCCESS && !take(j, ':'))
            r = malformed(j, "expected ':'");
        int which = strcmp(key, "dtype") == 0          ? 0
                    : strcmp(key, "shape") == 0        ? 1
                    : strcmp(key, "data_offsets") == 0 ? 2
                                                       : -1;
        if (r == VKA_SUCCESS && (which < 0 || seen[which]))
            r = malformed(j, which < 0 ? "an unknown key in a tensor entry" : "a key given twice in a tensor entry");
        if (r != VKA_SUCCESS)
            return r;
        seen[which] = true;
        if (which == 0)
            r = read_dtype(j, e);
        else if (which == 1)
            r = read_shape(j, e);
        else {
            uint64_t offsets[2] = {0, 0};
            uint32_t n;
            r = read_uint_array(j, offsets, 2, &n, "data_offsets must be [begin, end]");
            if (r == VKA_SUCCESS && n != 2)
                r = malformed(j, "data_offsets must be [begin, end]");
            e->begin = offsets[0], e->end = offsets[1];
        }
        if (r != VKA_SUCCESS)
            return r;
    } while (take(j, ','));
    if (!take(j, '}'))
        return malformed(j, "expected '}' after a tensor entry");
    if (!seen[0] || !seen[1] || !seen[2])
        return vka_fail(j->ctx, VKA_ERROR_FILE_FORMAT, "%s: tensor '%s' lacks %s", j->path, e->name,
                        !seen[0]   ? "dtype"
                        : !seen[1] ? "shape"
                                   : "data_offsets");
    return VKA_SUCCESS;
}

static vka_result add_entry(vka_safetensors *f, const char *name, st_entry **out)
{
    for (uint32_t i = 0; i < f->count; i++)
        if (strcmp(f->entries[i].name, name) == 0)
            return vka_fail(f->ctx, VKA_ERROR_FILE_FORMAT, "%s: tensor '%s' is named twice", f->path, name);
    if (f->count == f->capacity) {
        uint32_t capacity = f->capacity ? 2 * f->capacity : 16;
        st_entry *grown = realloc(f->entries, capacity * sizeof *grown);
        if (!grown)
            return vka_fail(f->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", f->path);
        f->entries = grown;
        f->capacity = capacity;
    }
    st_entry *e = &f->entries[f->count];
    *e = (st_entry){.name = vka_strdup(name)};
    if (!e->name)
        return vka_fail(f->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", f->path);
    f->count++;
    *out = e;
    return VKA_SUCCESS;
}

static vka_result parse_header(vka_safetensors *f, const char *text, size_t length)
{
    json_reader j = {.start = text, .at = text, .end = text + length, .ctx = f->ctx, .path = f->path};
    char name[MAX_NAME_BYTES];
    if (!take(&j, '{'))
        return malformed(&j, "the header is not a JSON object");
    if (!take(&j, '}')) {
        do {
            vka_result r = read_string(&j, name, sizeof name);
            if (r == VKA_SUCCESS && !take(&j, ':'))
                r = malformed(&j, "expected ':'");
            st_entry *e = NULL;
            if (r == VKA_SUCCESS)
                r = strcmp(name, "__metadata__") == 0 ? skip_metadata(&j) : add_entry(f, name, &e);
            if (r == VKA_SUCCESS && e)
                r = read_tensor(&j, e);
            if (r != VKA_SUCCESS)
                return r;
        } while (take(&j, ','));
        if (!take(&j, '}'))
            return malformed(&j, "expected '}' at the end of the header");
    }
    skip_space(&j);
    return j.at == j.end ? VKA_SUCCESS : malformed(&j, "text after the header's object");
}

/* ------------------------------------------------------------------ ranges */

static int by_begin(const void *a, const void *b)
{
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Every range inside the data, of its shape's size, and no two overlapping. */
static vka_result check_ranges(vka_safetensors *f)
{
    for (uint32_t i = 0; i < f->count; i++) {
        const st_entry *e = &f->entries[i];
        if (e->begin > e->end || e->end > f->data_bytes)
            return vka_fail(f->ctx, VKA_ERROR_FILE_FORMAT,
                            "%s: tensor '%s' has data_offsets [%llu, %llu] outside the %llu bytes of data", f->path,
                            e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
                            (unsigned long long)f->data_bytes);
        if (e->end - e->begin != e->elements * dtype_sizes[e->dtype])
            return vka_fail(f->ctx, VKA_ERROR_FILE_FORMAT,
                            "%s: tensor '%s' holds %llu bytes but its shape and dtype %s need %llu", f->path, e->name,
                            (unsigned long long)(e->end - e->begin), dtype_names[e->dtype],
                            (unsigned long long)(e->elements * dtype_sizes[e->dtype]));
    }
    const st_entry **sorted = malloc((f->count ? f->count : 1) * sizeof *sorted);
    if (!sorted)
        return vka_fail(f->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", f->path);
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->count; i++)
        if (f->entries[i].end > f->entries[i].begin) /* empty tensors occupy nothing */
            sorted[n++] = &f->entries[i];
    qsort(sorted, n, sizeof *sorted, by_begin);
    vka_result r = VKA_SUCCESS;
    for (uint32_t i = 1; i < n && r == VKA_SUCCESS; i++)
        if (sorted[i]->begin < sorted[i - 1]->end)
            r = vka_fail(f->ctx, VKA_ERROR_FILE_FORMAT, "%s: tensors '%s' and '%s' overlap", f->path,
                         sorted[i - 1]->name, sorted[i]->name);
    free(sorted);
    return r;
}

/* ------------------------------------------------------------------ opening */

static vka_result read_header(vka_safetensors *f, FILE *file)
{
    unsigned char prefix[8];
    if (fseek(file, 0, SEEK_END) != 0)
        return vka_fail(f->ctx, VKA_ERROR_IO, "%s: cannot seek: %s", f->path, strerror(errno));
    long size = ftell(file);
    rewind(file);
    if (size < 8 || fread(prefix, 1, 8, file) != 8)
        return vka_fail(f->ctx, VKA_ERROR_FILE_FORMAT,
                        "%s: not a .safetensors file: shorter than its 8-byte header "
                        "length",
                        f->path);
    uint64_t length = 0;
    for (int i = 7; i >= 0; i--)
        length = length << 8 | prefix[i];
    if (length > MAX_HEADER_BYTES || length > (uint64_t)size - 8)
        return vka_fail(f->ctx, VKA_ERROR_FILE_FORMAT,
                        "%s: not a .safetensors file: the header claims %llu bytes but the file has %lld after "
                        "the length (the format allows at most 100 MiB)",
                        f->path, (unsigned long long)length, (long long)size - 8);
    char *text = malloc(length + 1);
    if (!text)
        return vka_fail(f->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", f->path);
    vka_result r = fread(text, 1, length, file) == length
                       ? VKA_SUCCESS
                       : vka_fail(f->ctx, VKA_ERROR_IO, "%s: cannot read the header", f->path);
    f->data_start = 8 + length;
    f->data_bytes = (uint64_t)size - f->data_start;
    if (r == VKA_SUCCESS)
        r = parse_header(f, text, length);
    free(text);
    return r == VKA_SUCCESS ? check_ranges(f) : r;
}

void vka_safetensors_close(vka_safetensors *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->count; i++)
        free(f->entries[i].name);
    free(f->entries);
    free(f->path);
    free(f);
}

vka_result vka_safetensors_open(vka_context *ctx, const char *path, vka_safetensors **out)
{
    if (!path || !out)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_safetensors_open: path and out must not be NULL");
    *out = NULL;
    vka_safetensors *f = calloc(1, sizeof *f);
    if (!f || !(f->path = vka_strdup(path))) {
        free(f);
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory opening %s", path);
    }
    f->ctx = ctx;
    FILE *file = fopen(path, "rb");
    vka_result r = file ? read_header(f, file) : vka_fail(ctx, VKA_ERROR_IO, "%s: %s", path, strerror(errno));
    if (file)
        fclose(file);
    if (r != VKA_SUCCESS) {
        vka_safetensors_close(f);
        return r;
    }
    *out = f;
    return VKA_SUCCESS;
}

uint32_t vka_safetensors_count(const vka_safetensors *f)
{
    return f ? f->count : 0;
}

static void describe(const st_entry *e, vka_safetensors_entry *out)
{
    *out = (vka_safetensors_entry){.name = e->name, .dtype = e->dtype, .rank = e->rank, .elements = e->elements};
    memcpy(out->dims, e->dims, sizeof out->dims);
}

vka_result vka_safetensors_entry_at(const vka_safetensors *f, uint32_t index, vka_safetensors_entry *out)
{
    if (!f || !out || index >= f->count)
        return vka_fail(f ? f->ctx : NULL, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_safetensors_entry_at: no entry %u (the file has %u)", index, f ? f->count : 0);
    describe(&f->entries[index], out);
    return VKA_SUCCESS;
}

static const st_entry *find(const vka_safetensors *f, const char *name)
{
    for (uint32_t i = 0; name && i < f->count; i++)
        if (strcmp(f->entries[i].name, name) == 0)
            return &f->entries[i];
    return NULL;
}

vka_result vka_safetensors_find(const vka_safetensors *f, const char *name, vka_safetensors_entry *out)
{
    if (!f || !out)
        return vka_fail(f ? f->ctx : NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_safetensors_find: NULL argument");
    const st_entry *e = find(f, name);
    if (!e)
        return vka_fail(f->ctx, VKA_ERROR_NOT_FOUND, "%s has no tensor named '%s'", f->path, name ? name : "(null)");
    describe(e, out);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ values */

static void widen(vka_file_dtype dtype, const unsigned char *raw, uint64_t count, float *out)
{
    for (uint64_t i = 0; i < count; i++) {
        const unsigned char *b = raw + i * dtype_sizes[dtype];
        uint32_t bits;
        if (dtype == VKA_FILE_F32) {
            bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&out[i], &bits, 4);
        } else if (dtype == VKA_FILE_BF16) {
            bits = ((uint32_t)b[0] | (uint32_t)b[1] << 8) << 16;
            memcpy(&out[i], &bits, 4);
        } else {
            out[i] = vka_half_to_float((uint16_t)(b[0] | b[1] << 8));
        }
    }
}

/* The entry's raw bytes, read now (the caller frees *raw). */
static vka_result read_raw(vka_safetensors *f, const char *name, size_t count, const st_entry **entry,
                           unsigned char **raw)
{
    const st_entry *e = find(f, name);
    if (!e)
        return vka_fail(f->ctx, VKA_ERROR_NOT_FOUND, "%s has no tensor named '%s'", f->path, name ? name : "(null)");
    if (count != e->elements)
        return vka_fail(f->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: tensor '%s' has %llu elements; %zu asked for", f->path,
                        name, (unsigned long long)e->elements, count);
    size_t bytes = (size_t)(e->end - e->begin);
    *raw = malloc(bytes ? bytes : 1);
    if (!*raw)
        return vka_fail(f->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading '%s' from %s", name, f->path);
    FILE *file = fopen(f->path, "rb");
    bool ok =
        file && fseek(file, (long)(f->data_start + e->begin), SEEK_SET) == 0 && fread(*raw, 1, bytes, file) == bytes;
    if (file)
        fclose(file);
    *entry = e;
    if (ok)
        return VKA_SUCCESS;
    free(*raw);
    *raw = NULL;
    return vka_fail(f->ctx, VKA_ERROR_IO, "%s: cannot read tensor '%s' (was the file changed?)", f->path, name);
}

vka_result vka_safetensors_read_f32(vka_safetensors *f, const char *name, float *out, size_t count)
{
    if (!f || !out)
        return vka_fail(f ? f->ctx : NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_safetensors_read_f32: NULL argument");
    const st_entry *e = NULL;
    unsigned char *raw = NULL;
    vka_result r = read_raw(f, name, count, &e, &raw);
    if (r == VKA_SUCCESS)
        widen(e->dtype, raw, e->elements, out);
    free(raw);
    return r;
}

vka_result vka_safetensors_read_f16(vka_safetensors *f, const char *name, uint16_t *out, size_t count)
{
    if (!f || !out)
        return vka_fail(f ? f->ctx : NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_safetensors_read_f16: NULL argument");
    const st_entry *e = NULL;
    unsigned char *raw = NULL;
    vka_result r = read_raw(f, name, count, &e, &raw);
    for (uint64_t i = 0; r == VKA_SUCCESS && i < e->elements; i++) {
        float value;
        if (e->dtype == VKA_FILE_F16) { /* as stored: no rounding */
            out[i] = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
            continue;
        }
        widen(e->dtype, raw + i * dtype_sizes[e->dtype], 1, &value);
        out[i] = vka_float_to_half(value);
    }
    free(raw);
    return r;
}

vka_result vka_graph_constant_from_file(vka_graph *graph, vka_safetensors *f, const char *name, vka_tensor *out)
{
    return vka_graph_constant_from_file_as(graph, f, name, VKA_DTYPE_DEFAULT, out);
}

vka_result vka_graph_constant_from_file_as(vka_graph *graph, vka_safetensors *f, const char *name, vka_dtype dtype,
                                           vka_tensor *out)
{
    if (!graph || !f || !name || !out)
        return vka_fail(f ? f->ctx : NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_graph_constant_from_file: NULL argument");
    if (dtype != VKA_DTYPE_DEFAULT && dtype != VKA_DTYPE_F32 && dtype != VKA_DTYPE_F16)
        return vka_fail(f->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_constant_from_file '%s': a weight is float32 or float16, not dtype %d", name,
                        (int)dtype);
    const st_entry *e = find(f, name);
    if (!e)
        return vka_fail(f->ctx, VKA_ERROR_NOT_FOUND, "%s has no tensor named '%s'", f->path, name);
    if (e->rank == 0 || e->elements == 0)
        return vka_fail(f->ctx, VKA_ERROR_UNSUPPORTED,
                        "%s: tensor '%s' is %s; a graph constant needs rank 1..4 and "
                        "at least one element",
                        f->path, name, e->rank ? "empty" : "a scalar (rank 0)");
    if (dtype == VKA_DTYPE_DEFAULT) /* F16 stays f16 (no widening copy); BF16 and F32 are f32 */
        dtype = e->dtype == VKA_FILE_F16 ? VKA_DTYPE_F16 : VKA_DTYPE_F32;
    size_t bytes = (size_t)e->elements * vka_dtype_bytes(dtype);
    void *values = malloc(bytes);
    if (!values)
        return vka_fail(f->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading '%s'", name);
    vka_result r = dtype == VKA_DTYPE_F16 ? vka_safetensors_read_f16(f, name, values, e->elements)
                                          : vka_safetensors_read_f32(f, name, values, e->elements);
    vka_tensor_desc desc = {.name = name, .dtype = dtype, .rank = e->rank};
    memcpy(desc.dims, e->dims, sizeof desc.dims);
    if (r == VKA_SUCCESS)
        r = vka_graph_constant(graph, &desc, values, bytes, out);
    free(values);
    return r;
}

/* ------------------------------------------------------------------ writing */

static uint16_t float_to_bf16(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7F800000) == 0x7F800000 && (bits & 0x7FFFFF))
        return (uint16_t)(bits >> 16 | 0x40);
    return (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

static void narrow(vka_file_dtype dtype, const float *in, uint64_t count, unsigned char *raw)
{
    for (uint64_t i = 0; i < count; i++) {
        unsigned char *b = raw + i * dtype_sizes[dtype];
        uint32_t bits;
        if (dtype == VKA_FILE_F32) {
            memcpy(&bits, &in[i], 4);
            b[0] = (unsigned char)bits, b[1] = (unsigned char)(bits >> 8), b[2] = (unsigned char)(bits >> 16),
            b[3] = (unsigned char)(bits >> 24);
        } else {
            uint16_t h = dtype == VKA_FILE_F16 ? vka_float_to_half(in[i]) : float_to_bf16(in[i]);
            b[0] = (unsigned char)h, b[1] = (unsigned char)(h >> 8);
        }
    }
}

static uint64_t entry_elements(const vka_safetensors_write *w)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < w->rank; i++)
        n *= w->dims[i];
    return n;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes (as the reference writer does). */
static char *make_header(const vka_safetensors_write *tensors, uint32_t count, uint64_t *length)
{
    size_t size = 64 + (size_t)count * 256, used = 0;
    for (uint32_t i = 0; i < count; i++)
        size += strlen(tensors[i].name) * 6;
    char *text = malloc(size);
    if (!text)
        return NULL;
    used += (size_t)snprintf(text + used, size - used, "{");
    uint64_t offset = 0;
    for (uint32_t i = 0; i < count; i++) {
        const vka_safetensors_write *w = &tensors[i];
        uint64_t bytes = entry_elements(w) * dtype_sizes[w->dtype];
        used += (size_t)snprintf(text + used, size - used, "%s\"", i ? "," : "");
        for (const unsigned char *c = (const unsigned char *)w->name; *c; c++)
            used += (size_t)snprintf(text + used, size - used,
                                     *c < 0x20                 ? "\\u%04x"
                                     : *c == '"' || *c == '\\' ? "\\%c"
                                                               : "%c",
                                     *c);
        used += (size_t)snprintf(text + used, size - used, "\":{\"dtype\":\"%s\",\"shape\":[", dtype_names[w->dtype]);
        for (uint32_t d = 0; d < w->rank; d++)
            used += (size_t)snprintf(text + used, size - used, "%s%u", d ? "," : "", w->dims[d]);
        used += (size_t)snprintf(text + used, size - used, "],\"data_offsets\":[%llu,%llu]}",
                                 (unsigned long long)offset, (unsigned long long)(offset + bytes));
        offset += bytes;
    }
    used += (size_t)snprintf(text + used, size - used, "}");
    while (used % 8)
        text[used++] = ' ';
    *length = used;
    return text;
}

static vka_result check_writes(vka_context *ctx, const char *path, const vka_safetensors_write *tensors, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        const vka_safetensors_write *w = &tensors[i];
        if (!w->name || !w->name[0] || (!w->data && entry_elements(w)) || w->rank > VKA_MAX_RANK ||
            (unsigned)w->dtype > VKA_FILE_BF16)
            return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT,
                            "writing %s: tensor %u needs a name, data, rank 0..4 and dtype F32, F16 or BF16", path, i);
        if (strlen(w->name) >= MAX_NAME_BYTES || strcmp(w->name, "__metadata__") == 0)
            return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "writing %s: tensor name '%.40s' is not allowed", path,
                            w->name);
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(tensors[k].name, w->name) == 0)
                return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "writing %s: tensor '%s' is given twice", path,
                                w->name);
    }
    return VKA_SUCCESS;
}

vka_result vka_safetensors_save(vka_context *ctx, const char *path, const vka_safetensors_write *tensors,
                                uint32_t count)
{
    if (!path || (!tensors && count))
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_safetensors_save: path and tensors must not be NULL");
    vka_result r = check_writes(ctx, path, tensors, count);
    if (r != VKA_SUCCESS)
        return r;
    uint64_t length;
    char *header = make_header(tensors, count, &length);
    if (!header)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory writing %s", path);
    FILE *file = fopen(path, "wb");
    bool ok = file != NULL;
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++)
        prefix[i] = (unsigned char)(length >> (8 * i));
    ok = ok && fwrite(prefix, 1, 8, file) == 8 && fwrite(header, 1, length, file) == length;
    for (uint32_t i = 0; ok && i < count; i++) {
        uint64_t n = entry_elements(&tensors[i]);
        unsigned char *raw = malloc(n * dtype_sizes[tensors[i].dtype] + 1);
        ok = raw != NULL;
        if (ok) {
            narrow(tensors[i].dtype, tensors[i].data, n, raw);
            ok = fwrite(raw, 1, n * dtype_sizes[tensors[i].dtype], file) == n * dtype_sizes[tensors[i].dtype];
        }
        free(raw);
    }
    if (file && fclose(file) != 0)
        ok = false;
    free(header);
    return ok ? VKA_SUCCESS : vka_fail(ctx, VKA_ERROR_IO, "cannot write %s: %s", path, strerror(errno));
}
