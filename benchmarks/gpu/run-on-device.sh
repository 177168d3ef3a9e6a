#!/usr/bin/env bash
# The one GPU run of issue 18, on the lent GPU machine (PyTorch with CUDA, transformers, PEFT; no .NET, no network).
# Needs benchmarks/gpu/carry from prepare.sh, carried with the run:
#   run(command="bash benchmarks/gpu/run-on-device.sh", carry=["benchmarks/gpu/carry"], timeout_s=600)
# It prints the machine (nvidia-smi, PyTorch, cmake, compilers), builds LibTorchSharp against that PyTorch with all
# cores, lays it beside the self-contained check program with PyTorch's lib folder on the loader path, runs the
# check program on cuda (parity, LoRA step against the CPU, speed on the Qwen2.5-0.5B shape), runs the PyTorch peer
# script on the same shapes, and writes every result and log to $OUT:
#   run.log, native-build.log, grpo/results.json, grpo/results.md, peer/results.json, comparison.md
# It stops at the first missing piece with one line that names it. Exit status: the check program's (0 = every
# parity check passed), or 1 for a missing piece.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
carry=$here/carry
work=$here/build/device   # ignored; kept between calls while the machine stays warm, so a rerun skips the build
OUT=${OUT:?run-on-device: OUT is not set; run this through the device tool, or set OUT to a folder for the results}
mkdir -p "$OUT" "$work"
exec > >(tee "$OUT/run.log") 2>&1
tee_pid=$!
# Let tee write the last lines of run.log before the device tool collects $OUT.
trap 'exec >&- 2>&-; wait $tee_pid' EXIT

fail() { echo "run-on-device: FAILED: $*"; exit 1; }
section() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

section "machine"
command -v nvidia-smi > /dev/null || fail "nvidia-smi is missing: this is not a GPU machine"
nvidia-smi || fail "nvidia-smi does not answer: no usable GPU driver"
nproc
python3 - <<'PY' || fail "python3 cannot import torch with CUDA (see above)"
import torch
print("torch", torch.__version__, "CUDA", torch.version.cuda, "available", torch.cuda.is_available())
assert torch.cuda.is_available(), "torch sees no GPU"
print("device", torch.cuda.get_device_name(0))
PY
python3 -c 'import transformers, peft; print("transformers", transformers.__version__, "peft", peft.__version__)' \
    || fail "transformers or PEFT is missing: the PyTorch peer script needs both"
python3 -c 'import trl; print("trl", trl.__version__, "(installed; the peer script uses its own loss)")' 2>/dev/null || echo "trl: not installed"
for tool in cmake ninja g++ gcc c++ nvcc; do
    printf '%-6s %s\n' "$tool" "$(command -v "$tool" > /dev/null && "$tool" --version 2>&1 | head -1 || echo missing)"
done
command -v cmake > /dev/null || command -v g++ > /dev/null || fail "neither cmake nor g++ is here: LibTorchSharp cannot be built"
torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
[ -f "$torch_lib/libtorch_cuda.so" ] || fail "$torch_lib/libtorch_cuda.so is missing: this PyTorch has no CUDA build"

section "carried files"
[ -f "$carry/native/src/Native/LibTorchSharp/CMakeLists.txt" ] \
    || fail "$carry/native is missing: run benchmarks/gpu/prepare.sh on the development machine and carry benchmarks/gpu/carry"
[ -f "$carry/grpo-gpucheck-linux-x64.tar.xz" ] \
    || fail "$carry/grpo-gpucheck-linux-x64.tar.xz is missing: run benchmarks/gpu/prepare.sh and carry benchmarks/gpu/carry"
echo "TorchSharp native source at $(cat "$carry/native/COMMIT")"

section "build LibTorchSharp against PyTorch"
if [ -f "$work/native/libLibTorchSharp.so" ] && [ -z "${REBUILD:-}" ]; then
    echo "reusing $work/native/libLibTorchSharp.so from an earlier call on this machine (REBUILD=1 to rebuild)"
else
    start=$SECONDS
    "$here/build-native.sh" "$carry/native" "$work/native" > "$OUT/native-build.log" 2>&1
    status=$?
    tail -n 5 "$OUT/native-build.log"
    [ $status -eq 0 ] || fail "the LibTorchSharp build failed after $((SECONDS - start)) s; native-build.log has the compiler's errors"
    echo "built in $((SECONDS - start)) s"
fi

section "lay out the check program"
app=$work/app
rm -rf "$app"
mkdir -p "$app"
tar -xJf "$carry/grpo-gpucheck-linux-x64.tar.xz" -C "$app" || fail "could not unpack the check program"
cp "$work/native/libLibTorchSharp.so" "$app/"
export LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
missing=$(ldd "$app/libLibTorchSharp.so" | grep '=> not found')
[ -z "$missing" ] || fail "libLibTorchSharp.so needs libraries the loader cannot find: $missing"
"$app/Grpo.GpuCheck" --help > /dev/null 2>&1 || fail "the self-contained check program does not start here (a missing system library?); run it by hand to see why"

section "Grpo check program on cuda"
timeout 360 "$app/Grpo.GpuCheck" --device cuda --out "$OUT/grpo" --shape qwen2.5-0.5b --steps 3
check_status=$?
[ $check_status -le 1 ] || fail "the check program stopped with status $check_status before it finished (see above)"

section "PyTorch peer on the same card"
PYTHONUNBUFFERED=1 timeout 240 python3 "$here/peer_step.py" --out "$OUT/peer" --shape qwen2.5-0.5b --steps 3 \
    || echo "run-on-device: the PyTorch peer script failed (see above); no side-by-side table"

section "side by side"
if [ -f "$OUT/grpo/results.json" ] && [ -f "$OUT/peer/results.json" ]; then
    python3 "$here/compare_runs.py" "$OUT/grpo/results.json" "$OUT/peer/results.json" | tee "$OUT/comparison.md"
fi
echo
echo "run-on-device: check program exit status $check_status ($([ $check_status -eq 0 ] && echo 'every parity check passed' || echo 'a parity check FAILED'))"
exit $check_status
