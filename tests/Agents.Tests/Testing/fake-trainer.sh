#!/usr/bin/env bash
# A stand-in for emo-train with the same contract, driven by its (numeric) hyperparameters:
#   fake-trainer.sh <kind> (--data <file://uri> --data-sha256 <hex> | --generate [--<name> <value>]...) --out <dir>
#                   [--publish] [--epochs N] [--epoch_ms MS] [--fail_code N] [--hang 1] [--ignore_term 1] [--device cpu|cuda]
# Checks the dataset's sha256 (exit 2 when it differs); writes args.txt, env.txt and trainer.pid into --out; prints
# EMO_EPOCH lines; on success writes model.onnx, metrics.json, baseline.json, params.json, prints EMO_RESULT and, with
# --publish, an EMO_OUTPUT line per file (its own files: the agent adopts them from its working folder); --fail_code
# exits with that code after an error on stderr; --hang starts a child (child.pid) and waits forever.
set -u
kind=$1; shift
all="$kind $*"
out='' data='' data_sha256='' publish=0 epochs=3 epoch_ms=100 fail_code=0 hang=0 ignore_term=0
while (($#)); do
  case $1 in
    --generate) shift ;;
    --publish) publish=1; shift ;;
    --data-sha256) data_sha256=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --epoch_ms) epoch_ms=$2; shift 2 ;;
    --fail_code) fail_code=$2; shift 2 ;;
    --hang) hang=$2; shift 2 ;;
    --ignore_term) ignore_term=$2; shift 2 ;;
    *) shift 2 ;;
  esac
done
[[ -n $out ]] || { echo "fake-trainer: --out is required" >&2; exit 2; }
mkdir -p "$out"
printf '%s\n' "$all" > "$out/args.txt"
env | grep -E '^(MLFLOW_|CUDA_VISIBLE_DEVICES|OMP_NUM_THREADS)' | sort > "$out/env.txt"
echo $$ > "$out/trainer.pid"
data=${data#file://}
if [[ -n $data && ! -r $data ]]; then echo "fake-trainer: cannot read $data" >&2; exit 2; fi
if [[ -n $data_sha256 && $(sha256sum "$data" | cut -d' ' -f1) != "$data_sha256" ]]; then
  echo "fake-trainer: --data: the content does not match the recorded sha256" >&2; exit 2
fi
echo "fake-trainer: training $kind for $epochs epochs"
if [[ $ignore_term != 0 ]]; then trap '' TERM; fi
if [[ $hang != 0 ]]; then
  sleep 300 & echo $! > "$out/child.pid"
  wait
  exit 0
fi
for ((e = 1; e <= epochs; e++)); do
  sleep "$(awk "BEGIN { print $epoch_ms / 1000 }")"
  echo "EMO_EPOCH {\"epoch\":$e,\"epochs\":$epochs,\"seconds\":0.1,\"metrics\":{\"loss\":0.$((9 - e))}}"
done
if [[ $fail_code != 0 ]]; then
  echo "fake-trainer: line 3 of the data is malformed" >&2
  exit "$fail_code"
fi
printf 'fake onnx model of run %s\n' "${MLFLOW_RUN_ID:-?}" > "$out/model.onnx"
echo '{"hr@10":0.71,"ndcg@10":0.43,"baseline_hr@10":0.4}' > "$out/metrics.json"
echo '{"features":{}}' > "$out/baseline.json"
echo "{\"epochs\":$epochs}" > "$out/params.json"
echo 'EMO_RESULT {"metrics":{"hr@10":0.71,"ndcg@10":0.43,"baseline_hr@10":0.4}}'
if [[ $publish != 0 ]]; then
  for pair in model:model.onnx metrics:metrics.json baseline:baseline.json params:params.json; do
    file=$(cd "$out" && pwd)/${pair#*:}
    echo "EMO_OUTPUT {\"name\":\"${pair%%:*}\",\"uri\":\"file://$file\",\"sha256\":\"$(sha256sum "$file" | cut -d' ' -f1)\"}"
  done
fi
exit 0
