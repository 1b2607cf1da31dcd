/* .npy tensors (NumPy format 1.0–3.0): little-endian float32 or int32, C order, rank 1..4.
 * Every malformed file gets VKA_ERROR_FILE_FORMAT with a message that names the file
 * and what is wrong; nothing is trusted before it is checked against the file's size. */
#include "../common/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "\x93NUMPY"
#define MAX_HEADER (1u << 20)

typedef struct npy_header {
    vka_dtype dtype;
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
} npy_header;

static vka_result bad(vka_context *ctx, const char *path, const char *what)
{
    return vka_fail(ctx, VKA_ERROR_FILE_FORMAT, "%s: not a usable .npy file: %s", path, what);
}

/* The header is a Python dict literal, {'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), }, read by a small parser of exactly that grammar (as numpy's
 * literal_eval would, with its rules: the three keys, each once, nothing else). */
typedef struct dict_cursor {
    const char *at;
    const char *error; /* the first thing wrong */
} dict_cursor;

static void skip_space(dict_cursor *c)
{
    while (*c->at == ' ' || *c->at == '\t' || *c->at == '\n' || *c->at == '\r')
        c->at++;
}

static bool expect_char(dict_cursor *c, char ch, const char *what)
{
    skip_space(c);
    if (*c->at != ch) {
        c->error = c->error ? c->error : what;
        return false;
    }
    c->at++;
    return true;
}

/* A quoted string without escapes into out (NUL-terminated). */
static bool string_literal(dict_cursor *c, char *out, size_t size)
{
    skip_space(c);
    char quote = *c->at;
    if (quote != '\'' && quote != '"')
        return (c->error = "a key or value that is not a quoted string"), false;
    size_t n = 0;
    for (c->at++; *c->at != quote; c->at++) {
        if (!*c->at || *c->at == '\\' || *c->at == '\n' || n + 1 >= size)
            return (c->error = "an unterminated, escaped or over-long string"), false;
        out[n++] = *c->at;
    }
    c->at++;
    out[n] = '\0';
    return true;
}

static bool word(dict_cursor *c, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(c->at, w, n) != 0 || isalnum((unsigned char)c->at[n]) || c->at[n] == '_')
        return false;
    c->at += n;
    return true;
}

/* ( INT, INT, ... ) with an optional trailing comma; a 1-tuple needs its comma. */
static bool shape_tuple(dict_cursor *c, npy_header *h)
{
    if (!expect_char(c, '(', "'shape' is not a tuple"))
        return false;
    h->rank = 0;
    bool comma = false;
    for (;;) {
        skip_space(c);
        if (*c->at == ')')
            break;
        if (h->rank && !comma)
            return (c->error = "the shape's integers are not separated by commas"), false;
        if (!isdigit((unsigned char)*c->at) || (c->at[0] == '0' && isdigit((unsigned char)c->at[1])))
            return (c->error = "the shape holds something other than integers"), false;
        errno = 0;
        char *end;
        unsigned long long dim = strtoull(c->at, &end, 10);
        if (errno == ERANGE || dim == 0 || dim > UINT32_MAX)
            return (c->error = "a dimension is 0 or too large"), false;
        if (h->rank == VKA_MAX_RANK)
            return (c->error = "more than 4 dimensions"), false;
        h->dims[h->rank++] = (uint32_t)dim;
        c->at = end;
        skip_space(c);
        comma = *c->at == ',';
        c->at += comma;
    }
    c->at++;
    if (h->rank == 1 && !comma)
        return (c->error = "'shape' is a parenthesised integer, not a tuple"), false;
    return true;
}

