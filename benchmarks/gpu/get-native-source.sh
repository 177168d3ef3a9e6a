#!/usr/bin/env bash
# Exports TorchSharp v0.107.0's native layer (src/Native: LibTorchSharp's C++ and its CMake files) from a local
# mirror of github.com/dotnet/TorchSharp into benchmarks/gpu/carry/native, an ignored folder that travels to the GPU
# machine. Nothing of TorchSharp's source is committed to this repository.
#
# Why this commit: the repository has no release tags. c20b6a1c ("Update release notes (#1565)", 2026-05-07 09:44 UTC)
# is the commit on main that set BranchInfo.props to 0.107.0, and the TorchSharp 0.107.0 packages were built from it
# (their entries are dated 2026-05-07 10:03-10:05 UTC; the next main commit came later). check-native-exports.sh
# confirms it: every DllImport of the managed TorchSharp.dll 0.107.0 has an export of the same name here.
#
# Usage: benchmarks/gpu/get-native-source.sh [MIRROR_GIT_DIR]   (default /work/.mirror/dotnet+TorchSharp/repo)
set -euo pipefail
commit=c20b6a1cc574d690707638a488d2583f3b8b983f
mirror=${1:-/work/.mirror/dotnet+TorchSharp/repo}
here=$(cd "$(dirname "$0")" && pwd)
dest=$here/carry/native

if ! git --git-dir="$mirror" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "get-native-source: commit $commit is not in $mirror; fetch github:dotnet/TorchSharp (or clone it) and pass its git directory" >&2
    exit 1
fi
rm -rf "$dest"
mkdir -p "$dest"
git --git-dir="$mirror" archive "$commit" src/Native | tar -x -C "$dest"
echo "$commit" > "$dest/COMMIT"
echo "TorchSharp src/Native at $commit -> $dest ($(du -sh "$dest" | cut -f1))"
