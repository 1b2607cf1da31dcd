/* IEEE binary16 on the host: the boundary conversions of f16 tensors (disable_f16, the
 * reference, files). The kernels use GLSL's packHalf2x16 / unpackHalf2x16. */
#include "common.h"

#include <string.h>

float vka_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F)
        bits = sign | 0x7F800000u | mantissa << 13; /* inf, NaN */
    else if (exponent)
        bits = sign | (exponent + 112) << 23 | mantissa << 13;
    else if (!mantissa)
        bits = sign;
    else { /* subnormal: normalise */
        exponent = 113;
        while (!(mantissa & 0x400))
            mantissa <<= 1, exponent--;
        bits = sign | exponent << 23 | (mantissa & 0x3FF) << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Round to nearest even; NaN stays NaN, overflow goes to infinity. */
uint16_t vka_float_to_half(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint32_t sign = (bits >> 16) & 0x8000, exponent = (bits >> 23) & 0xFF, mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF)
        return (uint16_t)(sign | 0x7C00 | (mantissa ? 0x200 : 0));
    int e = (int)exponent - 127 + 15;
    if (e >= 0x1F)
        return (uint16_t)(sign | 0x7C00);
    if (e <= 0) { /* subnormal half, or zero */
        if (e < -10)
            return (uint16_t)sign;
        mantissa |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e), half = mantissa >> shift, rest = mantissa & ((1u << shift) - 1),
                 mid = 1u << (shift - 1);
        half += rest > mid || (rest == mid && (half & 1));
        return (uint16_t)(sign | half);
    }
    uint32_t half = (uint32_t)e << 10 | mantissa >> 13, rest = mantissa & 0x1FFF;
    half += rest > 0x1000 || (rest == 0x1000 && (half & 1)); /* a carry into the exponent is right */
    return (uint16_t)(sign | half);
}

void vka_f16_from_f32(const float *in, uint16_t *out, size_t count)
{
    for (size_t i = 0; in && out && i < count; i++)
        out[i] = vka_float_to_half(in[i]);
}

void vka_f32_from_f16(const uint16_t *in, float *out, size_t count)
{
    for (size_t i = 0; in && out && i < count; i++)
        out[i] = vka_half_to_float(in[i]);
}