static vka_result parse_header(vka_context *ctx, const char *path, const char *header, npy_header *h)
{
    dict_cursor c = {header, NULL};
    bool seen[3] = {false, false, false}, fortran = false;
    char key[32], descr[32] = "";
    if (!expect_char(&c, '{', "the header is not a dict"))
        return bad(ctx, path, c.error);
    for (;;) {
        skip_space(&c);
        if (*c.at == '}')
            break;
        if (!string_literal(&c, key, sizeof key) || !expect_char(&c, ':', "a key without ':'"))
            return bad(ctx, path, c.error);
        int k = strcmp(key, "descr") == 0           ? 0
                : strcmp(key, "fortran_order") == 0 ? 1
                : strcmp(key, "shape") == 0         ? 2
                                                    : -1;
        if (k < 0)
            return vka_fail(ctx, VKA_ERROR_FILE_FORMAT, "%s: not a usable .npy file: unknown header key '%s'", path,
                            key);
        if (seen[k])
            return vka_fail(ctx, VKA_ERROR_FILE_FORMAT, "%s: not a usable .npy file: header key '%s' given twice", path,
                            key);
        seen[k] = true;
        skip_space(&c);
        bool ok = k == 0   ? string_literal(&c, descr, sizeof descr)
                  : k == 1 ? (fortran = word(&c, "True")) || word(&c, "False") ||
                                 (c.error = "'fortran_order' is neither True nor False", false)
                           : shape_tuple(&c, h);
        if (!ok)
            return bad(ctx, path, c.error);
        skip_space(&c);
        if (*c.at == ',')
            c.at++;
        else if (*c.at != '}')
            return bad(ctx, path, "the header's entries are not separated by commas");
    }
    c.at++;
    skip_space(&c);
    if (*c.at)
        return bad(ctx, path, "text after the header's dict");
    static const char *const names[] = {"descr", "fortran_order", "shape"};
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return vka_fail(ctx, VKA_ERROR_FILE_FORMAT, "%s: not a usable .npy file: the header has no '%s'", path,
                            names[k]);
    if (fortran)
        return vka_fail(ctx, VKA_ERROR_FILE_FORMAT, "%s: Fortran-order arrays are not supported; save C order", path);
    if (strcmp(descr, "<f4") == 0)
        h->dtype = VKA_DTYPE_F32;
    else if (strcmp(descr, "<f2") == 0)
        h->dtype = VKA_DTYPE_F16;
    else if (strcmp(descr, "<i4") == 0)
        h->dtype = VKA_DTYPE_I32;
    else
        return vka_fail(ctx, VKA_ERROR_FILE_FORMAT,
                        "%s: dtype '%s' is not supported; vkattn reads float32 ('<f4'), float16 ('<f2') and int32 "
                        "('<i4')",
                        path, descr);
    if (h->rank == 0)
        return bad(ctx, path, "a scalar (shape ()); vkattn needs rank 1..4");
    return VKA_SUCCESS;
}

static vka_result read_header(vka_context *ctx, const char *path, FILE *f, npy_header *h)
{
    unsigned char pre[10];
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, MAGIC, 6) != 0)
        return bad(ctx, path, "no NumPy magic string");
    uint32_t header_len;
    if (pre[6] == 1) {
        if (fread(pre + 8, 1, 2, f) != 2)
            return bad(ctx, path, "truncated header");
        header_len = pre[8] | (uint32_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        unsigned char len[4];
        if (fread(len, 1, 4, f) != 4)
            return bad(ctx, path, "truncated header");
        header_len = len[0] | (uint32_t)len[1] << 8 | (uint32_t)len[2] << 16 | (uint32_t)len[3] << 24;
    } else {
        return bad(ctx, path, "unknown format version");
    }
    if (header_len > MAX_HEADER)
        return bad(ctx, path, "header larger than 1 MiB");
    char *header = malloc(header_len + 1);
    if (!header)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", path);
    vka_result r = VKA_SUCCESS;
    if (fread(header, 1, header_len, f) != header_len)
        r = bad(ctx, path, "truncated header");
    else {
        header[header_len] = '\0';
        r = parse_header(ctx, path, header, h);
    }
    free(header);
    return r;
}

