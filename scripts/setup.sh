#!/usr/bin/env bash
# Installs what vkattn needs on Debian 12 (only what is missing), then configures and
# builds it in build/ (Release). Usage: scripts/setup.sh [extra cmake arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake gcc make pkg-config
  clang libclang-rt-14-dev                       # libFuzzer and sanitizer runtimes (scripts/fuzz.sh)
  libvulkan-dev libvulkan1 libvulkan-volk-dev   # Vulkan headers and loader, volk
  glslang-tools spirv-tools                      # shader compiler and validator
  python3                                        # tools/kernel_interface.py: the kernels' C side
  python3-numpy                                  # python/: the Python module and its test (ctest python_module)
  python3-setuptools python3-wheel python3-pip python3-venv  # python/: its offline pip install, tested in a venv
  mesa-vulkan-drivers                            # lavapipe: the device where no GPU exists
  vulkan-validationlayers vulkan-tools           # the Khronos validation layer, vulkaninfo
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
