/* Aaren in double, straight from the definition: each prefix's softmax is computed anew
 * (O(N²) per slice, with its own maximum), independent of the kernel's blocked scan. */
#include "ref.h"

#include <math.h>

void vka_ref_aaren(const vka_ref_aaren_problem *a)
{
    for (uint32_t b = 0; b < a->batch; b++) {
        uint32_t limit = a->kv_len ? (uint32_t)(a->kv_len[b] < 0 ? 0 : a->kv_len[b]) : a->n;
        limit = limit < a->n ? limit : a->n;
        for (uint32_t h = 0; h < a->heads; h++) {
            size_t slice = (size_t)b * a->heads + h;
            const double *query = a->query + (size_t)h * a->d, *k = a->k + slice * a->n * a->d,
                         *v = a->v + slice * a->n * a->dv;
            double *out = a->out + slice * a->n * a->dv;
            for (uint32_t t = 0; t < a->n; t++) {
                uint32_t seen = t + 1 < limit ? t + 1 : limit; /* keys 0 .. seen − 1 */
                double top = -INFINITY, sum = 0;
                for (uint32_t j = 0; j < seen; j++) {
                    double s = 0;
                    for (uint32_t i = 0; i < a->d; i++)
                        s += query[i] * k[(size_t)j * a->d + i];
                    top = fmax(top, s * a->scale);
                }
                for (uint32_t c = 0; c < a->dv; c++)
                    out[(size_t)t * a->dv + c] = 0;
                for (uint32_t j = 0; j < seen; j++) {
                    double s = 0;
                    for (uint32_t i = 0; i < a->d; i++)
                        s += query[i] * k[(size_t)j * a->d + i];
                    double w = exp(s * a->scale - top);
                    sum += w;
                    for (uint32_t c = 0; c < a->dv; c++)
                        out[(size_t)t * a->dv + c] += w * v[(size_t)j * a->dv + c];
                }
                for (uint32_t c = 0; sum > 0 && c < a->dv; c++)
                    out[(size_t)t * a->dv + c] /= sum;
            }
        }
    }
}
