#version 450
// Exact softmax attention, the CPU-class flash kernel with an additive mask (dense):
// flash_attn_cpu.glsl. A variant of its own: the mask is a fifth storage buffer, which
// devices with four per stage (android-2021) cannot bind — there softmax runs materialized.
#extension GL_GOOGLE_include_directive : require
#pragma vka_kernel(flash_mask, cpu)
#define VKA_SPARSE 0
#define VKA_MASK 1
#include "flash_attn_cpu.glsl"
