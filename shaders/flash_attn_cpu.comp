#version 450
// Exact softmax attention, the CPU-class flash kernel (dense): flash_attn_cpu.glsl.
#extension GL_GOOGLE_include_directive : require
#pragma vka_kernel(flash_attn, cpu)
#define VKA_SPARSE 0
#include "flash_attn_cpu.glsl"
