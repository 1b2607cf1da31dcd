#!/usr/bin/env python3
"""Generates the C side of every kernel's interface from the kernels themselves.

Each shader in shaders/*.comp states its interface once, in GLSL: its bindings, its
push-constant block (named fields), its specialization constants, and, as pragmas beside
the code they describe, its loop budget and shared-memory footprint:

    #pragma vka_kernel(flash_attn, cpu)        family and variant (default: file stem, "any")
    #pragma vka_loops(div_up(pc.nk, KB) + 1)   most loop iterations of one invocation
    #pragma vka_shared_bytes(16 * BR * D4)     shared memory, when the kernel declares any
    #pragma vka_workgroup_size(64)             the one workgroup size the kernel is written for

The expressions are C as well as GLSL: specialization constants by their GLSL names, push
fields as pc.NAME, div_up. Use one-character operators only (+ - * / % < > ? :):
glslang's preprocessor prints two-character ones (==, <=, &&, <<) as its token codes. This script reads each compiled module (SPIR-V: names,
decorations, types) and its preprocessed source (the pragmas that survive its #if's), and
writes two files:

    vka_kernels.h       the kernel ids, one C struct per push block and per kernel's
                        specialization constants, and the unions that hold them
    vka_kernel_table.h  the SPIR-V words, the rules as C functions, the registry rows

usage: kernel_interface.py GLSLANG OUT_DIR NAME=SPV:SOURCE...
"""
import os
import re
import struct
import subprocess
import sys

# ------------------------------------------------------------------ SPIR-V reading

OP_NAME, OP_MEMBER_NAME = 5, 6
OP_CAPABILITY = 17
CAP_FLOAT16 = 9  # arithmetic in float16_t: the device's shaderFloat16
CAP_GROUP_NON_UNIFORM, CAP_GROUP_NON_UNIFORM_QUAD = 61, 68  # Vulkan's subgroup feature bits, in order
OP_TYPE_BOOL, OP_TYPE_INT, OP_TYPE_FLOAT, OP_TYPE_VECTOR = 20, 21, 22, 23
OP_TYPE_ARRAY, OP_TYPE_RUNTIME_ARRAY, OP_TYPE_STRUCT, OP_TYPE_POINTER = 28, 29, 30, 32
OP_CONSTANT = 43
OP_SPEC_CONSTANT_TRUE, OP_SPEC_CONSTANT_FALSE, OP_SPEC_CONSTANT = 48, 49, 50
F16_CONSTANT_ID = 100  # common.glsl: vka_f16_bindings, set by the planner
HEADER_STRIDES = 8  # the recorder's header: slice_base, then a slice stride per binding (common.glsl)
OP_SPEC_CONSTANT_OP = 52
OP_VARIABLE = 59
OP_DECORATE, OP_MEMBER_DECORATE = 71, 72

DEC_SPEC_ID, DEC_NON_WRITABLE, DEC_NON_READABLE = 1, 24, 25
DEC_BINDING, DEC_DESCRIPTOR_SET, DEC_OFFSET = 33, 34, 35
SC_UNIFORM, SC_WORKGROUP, SC_PUSH_CONSTANT, SC_STORAGE_BUFFER = 2, 4, 9, 12


def fail(message):
    sys.exit("kernel_interface.py: " + message)


def literal_string(words):
    raw = struct.pack("<%dI" % len(words), *words)
    return raw.split(b"\0", 1)[0].decode()


