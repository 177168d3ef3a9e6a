#!/usr/bin/env bash
# Exports TorchSharp v0.107.0's native layer (src/Native: LibTorchSharp's C++ and its CMake files) from a local
# mirror of github.com/dotnet/TorchSharp into benchmarks/gpu/carry/native, an ignored folder that travels to the GPU
# machine. Nothing of TorchSharp's source is committed to this repository.
#
# Why this commit: the repository has no release tags. c20b6a1c ("Update release notes (#1565)", 2026-05-07 09:44 UTC)
# is the commit on main that set BranchInfo.props to 0.107.0 and the last one before the TorchSharp 0.107.0 packages
# were built (their entries are dated 2026-05-07 10:03-10:05 UTC). The shipped libLibTorchSharp.so 0.107.0 exports
# THSExport_*, which the commit before (68b98910) added, and c20b6a1c itself changes only RELEASENOTES.md and
# BranchInfo.props; check-native-exports.sh confirms that every function the shipped library exports is in this source.
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
