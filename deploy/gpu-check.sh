#!/usr/bin/env bash
# GPU check, for a machine with an NVIDIA GPU (driver, CUDA 12 runtime and cuDNN 9 for ONNX Runtime's CUDA provider):
#   1. trains the default NeuMF (generated MovieLens-shaped data) with the CUDA libtorch build of emo-train on the GPU,
#      and with the CPU build on the CPU: seconds per epoch;
#   2. measures emo-serve's GPU flavour (ONNX Runtime's CUDA execution provider) and its CPU build with
#      bench/Serving.Bench --quick: /recommend and /score throughput (closed loop, 32 clients).
# /recommend ranks with emo-serve's fused CPU kernel in both flavours (ONNX Runtime, hence CUDA, serves /score and /v2):
# its two numbers should match; /score shows the execution provider.
# Usage: deploy/gpu-check.sh [--cpu-only]    EPOCHS (default 3), OUT (default .emo/gpu-check)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/.emo/gpu-check}
epochs=${EPOCHS:-3}
die() { echo "gpu-check: $*" >&2; exit 1; }

devices=(cpu cuda)
if [[ ${1:-} == --cpu-only ]]; then devices=(cpu)
else
  command -v nvidia-smi >/dev/null || die "nvidia-smi not found: this check needs an NVIDIA GPU and its driver (--cpu-only runs the CPU half)"
  nvidia-smi -L >/dev/null 2>&1 || die "nvidia-smi sees no GPU"
fi
mkdir -p "$out"
cd "$root"

build() { # what it builds, then dotnet build arguments
  local what=$1; shift
  echo "building $what..." >&2
  dotnet build "$@" -c Release -nologo -v q >"$out/build-$what.log" 2>&1 || die "building $what failed (see $out/build-$what.log)"
}
build cpu bench/Serving.Bench   # emo-train, emo-serve (CPU) and the benchmark, in their bin/Release
trainer_cpu=src/Training/bin/Release/net10.0/emo-train.dll
serve_cpu=src/Serving/bin/Release/net10.0/emo-serve.dll
if [[ ${devices[*]} == *cuda* ]]; then
  build train-cuda src/Training -p:LibTorchFlavour=Cuda -o "$out/emo-train-cuda"
  build serve-gpu src/Serving -p:OnnxRuntimeFlavour=Gpu -o "$out/emo-serve-gpu"
  # The shared obj/ folders now hold the GPU restore: restore the CPU one for later plain builds.
  build cpu-again bench/Serving.Bench
fi

declare -A epoch recommend score
for device in "${devices[@]}"; do
  trainer=$trainer_cpu serve=$serve_cpu
  [[ $device == cuda ]] && trainer=$out/emo-train-cuda/emo-train.dll serve=$out/emo-serve-gpu/emo-serve.dll
  echo "training NeuMF on $device ($epochs epochs)..." >&2
  rm -rf "$out/model-$device"
  dotnet "$trainer" recommender --generate --epochs "$epochs" --device "$device" --out "$out/model-$device" >"$out/train-$device.log" 2>&1 ||
    die "training on $device failed (see $out/train-$device.log)"
  epoch[$device]=$(grep -o '"seconds_per_epoch":[0-9.eE+-]*' "$out/train-$device.log" | cut -d: -f2)
  echo "serving benchmark, emo-serve with Serving:Device=$device..." >&2
  dotnet bench/Serving.Bench/bin/Release/net10.0/EventMlOps.Serving.Bench.dll --quick --emo-serve "$serve" --device "$device" \
    >"$out/bench-$device.log" 2>&1 || die "the serving benchmark on $device failed (see $out/bench-$device.log)"
  recommend[$device]=$(grep -m1 'emo-serve /recommend closed loop' "$out/bench-$device.log" | sed -E 's/.*: +([0-9,.]+) ok\/s.*/\1/')
  score[$device]=$(grep -m1 'emo-serve /score closed loop' "$out/bench-$device.log" | sed -E 's/.*: +([0-9,.]+) ok\/s.*/\1/')
  if [[ $device == cuda ]] && grep -qs 'CUDA execution provider is unavailable' "$root"/.emo/serving-bench/emo-serve-*.log; then
    echo "gpu-check: warning: emo-serve fell back to the CPU (see $root/.emo/serving-bench/emo-serve-*.log)" >&2
  fi
done

printf '\n%-6s %18s %26s %22s\n' device "s/epoch (NeuMF)" "/recommend req/s (bench)" "/score req/s (bench)"
for device in "${devices[@]}"; do
  printf '%-6s %18.2f %26s %22s\n' "$device" "${epoch[$device]}" "${recommend[$device]}" "${score[$device]}"
done
echo "logs: $out"
