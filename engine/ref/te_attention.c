/* Translation-equivariant attention in double, straight from the definition: the pair
 * MLP for every (i, j), then a softmax over j per head (max-shifted, two passes). */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

static void layer(const double *w, const double *b, const double *x, uint32_t in, uint32_t out, bool relu, double *y)
{
    for (uint32_t o = 0; o < out; o++) {
        double s = b ? b[o] : 0.0;
        for (uint32_t i = 0; i < in; i++)
            s += w[(size_t)o * in + i] * x[i];
        y[o] = relu && s < 0 ? 0.0 : s;
    }
}

/* The heads' logits of pair (i, j) of batch b. */
static void pair_logits(const vka_ref_te_problem *p, uint32_t b, uint32_t i, uint32_t j, double *in, double *h1,
                        double *h2, double *logits)
{
    uint32_t qk = p->heads * p->dh;
    const double *xi = p->xq + ((size_t)b * p->nq + i) * p->dx, *xj = p->xk + ((size_t)b * p->nk + j) * p->dx;
    const double *qi = p->q + ((size_t)b * p->nq + i) * qk, *kj = p->k + ((size_t)b * p->nk + j) * qk;
    for (uint32_t c = 0; c < p->dx; c++)
        in[c] = xi[c] - xj[c];
    for (uint32_t h = 0; h < p->heads; h++) {
        double s = 0;
        for (uint32_t d = 0; d < p->dh; d++)
            s += qi[h * p->dh + d] * kj[h * p->dh + d];
        in[p->dx + h] = s * p->scale;
    }
    layer(p->fc1, p->fc1_bias, in, p->dx + p->heads, p->hidden1, true, h1);
    layer(p->fc2, p->fc2_bias, h1, p->hidden1, p->hidden2, true, h2);
    layer(p->fc3, p->fc3_bias, h2, p->hidden2, p->heads, false, logits);
}

bool vka_ref_te_attention(const vka_ref_te_problem *p)
{
    uint32_t vw = p->heads * p->dv;
    double *in = malloc((p->dx + p->heads) * sizeof *in), *h1 = malloc(p->hidden1 * sizeof *h1),
           *h2 = malloc(p->hidden2 * sizeof *h2), *logits = malloc((size_t)p->nk * p->heads * sizeof *logits);
    bool ok = in && h1 && h2 && logits;
    for (uint32_t b = 0; ok && b < p->batch; b++)
        for (uint32_t i = 0; i < p->nq; i++) {
            for (uint32_t j = 0; j < p->nk; j++)
                pair_logits(p, b, i, j, in, h1, h2, logits + (size_t)j * p->heads);
            double *o = p->out + ((size_t)b * p->nq + i) * vw;
            for (uint32_t h = 0; h < p->heads; h++) {
                double m = -INFINITY, sum = 0;
                for (uint32_t j = 0; j < p->nk; j++)
                    m = fmax(m, logits[(size_t)j * p->heads + h]);
                for (uint32_t d = 0; d < p->dv; d++)
                    o[h * p->dv + d] = 0;
                for (uint32_t j = 0; j < p->nk; j++) {
                    double e = exp(logits[(size_t)j * p->heads + h] - m);
                    const double *vj = p->v + ((size_t)b * p->nk + j) * vw + h * p->dv;
                    sum += e;
                    for (uint32_t d = 0; d < p->dv; d++)
                        o[h * p->dv + d] += e * vj[d];
                }
                for (uint32_t d = 0; d < p->dv; d++)
                    o[h * p->dv + d] /= sum;
            }
        }
    free(in);
    free(h1);
    free(h2);
    free(logits);
    return ok;
}
