#version 450
// The application's own pass that produces q, k and v on the device (here from a hash of
// the element index, exactly representable, so the host can compute the same values for
// its check): element i of the buffer gets ((i·2654435761 + seed) >> 22) / 1024 − 0.5.
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Out { float x[]; };
layout(push_constant) uniform Push { uint first, count, seed; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.count)
        x[pc.first + i] = float((i * 2654435761u + pc.seed) >> 22) / 1024.0 - 0.5;
}