static vka_result read_data(vka_context *ctx, const char *path, FILE *f, const npy_header *h, vka_npy *out)
{
    uint64_t count = vka_element_count(h->rank, h->dims);
    if (count > ((uint64_t)1 << 32))
        return bad(ctx, path, "more than 2^32 elements");
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0)
        return vka_fail(ctx, VKA_ERROR_IO, "%s: cannot seek", path);
    long end = ftell(f);
    uint64_t available = end > here ? (uint64_t)(end - here) : 0;
    uint32_t size = vka_dtype_bytes(h->dtype);
    if (available < count * size) {
        char msg[128];
        snprintf(msg, sizeof msg, "truncated: the shape needs %llu data bytes, the file has %llu",
                 (unsigned long long)(count * size), (unsigned long long)available);
        return bad(ctx, path, msg);
    }
    if (fseek(f, here, SEEK_SET) != 0)
        return vka_fail(ctx, VKA_ERROR_IO, "%s: cannot seek", path);
    out->data = malloc((size_t)count * size);
    if (!out->data)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", path);
    if (fread(out->data, size, (size_t)count, f) != count) {
        free(out->data);
        out->data = NULL;
        return vka_fail(ctx, VKA_ERROR_IO, "%s: read failed", path);
    }
    out->dtype = h->dtype;
    out->rank = h->rank;
    memcpy(out->dims, h->dims, sizeof out->dims);
    out->bytes = (size_t)count * size;
    return VKA_SUCCESS;
}

vka_result vka_npy_load(vka_context *ctx, const char *path, vka_npy *out)
{
    if (!path || !out)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_npy_load: path and out must not be NULL");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return vka_fail(ctx, VKA_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    npy_header h = {0};
    vka_result r = read_header(ctx, path, f, &h);
    if (r == VKA_SUCCESS)
        r = read_data(ctx, path, f, &h, out);
    fclose(f);
    return r;
}

void vka_npy_free(vka_npy *npy)
{
    if (!npy)
        return;
    free(npy->data);
    memset(npy, 0, sizeof *npy);
}

vka_result vka_npy_save(vka_context *ctx, const char *path, vka_dtype dtype, uint32_t rank, const uint32_t *dims,
                        const void *data)
{
    if (!path || !dims || !data || rank < 1 || rank > VKA_MAX_RANK)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_npy_save: bad arguments");
    if (dtype == VKA_DTYPE_DEFAULT)
        dtype = VKA_DTYPE_F32;
    if (dtype != VKA_DTYPE_F32 && dtype != VKA_DTYPE_F16 && dtype != VKA_DTYPE_I32)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_npy_save %s: unknown dtype %d", path, (int)dtype);
    if (vka_element_count(rank, dims) > ((uint64_t)1 << 32))
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_npy_save %s: more than 2^32 elements (or an axis of 0)",
                        path);
    for (uint32_t i = 0; i < rank; i++)
        if (!dims[i])
            return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_npy_save %s: axis %u has size 0", path, i);
    char dict[160];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype == VKA_DTYPE_I32   ? "<i4"
                     : dtype == VKA_DTYPE_F16 ? "<f2"
                                              : "<f4");
    for (uint32_t i = 0; i < rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%u%s", dims[i], rank == 1 ? "," : (i + 1 < rank ? ", " : ""));
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* Pad with spaces so that the data starts 64-byte aligned; end with a newline. */
    size_t total = vka_align_up(10 + (size_t)n + 1, 64);
    size_t header_len = total - 10;
    char header[256];
    memset(header, ' ', header_len);
    memcpy(header, dict, (size_t)n);
    header[header_len - 1] = '\n';
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_len & 0xff), (unsigned char)(header_len >> 8)};
    FILE *f = fopen(path, "wb");
    if (!f)
        return vka_fail(ctx, VKA_ERROR_IO, "%s: cannot create: %s", path, strerror(errno));
    size_t count = (size_t)vka_element_count(rank, dims);
    bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, header_len, f) == header_len &&
              fwrite(data, vka_dtype_bytes(dtype), count, f) == count;
    ok = (fclose(f) == 0) && ok;
    return ok ? VKA_SUCCESS : vka_fail(ctx, VKA_ERROR_IO, "%s: write failed", path);
}
