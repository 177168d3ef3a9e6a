#!/usr/bin/env bash
# Checks the exported C functions of the TorchSharp native source in carry/native (get-native-source.sh) against the
# [DllImport("LibTorchSharp")] declarations of the managed TorchSharp.dll 0.107.0 from the NuGet cache, and against
# the names the shipped libLibTorchSharp.so 0.107.0 exports. Runs here (needs the .NET SDK for `dotnet fsi`, nm and
# python3), not on the GPU machine. Exit status 1 when a return value would be read with the wrong width, or when
# the source lacks a name the shipped library exports.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
managed=$packages/torchsharp/0.107.0/lib/net8.0/TorchSharp.dll
shipped=$packages/torchsharp/0.107.0/runtimes/linux-x64/native/libLibTorchSharp.so
native=$here/carry/native/src/Native
for f in "$managed" "$shipped"; do
    [ -f "$f" ] || { echo "check-native-exports: $f is missing; run 'dotnet restore' on benchmarks/Grpo.GpuCheck first" >&2; exit 1; }
done
[ -d "$native" ] || { echo "check-native-exports: $native is missing; run benchmarks/gpu/get-native-source.sh first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet fsi "$here/list-dllimports.fsx" "$managed" > "$work/dllimports.tsv"
nm -D --defined-only "$shipped" | awk '$2 == "T" { print $3 }' | grep -E '^(THS|crc32c)' > "$work/shipped.txt"
python3 "$here/compare_exports.py" "$native" "$work/dllimports.tsv" "$work/shipped.txt"
