/* .npy tensors (NumPy format 1.0–3.0): little-endian float32 or int32, C order, rank 1..4.
 * Every malformed file gets VKA_ERROR_FILE_FORMAT with a message that names the file
 * and what is wrong; nothing is trusted before it is checked against the file's size. */
#include "../common/common.h"
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

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *header, const char *key)
{
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *at = strstr(header, quoted);
    if (!at)
        return NULL;
    at += strlen(quoted);
    while (isspace((unsigned char)*at))
        at++;
    if (*at != ':')
        return NULL;
    at++;
    while (isspace((unsigned char)*at))
        at++;
    return at;
}

static vka_result parse_descr(vka_context *ctx, const char *path, const char *header, vka_dtype *dtype)
{
    const char *v = dict_value(header, "descr");
    if (!v)
        return bad(ctx, path, "the header has no 'descr'");
    if (strncmp(v, "'<f4'", 5) == 0)
        *dtype = VKA_DTYPE_F32;
    else if (strncmp(v, "'<i4'", 5) == 0)
        *dtype = VKA_DTYPE_I32;
    else {
        char got[16] = "";
        sscanf(v, "'%15[^']", got);
        return vka_fail(ctx, VKA_ERROR_FILE_FORMAT,
                        "%s: dtype '%s' is not supported; vkattn reads float32 ('<f4') and int32 ('<i4')", path, got);
    }
    return VKA_SUCCESS;
}

static vka_result parse_shape(vka_context *ctx, const char *path, const char *header, npy_header *h)
{
    const char *v = dict_value(header, "shape");
    if (!v || *v != '(')
        return bad(ctx, path, "the header has no 'shape' tuple");
    v++;
    h->rank = 0;
    for (;;) {
        while (isspace((unsigned char)*v) || *v == ',')
            v++;
        if (*v == ')')
            break;
        if (!isdigit((unsigned char)*v))
            return bad(ctx, path, "the shape holds something other than integers");
        errno = 0;
        char *end;
        unsigned long long dim = strtoull(v, &end, 10);
        if (errno == ERANGE || dim == 0 || dim > UINT32_MAX)
            return bad(ctx, path, "a dimension is 0 or too large");
        if (h->rank == VKA_MAX_RANK)
            return bad(ctx, path, "more than 4 dimensions");
        h->dims[h->rank++] = (uint32_t)dim;
        v = end;
    }
    if (h->rank == 0)
        return bad(ctx, path, "a scalar (shape ()); vkattn needs rank 1..4");
    return VKA_SUCCESS;
}

static vka_result parse_header(vka_context *ctx, const char *path, const char *header, npy_header *h)
{
    const char *fortran = dict_value(header, "fortran_order");
    if (!fortran)
        return bad(ctx, path, "the header has no 'fortran_order'");
    if (strncmp(fortran, "False", 5) != 0)
        return vka_fail(ctx, VKA_ERROR_FILE_FORMAT, "%s: Fortran-order arrays are not supported; save C order", path);
    vka_result r = parse_descr(ctx, path, header, &h->dtype);
    return r == VKA_SUCCESS ? parse_shape(ctx, path, header, h) : r;
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
    if (available < count * 4) {
        char msg[128];
        snprintf(msg, sizeof msg, "truncated: the shape needs %llu data bytes, the file has %llu",
                 (unsigned long long)(count * 4), (unsigned long long)available);
        return bad(ctx, path, msg);
    }
    if (fseek(f, here, SEEK_SET) != 0)
        return vka_fail(ctx, VKA_ERROR_IO, "%s: cannot seek", path);
    out->data = malloc((size_t)count * 4);
    if (!out->data)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading %s", path);
    if (fread(out->data, 4, (size_t)count, f) != count) {
        free(out->data);
        out->data = NULL;
        return vka_fail(ctx, VKA_ERROR_IO, "%s: read failed", path);
    }
    out->dtype = h->dtype;
    out->rank = h->rank;
    memcpy(out->dims, h->dims, sizeof out->dims);
    out->bytes = (size_t)count * 4;
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
    if (vka_element_count(rank, dims) > ((uint64_t)1 << 32))
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_npy_save %s: more than 2^32 elements (or an axis of 0)",
                        path);
    for (uint32_t i = 0; i < rank; i++)
        if (!dims[i])
            return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_npy_save %s: axis %u has size 0", path, i);
    char dict[160];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype == VKA_DTYPE_I32 ? "<i4" : "<f4");
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
              fwrite(data, 4, count, f) == count;
    ok = (fclose(f) == 0) && ok;
    return ok ? VKA_SUCCESS : vka_fail(ctx, VKA_ERROR_IO, "%s: write failed", path);
}