class Module:
    """What the generator needs of one SPIR-V module."""

    def __init__(self, path):
        data = open(path, "rb").read()
        words = struct.unpack("<%dI" % (len(data) // 4), data)
        if words[0] != 0x07230203:
            fail(path + " is not SPIR-V")
        self.names, self.member_names, self.types = {}, {}, {}
        self.decorations, self.member_decorations = {}, {}
        self.constants, self.spec_constants, self.variables = {}, {}, []
        self.subgroup_ops = 0  # VkSubgroupFeatureFlags the module's capabilities need
        self.float16 = False  # whether it computes in float16_t
        i = 5
        while i < len(words):
            count, op = words[i] >> 16, words[i] & 0xFFFF
            self._instruction(op, words[i + 1:i + count])
            i += count

    def _instruction(self, op, args):
        if op == OP_CAPABILITY and CAP_GROUP_NON_UNIFORM <= args[0] <= CAP_GROUP_NON_UNIFORM_QUAD:
            self.subgroup_ops |= 1 << (args[0] - CAP_GROUP_NON_UNIFORM)
        elif op == OP_CAPABILITY and args[0] == CAP_FLOAT16:
            self.float16 = True
        elif op == OP_NAME:
            self.names[args[0]] = literal_string(args[1:])
        elif op == OP_MEMBER_NAME:
            self.member_names.setdefault(args[0], {})[args[1]] = literal_string(args[2:])
        elif op == OP_DECORATE:
            self.decorations.setdefault(args[0], {})[args[1]] = args[2:]
        elif op == OP_MEMBER_DECORATE:
            self.member_decorations.setdefault((args[0], args[1]), {})[args[2]] = args[3:]
        elif op == OP_TYPE_BOOL:
            self.types[args[0]] = ("bool",)
        elif op == OP_TYPE_INT:
            self.types[args[0]] = ("int" if args[2] else "uint", args[1])
        elif op == OP_TYPE_FLOAT:
            self.types[args[0]] = ("float", args[1])
        elif op == OP_TYPE_VECTOR:
            self.types[args[0]] = ("vector", args[1], args[2])
        elif op == OP_TYPE_ARRAY:
            self.types[args[0]] = ("array", args[1], args[2])
        elif op == OP_TYPE_RUNTIME_ARRAY:
            self.types[args[0]] = ("runtime_array", args[1])
        elif op == OP_TYPE_STRUCT:
            self.types[args[0]] = ("struct", list(args[1:]))
        elif op == OP_TYPE_POINTER:
            self.types[args[0]] = ("pointer", args[1], args[2])
        elif op == OP_CONSTANT:
            self.constants[args[1]] = args[2]
        elif op in (OP_SPEC_CONSTANT, OP_SPEC_CONSTANT_TRUE, OP_SPEC_CONSTANT_FALSE):
            default = args[2] if op == OP_SPEC_CONSTANT else int(op == OP_SPEC_CONSTANT_TRUE)
            self.spec_constants[args[1]] = (args[0], default)
        elif op == OP_SPEC_CONSTANT_OP:
            self.spec_constants.setdefault(args[1], None)
        elif op == OP_VARIABLE:
            self.variables.append((args[0], args[1], args[2]))

    def scalar(self, type_id):
        """The C type of a scalar or vector's component, and its component count."""
        t = self.types[type_id]
        if t[0] == "vector":
            return self.scalar(t[1])[0], t[2]
        ctype = {"uint": "uint32_t", "int": "int32_t", "float": "float", "bool": "uint32_t"}.get(t[0])
        if not ctype or (t[0] != "bool" and t[1] != 32):
            fail("unsupported type %r in an interface" % (t,))
        return ctype, 1

    def element_type(self, type_id):
        """The element type a binding's array holds, as the planner names it."""
        t = self.types[type_id]
        while t[0] in ("array", "runtime_array", "vector"):
            t = self.types[t[1]]
        return {"float": "f%d" % t[1], "int": "i%d" % t[1], "uint": "u%d" % t[1]}[t[0]]


# ------------------------------------------------------------------ interface extraction


class Kernel:
    def __init__(self, name, spv, source, glslang):
        self.name, self.spv = name, spv
        self.module = m = Module(spv)
        self.pragmas = read_pragmas(source, glslang)
        self.family, self.variant = self.pragmas.get("vka_kernel", "%s,any" % name).split(",")
        self.bindings = self._bindings()
        self.push_name, self.push_fields = self._push_block()
        self.spec = self._spec_constants()
        self.uses_shared = any(sc == SC_WORKGROUP for _, _, sc in m.variables)
        if "vka_loops" not in self.pragmas:
            fail("%s: no #pragma vka_loops(...) (its loop budget)" % name)
        if self.uses_shared and "vka_shared_bytes" not in self.pragmas:
            fail("%s declares shared memory but no #pragma vka_shared_bytes(...)" % name)

    def _bindings(self):
        m, found = self.module, {}
        for ptr, var, sc in m.variables:
            if sc not in (SC_UNIFORM, SC_STORAGE_BUFFER):
                continue
            dec = m.decorations.get(var, {})
            if dec.get(DEC_DESCRIPTOR_SET, [0])[0] != 0:
                fail("%s: every binding lives in set 0" % self.name)
            block = m.types[ptr][2]
            members = m.types[block][1]
            storage = sc == SC_STORAGE_BUFFER or 3 in m.decorations.get(block, {})  # BufferBlock
            reads = writes = False
            for index in range(len(members)):
                mdec = m.member_decorations.get((block, index), {})
                reads |= DEC_NON_READABLE not in mdec and DEC_NON_READABLE not in dec
                writes |= storage and DEC_NON_WRITABLE not in mdec and DEC_NON_WRITABLE not in dec
            binding = dec[DEC_BINDING][0]
            # VKA_TENSOR_IN/OUT/INOUT (common.glsl) declare NAME_f32 and NAME_f16 views.
            block_name = m.names.get(block, "binding%d" % binding)
            view = re.match(r"(\w+)_(f32|f16)$", block_name)
            entry = {"name": view.group(1) if view else block_name, "storage": storage, "reads": reads,
                     "writes": writes, "element": m.element_type(members[0]),
                     "f16": bool(view and view.group(2) == "f16")}
            if binding in found:  # one binding seen as two blocks (matmul_epilogue.glsl, the f16 views)
                old = found[binding]
                if old["storage"] != storage:
                    fail("%s: binding %d is both a storage and a uniform buffer" % (self.name, binding))
                if old["name"] != entry["name"]:
                    entry["name"] = old["name"] + "|" + entry["name"]
                entry["reads"] |= old["reads"]
                entry["writes"] |= old["writes"]
                entry["f16"] |= old["f16"]
                if view:
                    entry["element"] = "f32"
            found[binding] = entry
        if sorted(found) != list(range(len(found))):
            fail("%s: bindings must be numbered 0..n-1, found %s" % (self.name, sorted(found)))
        return [found[b] for b in range(len(found))]

    def _push_block(self):
        m = self.module
        blocks = [m.types[ptr][2] for ptr, _, sc in m.variables if sc == SC_PUSH_CONSTANT]
        if len(blocks) != 1:
            fail("%s: one push-constant block expected" % self.name)
        block = blocks[0]
        name = m.names.get(block, "")
        if not name.endswith("_push"):
            fail("%s: name the push block NAME_push (found %r)" % (self.name, name))
        fields = []
        for index, type_id in enumerate(m.types[block][1]):
            field = m.member_names[block][index]
            offset = m.member_decorations[(block, index)][DEC_OFFSET][0]
            count, t = 1, m.types[type_id]
            if t[0] == "array":
                count, type_id = m.constants[t[2]], t[1]
            ctype, components = m.scalar(type_id)
            fields.append((field, ctype, count * components, offset))
        header = [(f, n, o) for f, _, n, o in fields[:2]]
        if header != [("slice_base", 1, 0), ("slice_stride", HEADER_STRIDES, 4)]:
            fail("%s: the push block must begin with VKA_PUSH_HEADER" % self.name)
        return name[:-len("_push")], [(f, c, n, o - 4 * (1 + HEADER_STRIDES)) for f, c, n, o in fields[2:]]

    def _spec_constants(self):
        """The constants by id, 0..n-1, then the planner's f16 mask (id F16_CONSTANT_ID) if
        the kernel has it: self.f16_slot is its place in the spec words (0: none)."""
        m, by_id = self.module, {}
        for result, value in m.spec_constants.items():
            dec = m.decorations.get(result, {})
            if value is None or DEC_SPEC_ID not in dec:
                continue
            spec_id = dec[DEC_SPEC_ID][0]
            name = m.names.get(result) or ("workgroup_size" if spec_id == 0 else None)
            if not name:
                fail("%s: specialization constant %d has no name" % (self.name, spec_id))
            by_id[spec_id] = name
        f16 = by_id.pop(F16_CONSTANT_ID, None)
        if f16 not in (None, "vka_f16_bindings"):
            fail("%s: constant id %d is common.glsl's vka_f16_bindings" % (self.name, F16_CONSTANT_ID))
        if sorted(by_id) != list(range(len(by_id))) or by_id.get(0) != "workgroup_size":
            fail("%s: constant ids must run 0..n-1, 0 the workgroup size (local_size_x_id = 0)" % self.name)
        self.f16_slot = len(by_id) if f16 else 0
        return [by_id[i] for i in range(len(by_id))] + ([f16] if f16 else [])


def read_pragmas(source, glslang):
    """The vka_ pragmas of a shader after preprocessing: those its #if's keep."""
    run = subprocess.run([glslang, "-E", source], capture_output=True)
    if run.returncode:
        fail("%s -E %s failed: %s" % (glslang, source, (run.stdout + run.stderr).decode(errors="replace")))
    pragmas = {}
    for line in run.stdout.decode(errors="replace").splitlines():
        found = re.match(r"\s*#\s*pragma\s+(vka_\w+)\s*\((.*)\)\s*$", line)
        if found:
            key, value = found.groups()
            if key not in ("vka_kernel", "vka_loops", "vka_shared_bytes", "vka_workgroup_size"):
                fail("%s: unknown #pragma %s" % (source, key))
            if key == "vka_workgroup_size" and not value.strip().isdigit():
                fail("%s: #pragma vka_workgroup_size takes a number" % source)
            if not all(" " <= ch <= "~" for ch in value):
                fail("%s: #pragma %s: write its rule with one-character operators (glslang's "
                     "preprocessor mangles ==, <=, &&, <<)" % (source, key))
            if key in pragmas:
                fail("%s: two #pragma %s" % (source, key))
            pragmas[key] = value.replace(" ", "")
    return pragmas


# ------------------------------------------------------------------ C output

PRELUDE = """/* Generated by tools/kernel_interface.py from shaders/: do not edit. */
"""


def struct_lines(ctype_name, fields):
    """A C struct laid out at the given std430 offsets (explicit padding where needed)."""
    lines, at = ["typedef struct %s {" % ctype_name], 0
    for field, ctype, count, offset in fields:
        if offset < at or offset % 4:
            fail("%s.%s: offset %d cannot be laid out" % (ctype_name, field, offset))
        if offset > at:
            lines.append("    uint32_t pad_%d[%d];" % (at, (offset - at) // 4))
        lines.append("    %s %s%s;" % (ctype, field, "[%d]" % count if count > 1 else ""))
        at = offset + 4 * count
    lines.append("} %s;" % ctype_name)
    for field, _, _, offset in fields:
        lines.append("_Static_assert(offsetof(%s, %s) == %d, \"std430 layout\");" % (ctype_name, field, offset))
    return lines


def write_types(path, kernels, push_blocks):
    out = [PRELUDE, "#ifndef VKA_KERNELS_GENERATED_H", "#define VKA_KERNELS_GENERATED_H", "",
           "#include <stddef.h>", "#include <stdint.h>", "",
           "typedef enum vka_kernel_id {"]
    out += ["    VKA_KERNEL_%s, /* shaders/%s.comp */" % (k.name.upper(), k.name) for k in kernels]
    out += ["    VKA_KERNEL_COUNT", "} vka_kernel_id;", "",
            "/* Push-constant blocks: the words after the recorder's header, by name. */"]
    for name, fields in push_blocks.items():
        out += struct_lines("vka_%s_push" % name, fields) + [""]
    out += ["/* Specialization constants by constant_id: 0 is the workgroup size. Variants of one",
            " * interface with the same constants (flash_attn_cpu and flash_attn_cpu_sparse) share a type. */"]
    first = {}
    for k in kernels:
        same = first.setdefault((k.push_name, tuple(k.spec)), k.name)
        if same != k.name:
            out += ["typedef vka_%s_spec vka_%s_spec;" % (same, k.name), ""]
            continue
        out += struct_lines("vka_%s_spec" % k.name, [(s, "uint32_t", 1, 4 * i) for i, s in enumerate(k.spec)])
        out.append("")
    max_push = max(((fields[-1][3] // 4) + fields[-1][2]) if fields else 0 for fields in push_blocks.values())
    max_spec = max(len(k.spec) for k in kernels)
    out += ["#define VKA_MAX_OP_PUSH_WORDS %d" % max_push, "#define VKA_MAX_SPEC_CONSTANTS %d" % max_spec, "",
            "/* A dispatch's push words, written through its kernel's block. */",
            "typedef union vka_push_words {", "    uint32_t words[VKA_MAX_OP_PUSH_WORDS];"]
    out += ["    vka_%s_push %s;" % (name, name) for name in push_blocks]
    out += ["} vka_push_words;", "", "/* A dispatch's specialization constants, written through its kernel's struct. */",
            "typedef union vka_spec_words {", "    uint32_t words[VKA_MAX_SPEC_CONSTANTS];",
            "    uint32_t workgroup_size; /* every kernel's constant 0 */"]
    out += ["    vka_%s_spec %s;" % (k.name, k.name) for k in kernels]
    out += ["} vka_spec_words;", "", "#endif", ""]
    open(path, "w").write("\n".join(out))


def rule_function(k, rule, expression):
    lines = ["static uint64_t %s_%s(const vka_spec_words *spec, const vka_push_words *push)" % (k.name, rule), "{"]
    used = set(re.findall(r"[A-Za-z_]\w*", expression))
    for s in k.spec:
        if s in used:
            lines.append("    const uint64_t %s = spec->%s.%s;" % (s, k.name, s))
    if "pc" in used:
        # The push fields widened, so a rule's products cannot wrap in 32 bits.
        members = "".join(" %s %s%s;" % ("double" if c == "float" else "uint64_t", f, "[%d]" % n if n > 1 else "")
                          for f, c, n, _ in k.push_fields)
        values = ", ".join(("{%s}" % ", ".join("push->%s.%s[%d]" % (k.push_name, f, i) for i in range(n)))
                           if n > 1 else "push->%s.%s" % (k.push_name, f) for f, _, n, _ in k.push_fields)
        lines.append("    const struct {%s } pc = {%s};" % (members, values))
    lines += ["    (void)spec;", "    (void)push;", "    return (uint64_t)(%s);" % expression, "}", ""]
    return lines


def write_table(path, kernels):
    out = [PRELUDE, "/* Included once, by engine/kernels/registry.c. */", ""]
    for k in kernels:
        words = struct.unpack("<%dI" % (os.path.getsize(k.spv) // 4), open(k.spv, "rb").read())
        out.append("static const uint32_t spirv_%s[%d] = {" % (k.name, len(words)))
        for i in range(0, len(words), 8):
            out.append("    " + ", ".join("0x%08x" % w for w in words[i:i + 8]) + ",")
        out += ["};", ""]
        out += rule_function(k, "loops", k.pragmas["vka_loops"])
        out += rule_function(k, "shared_bytes", k.pragmas.get("vka_shared_bytes", "0"))
    out.append("static const vka_kernel kernel_table[VKA_KERNEL_COUNT] = {")
    for k in kernels:
        bindings = ", ".join("{\"%s\", %s, %s, \"%s\", %s}" % (
            b["name"], "VKA_BINDING_STORAGE" if b["storage"] else "VKA_BINDING_UNIFORM",
            {(True, False): "VKA_READ", (False, True): "VKA_WRITE", (True, True): "VKA_READ_WRITE"}[
                (b["reads"], b["writes"])], b["element"], "true" if b["f16"] else "false") for b in k.bindings)
        push_words = (k.push_fields[-1][3] // 4 + k.push_fields[-1][2]) if k.push_fields else 0
        out += ["    [VKA_KERNEL_%s] = {" % k.name.upper(),
                "        .name = \"%s\"," % k.family,
                "        .variant = \"%s\"," % k.variant,
                "        .spirv = spirv_%s," % k.name,
                "        .spirv_bytes = sizeof spirv_%s," % k.name,
                "        .binding_count = %d," % len(k.bindings),
                "        .bindings = {%s}," % bindings,
                "        .op_push_words = %d," % push_words,
                "        .spec_constant_count = %d," % len(k.spec),
                "        .f16_mask_slot = %d," % k.f16_slot,
                "        .subgroup_operations = 0x%x," % k.module.subgroup_ops,
                "        .needs_float16 = %s," % ("true" if k.module.float16 else "false"),
                "        .fixed_workgroup_size = %s," % k.pragmas.get("vka_workgroup_size", "0"),
                "        .shared_bytes = %s_shared_bytes," % k.name,
                "        .loop_iterations = %s_loops," % k.name,
                "    },"]
    out += ["};", ""]
    open(path, "w").write("\n".join(out))


def main():
    if len(sys.argv) < 4:
        fail("usage: kernel_interface.py GLSLANG OUT_DIR NAME=SPV:SOURCE...")
    glslang, out_dir = sys.argv[1:3]
    kernels, push_blocks = [], {}
    for arg in sys.argv[3:]:
        name, paths = arg.split("=", 1)
        spv, source = paths.split(":", 1)
        k = Kernel(name, spv, source, glslang)
        previous = push_blocks.setdefault(k.push_name, k.push_fields)
        if previous != k.push_fields:
            fail("%s: push block %s_push differs from another kernel's of that name" % (name, k.push_name))
        kernels.append(k)
    kernels.sort(key=lambda k: k.name)
    write_types(os.path.join(out_dir, "vka_kernels.h"), kernels, push_blocks)
    write_table(os.path.join(out_dir, "vka_kernel_table.h"), kernels)


if __name__ == "__main__":
    main()
