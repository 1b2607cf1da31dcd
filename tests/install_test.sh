#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds a consumer with find_package
# (shared and static) and with pkg-config, and runs them.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
cmake -S "$source_dir/install_consumer" -B "$prefix/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" "$prefix/consumer/consumer_shared"
"$prefix/consumer/consumer_static"
libdir=$(find "$prefix" -name vkattn.pc -printf '%h\n' | head -n1)
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs vkattn)
cc -std=c11 "$source_dir/install_consumer/consumer.c" $flags -o "$prefix/consumer_pc"
LD_LIBRARY_PATH="$libdir/.." "$prefix/consumer_pc"
# The installed tool starts without LD_LIBRARY_PATH (its RPATH is $ORIGIN/../lib).
env -u LD_LIBRARY_PATH "$prefix/bin/vkattn" info softmax >/dev/null
echo "1 passed, 0 failed"
