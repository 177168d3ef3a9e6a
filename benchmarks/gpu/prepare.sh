#!/usr/bin/env bash
# Prepares, on a machine with the .NET SDK, everything the GPU run needs, in benchmarks/gpu/carry (ignored by git;
# name it in the device run's `carry`):
#   carry/native/                       TorchSharp v0.107.0's src/Native (get-native-source.sh)
#   carry/exports-check.txt             its exports against the managed TorchSharp.dll's DllImports
#   carry/grpo-gpucheck-linux-x64.tar.xz  the check program, published self-contained for linux-x64 with the managed
#                                       TorchSharp only: no libtorch and no CPU-built libLibTorchSharp.so in it
# and prints the sizes (a device run carries 64 MiB at most, the repository's tracked files included).
#
# Usage: benchmarks/gpu/prepare.sh [MIRROR_GIT_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
carry=$here/carry
mkdir -p "$carry"

[ -f "$carry/native/COMMIT" ] || "$here/get-native-source.sh" "$@"
"$here/check-native-exports.sh" | tee "$carry/exports-check.txt"

# A separate artifacts folder, so the RID-specific restore leaves the projects' own obj folders alone.
build=$here/build
rm -rf "$build/publish"
dotnet publish "$repo/benchmarks/Grpo.GpuCheck/Grpo.GpuCheck.csproj" -c Release -r linux-x64 --self-contained \
    -p:DevicePublish=true --artifacts-path "$build/artifacts" -o "$build/publish"
if find "$build/publish" -name 'libtorch*.so*' -o -name 'libc10*.so*' -o -name 'libLibTorchSharp.so' | grep -q .; then
    echo "prepare: the publish still holds native torch libraries; DevicePublish did not drop them" >&2
    exit 1
fi
tar -C "$build/publish" -cf - . | xz -9e -T2 > "$carry/grpo-gpucheck-linux-x64.tar.xz"

echo "prepare: publish $(du -sh "$build/publish" | cut -f1) unpacked, $(du -h "$carry/grpo-gpucheck-linux-x64.tar.xz" | cut -f1) compressed"
tracked=$(git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 du -cb 2>/dev/null) | tail -1 | cut -f1)
carried=$(du -sb "$carry" | cut -f1)
total=$(( tracked + carried ))
echo "prepare: carry/ $((carried / 1024 / 1024)) MiB + tracked files $((tracked / 1024 / 1024)) MiB = $((total / 1024 / 1024)) MiB of the 64 MiB a run carries"
[ "$total" -lt $(( 64 * 1024 * 1024 )) ] || { echo "prepare: too large to carry" >&2; exit 1; }
