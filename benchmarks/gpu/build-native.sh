#!/usr/bin/env bash
# Builds TorchSharp's native layer (libLibTorchSharp.so) against the PyTorch that `python3` imports, with all
# cores: CMake first, as TorchSharp builds it, and a plain g++ build when cmake is missing or its configure step
# fails (the CUDA toolkit lookup in PyTorch's CMake files is the usual reason). TorchSharp's CMakeLists adds
# -Werror on Linux; newer PyTorch headers raise deprecation warnings in TorchSharp's code (c10::optional and the
# like), so this build drops it. The source tree is copied first; the carried one is left as it is.
#
# Usage: build-native.sh NATIVE_DIR BUILD_DIR    (NATIVE_DIR holds src/Native; the library lands in BUILD_DIR)
set -euo pipefail
native=${1:?usage: build-native.sh NATIVE_DIR BUILD_DIR}
build=${2:?usage: build-native.sh NATIVE_DIR BUILD_DIR}
python=${PYTHON:-python3}
jobs=${JOBS:-$(nproc)}
fail() { echo "build-native: FAILED: $*" >&2; exit 1; }

[ -f "$native/src/Native/LibTorchSharp/CMakeLists.txt" ] || fail "$native/src/Native/LibTorchSharp/CMakeLists.txt is missing; run benchmarks/gpu/get-native-source.sh"
torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))') || fail "$python cannot import torch"
cmake_prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
abi=$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
echo "build-native: torch at $torch_dir, CXX11 ABI $abi, $jobs jobs"

rm -rf "$build"
mkdir -p "$build"
src=$build/src
cp -r "$native/src" "$src"
sed -i 's/add_definitions(-Werror)/# (warnings as errors: dropped by build-native.sh)/' "$src/Native/CMakeLists.txt"
if grep -q -- '-Werror' "$src/Native/CMakeLists.txt"; then
    fail "-Werror is still in $src/Native/CMakeLists.txt; TorchSharp changed the line this script edits"
fi
sed -i "s/-D_GLIBCXX_USE_CXX11_ABI=1/-D_GLIBCXX_USE_CXX11_ABI=$abi/" "$src/Native/CMakeLists.txt"

# c10/util/Optional.h is deprecated; should a PyTorch drop it, TorchSharp's c10::optional needs this shim.
# -idirafter: the real header wins wherever it exists.
compat=$build/compat
if [ ! -f "$torch_dir/include/c10/util/Optional.h" ]; then
    echo "build-native: this PyTorch has no c10/util/Optional.h; using a shim that maps c10::optional to std::optional"
    mkdir -p "$compat/c10/util"
    cat > "$compat/c10/util/Optional.h" <<'SHIM'
#pragma once
#include <optional>
namespace c10 { using std::optional; using std::nullopt; using std::nullopt_t; using std::make_optional; }
SHIM
fi
extra_flags="-Wno-deprecated-declarations -idirafter $compat"

[ -d /usr/local/cuda/bin ] && export PATH=$PATH:/usr/local/cuda/bin

with_cmake() {
    command -v cmake > /dev/null || { echo "build-native: cmake is missing"; return 1; }
    local generator=()
    command -v ninja > /dev/null && generator=(-G Ninja)
    cmake -S "$src/Native" -B "$build/cmake" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$cmake_prefix" -DLIBTORCH_PATH="$cmake_prefix/Torch" \
        -DCMAKE_CXX_FLAGS="$extra_flags" -DCMAKE_INSTALL_PREFIX="$build/install" || return 1
    cmake --build "$build/cmake" --parallel "$jobs" || return 1
    cp "$(find "$build/cmake" -name libLibTorchSharp.so | head -1)" "$build/libLibTorchSharp.so"
}

# Translation units whose functions Grpo never calls (TorchScript, data loaders, torchvision ops, torch.export's
# AOTInductor loader, whose C++ API is the least stable). If one of them does not compile against a newer PyTorch,
# the g++ build links without it: its entry points are then missing, which only matters to a program that calls them.
optional_units="THSJIT THSData THSVision THSExport cifar10"

with_gxx() {
    local cxx=${CXX:-g++} cc=${CC:-gcc}
    command -v "$cxx" > /dev/null || fail "no C++ compiler ($cxx) for the fallback build"
    local objects=$build/obj
    mkdir -p "$objects"
    local flags=(-O2 -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI="$abi" -D__LINUX__ -D_NO_ASYNCRTIMP -D_NO_PPLXIMP
                 -fstack-protector-strong -Wno-deprecated-declarations -idirafter "$compat"
                 -I"$src/Native" -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
    "$cc" "${flags[@]}" -c "$src/Native/LibTorchSharp/crc32c.c" -o "$objects/crc32c.o"
    local sources=("$src"/Native/LibTorchSharp/*.cpp)
    for f in "${sources[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
        local name
        name=$(basename "$f" .cpp)
        { "$cxx" -std=c++17 "${flags[@]}" -c "$f" -o "$objects/$name.o" || { rm -f "$objects/$name.o"; touch "$objects/$name.failed"; }; } &
    done
    wait
    local failed
    failed=$(cd "$objects" && ls -- *.failed 2>/dev/null | sed 's/\.failed$//' | tr '\n' ' ')
    for name in $failed; do
        case " $optional_units " in
            *" $name "*) echo "build-native: WARNING: $name.cpp does not compile against this PyTorch; linking without it (Grpo calls none of its functions)" ;;
            *) fail "$name.cpp does not compile against this PyTorch; the first error above says where" ;;
        esac
    done
    # --no-as-needed keeps libtorch_cuda linked although no symbol of it is named: it registers the CUDA backend.
    "$cxx" -shared -o "$build/libLibTorchSharp.so" "$objects"/*.o -L"$torch_dir/lib" -Wl,-rpath,'$ORIGIN' \
        -Wl,-Bsymbolic -Wl,-Bsymbolic-functions -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 \
        $( [ -f "$torch_dir/lib/libtorch_cuda.so" ] && echo -ltorch_cuda -lc10_cuda ) -Wl,--as-needed
}

if with_cmake; then
    echo "build-native: built with cmake"
else
    echo "build-native: the cmake build failed or cmake is missing; building with plain g++"
    rm -rf "$build/obj"
    with_gxx
    echo "build-native: built with g++"
fi
[ -f "$build/libLibTorchSharp.so" ] || fail "no libLibTorchSharp.so was produced"
exports=$(nm -D --defined-only "$build/libLibTorchSharp.so" | awk '$2 == "T"' | grep -cE ' (THS|crc32c)' || true)
echo "build-native: $build/libLibTorchSharp.so, $exports exported THS/crc32c functions (the shipped 0.107.0 library has 1166)"
