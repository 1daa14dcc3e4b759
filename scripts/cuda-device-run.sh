#!/usr/bin/env bash
# The CUDA column on a GPU machine that reaches no package index (README: "CUDA on a GPU machine").
#
#   bash scripts/cuda-device-run.sh OUT_DIR [CORPUS_DIR...]
#
# Installs $ORT_GPU_WHEEL (onnxruntime-gpu, default /tmp/ort.whl) under /tmp/site with --no-deps, puts it first
# on PYTHONPATH, and runs the suite from this checkout with the machine's own torch, no tox:
#   default/  the default preset on ort-cuda, the CUDA EP with TF32 off, and the same build's CPU EP,
#             with eager-on-CUDA recorded against eager-on-CPU
#   tf32-off/ the default preset's TorchScript models on ort-cuda under NVIDIA_TF32_OVERRIDE=0, eager on CUDA too
#   fallback/ the smoke preset on ort-cuda asked for a GPU that does not exist: must say FALLBACK
#   dtypes/   the full preset's fp16, bf16 and fp64 cases on ort-cuda and ort-cpu
#   corpus/   the ONNX LSTM node cases (attributes other producers emit) on ort-cuda and ort-cpu
#   corpus-NAME/  each CORPUS_DIR given (export-corpus output, e.g. made elsewhere with the pinned torch)
#             on ort-cuda, the CUDA EP with TF32 off, and the CPU EP
# Each step stops at the shared deadline (RUN_BUDGET_S, default 420 s) so the archives are always written.
set -u
out=${1:?usage: cuda-device-run.sh OUT_DIR [CORPUS_DIR...]}
shift
wheel=${ORT_GPU_WHEEL:-/tmp/ort.whl}
deadline=$((SECONDS + ${RUN_BUDGET_S:-420}))
mkdir -p "$out"
log="$out/device.log"
exec > >(tee -a "$log") 2>&1

step() {
  local left=$((deadline - SECONDS))
  if [ "$left" -lt 15 ]; then echo "== skipped (out of time): $*"; return; fi
  echo "== $* (at most ${left}s)"
  local start=$SECONDS
  timeout "$left" "$@"
  echo "== exit $? after $((SECONDS - start))s"
}

if [ -f "$wheel" ]; then
  cp "$wheel" /tmp/onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \
    /tmp/onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl || exit 1
fi
export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
# CUDA, cuBLAS and cuDNN come from the nvidia-* packages beside the machine's torch.
nvidia_libs=$(python3 -c "import os, nvidia; print(':'.join(sorted({os.path.join(p, d, 'lib') for p in nvidia.__path__ for d in os.listdir(p) if os.path.isdir(os.path.join(p, d, 'lib'))})))")
export LD_LIBRARY_PATH=$nvidia_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 - <<'EOF'
import onnxruntime, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      "allow_tf32 (cudnn)", torch.backends.cudnn.allow_tf32)
print("onnxruntime", onnxruntime.__version__, onnxruntime.__file__, onnxruntime.get_available_providers())
EOF
python3 -m conformance list --runtimes

step python3 -m conformance run --preset default --no-progress --overwrite --out "$out/default" --eager-cuda \
  --runtimes ort-cuda,ort:CUDAExecutionProvider,ort-cpu --runtime-option ort:CUDAExecutionProvider:use_tf32=0
# The same TorchScript models with TF32 off process-wide (cuBLAS and cuDNN): eager on CUDA and ort-cuda both.
NVIDIA_TF32_OVERRIDE=0 step python3 -m conformance run --preset default --exporters torchscript --no-progress --overwrite \
  --out "$out/tf32-off" --eager-cuda --runtimes ort-cuda
step python3 -m conformance run --preset smoke --no-progress --overwrite --out "$out/fallback" \
  --runtimes ort-cuda --runtime-option ort-cuda:device_id=7
step python3 -m conformance run --preset full -k fp16 -k bf16 -k fp64 --no-progress --overwrite --out "$out/dtypes" \
  --eager-cuda --runtimes ort-cuda,ort-cpu
step python3 -m conformance export-corpus --preset smoke --node-cases --no-progress --out "$out/corpus"
step python3 -m conformance run-corpus "$out/corpus" --runtimes ort-cuda,ort-cpu --no-progress --overwrite --out "$out/corpus-run"
for corpus in "$@"; do
  step python3 -m conformance run-corpus "$corpus" --no-progress --overwrite --out "$out/corpus-$(basename "$corpus")" \
    --expectations cases/expectations.toml \
    --runtimes ort-cuda,ort:CUDAExecutionProvider,ort-cpu --runtime-option ort:CUDAExecutionProvider:use_tf32=0
done

# What comes back: results and logs in one archive, reports in another (each well under 16 MiB).
(cd "$out" && tar czf results.tar.gz --ignore-failed-read */results.jsonl */logs 2>/dev/null; \
  tar czf reports.tar.gz --ignore-failed-read */report.html 2>/dev/null; ls -l)
