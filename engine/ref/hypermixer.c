/* The double-precision HyperMixer, written from SCHEMES.md §5 directly: the token MLPs,
 * the key contraction inside the GELU and the query expansion outside it. */
#include "ref.h"

#include <stdlib.h>
#include <string.h>

/* MLP(x) = GELU(x W1) W2 + b2 for `rows` rows of width d, into out (rows × p). */
static void token_mlp(const double *x, size_t rows, uint32_t d, uint32_t p, const double *const w[3], double *hidden,
                      double *out)
{
    vka_ref_dense(x, w[0], NULL, rows, d, d, hidden);
    vka_ref_elementwise(VKA_REF_GELU, hidden, NULL, rows * d, hidden);
    vka_ref_dense(hidden, w[1], w[2], rows, d, p, out);
}

bool vka_ref_hypermixer(const vka_ref_hypermixer_problem *h)
{
    size_t rows = h->nq > h->nk ? h->nq : h->nk;
    double *hidden = malloc(rows * h->d * sizeof *hidden);
    double *wk = malloc((size_t)h->nk * h->p * sizeof *wk), *wq = malloc((size_t)h->nq * h->p * sizeof *wq);
    double *mixed = malloc((size_t)h->p * h->dv * sizeof *mixed);
    bool ok = hidden && wk && wq && mixed;
    for (uint32_t b = 0; ok && b < h->batch; b++) {
        uint32_t keys = h->kv_len ? (uint32_t)h->kv_len[b] : h->nk;
        keys = keys < h->nk ? keys : h->nk;
        for (uint32_t hd = 0; hd < h->heads; hd++) {
            size_t slice = (size_t)b * h->heads + hd;
            const double *q = h->q + slice * h->nq * h->d, *k = h->k + slice * h->nk * h->d;
            const double *v = h->v + slice * h->nk * h->dv;
            token_mlp(k, h->nk, h->d, h->p, h->mlp_k, hidden, wk);
            token_mlp(q, h->nq, h->d, h->p, h->mlp_q, hidden, wq);
            /* mixed = GELU(Wkᵀ v) over the keys that exist. */
            memset(mixed, 0, (size_t)h->p * h->dv * sizeof *mixed);
            for (uint32_t j = 0; j < keys; j++)
                for (uint32_t a = 0; a < h->p; a++)
                    for (uint32_t c = 0; c < h->dv; c++)
                        mixed[(size_t)a * h->dv + c] += wk[(size_t)j * h->p + a] * v[(size_t)j * h->dv + c];
            vka_ref_elementwise(VKA_REF_GELU, mixed, NULL, (size_t)h->p * h->dv, mixed);
            vka_ref_dense(wq, mixed, NULL, h->nq, h->p, h->dv, h->out + slice * h->nq * h->dv);
        }
    }
    free(hidden);
    free(wk);
    free(wq);
    free(mixed);
    return ok;
}
