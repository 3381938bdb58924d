#!/usr/bin/env bash
# CUDA paths and GPU throughput, in one short run (about 3 minutes on one H200).
#
#   bash benchmarks/gpu_check.sh [OUTDIR]
#
# 1. train a small conv-vae on shapes with --device cuda (1 epoch, 4,096 images);
# 2. kl-report --device cuda over 100,000 shapes, alone, with --workers 4, and under torchrun (nccl, every GPU);
# 3. disentangle --device cuda with default settings (the samplers' encoding on the GPU);
# 4. encoder images/s: latentkit's encoding pass against a plain torch loop on the same GPU,
#    at batch 64, 256 and 1024, with the data rendered on the CPU (as latentkit does) and
#    pre-loaded on the GPU (the model alone), which says whether data or model is the bottleneck.
# Prints one line per step. To check the script on a CPU: DEVICE=cpu N=2000 DISENTANGLE_ARGS="--metrics mig --n 500".
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-/tmp/latentkit-gpu-check}}
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
N=${N:-100000}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
step() { local name=$1; shift; local start=$(date +%s.%N); "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; local rc=$?
  printf '%-28s rc=%s %6.1f s  %s\n' "$name" "$rc" "$(echo "$(date +%s.%N) - $start" | bc)" "$(tail -n 1 "$OUT/$name.err" | cut -c1-160)"; }
nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.device_count())"
GPUS=$($PY -c "import torch; print(max(1, torch.cuda.device_count()))")

step train $PY -m latentkit train vae --data shapes --n 4096 --epochs 1 --out "$OUT/conv.safetensors" --device "$DEVICE"
CKPT="$OUT/conv.safetensors"
[ -f "$CKPT" ] || $PY -c "
import torch, sys
from latentkit.models.builtin import CONV_VAE
from latentkit.models.checkpoint import save
torch.manual_seed(0); c = {'image_shape': [1, 64, 64], 'latent_dim': 10}
save(CONV_VAE.build(c), sys.argv[1], plugin='conv-vae', config=c, dataset='shapes')" "$CKPT"
step kl_report $PY -m latentkit -q kl-report "$CKPT" --data shapes --n "$N" --device "$DEVICE" --out "$OUT/kl1" --json
step kl_report_workers4 $PY -m latentkit -q kl-report "$CKPT" --data shapes --n "$N" --device "$DEVICE" \
    --workers 4 --out "$OUT/klw" --json
step kl_report_torchrun $PY -m torch.distributed.run --nproc-per-node "$GPUS" -m latentkit -- -q kl-report "$CKPT" \
    --data shapes --n "$N" --device "$DEVICE" --out "$OUT/klN" --json
$PY - "$OUT/kl_report.out" "$OUT/kl_report_torchrun.out" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
diff = max(abs(x - y) for x, y in zip(a["results"]["kl"]["per_dim"], b["results"]["kl"]["per_dim"]))
print(f"kl-report alone vs torchrun: max |diff| of per-dimension KL {diff:.1e}")
PYEOF
step disentangle $PY -m latentkit -q disentangle "$CKPT" --data shapes --device "$DEVICE" --out "$OUT/dis" ${DISENTANGLE_ARGS:-}
grep -h "time per metric" "$OUT/disentangle.out" || true

$PY - "$CKPT" "$DEVICE" "$N" <<'PYEOF'
import sys, time
import numpy as np, torch
from latentkit.data import open_data
from latentkit.encode import encode_posterior
from latentkit.models.checkpoint import load
ckpt, device, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = load(ckpt, device).model
source = open_data("shapes", limit=n, seed=0)
sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
def best(f, rounds=3):
    times = []
    for _ in range(rounds):
        sync(); start = time.perf_counter(); f(); sync(); times.append(time.perf_counter() - start)
    return min(times)
resident = torch.from_numpy(np.concatenate([b.x for b in source.batches(4096)])).to(device)
for bs in (64, 256, 1024):
    def plain_rendered():
        with torch.inference_mode():
            for batch in source.batches(bs):
                model.encode(torch.from_numpy(batch.x).to(device))
    def plain_resident():
        with torch.inference_mode():
            for i in range(0, n, bs):
                model.encode(resident[i : i + bs])
    def ours():
        encode_posterior(model, source, batch_size=bs, device=device)
    def ours_workers():
        encode_posterior(model, source, batch_size=bs, device=device, workers=4)
    t_render = best(lambda: [None for _ in source.batches(bs)])
    t_res, t_plain, t_ours = best(plain_resident), best(plain_rendered), best(ours)
    t_workers = best(ours_workers, rounds=2)
    print(f"batch {bs:5d}: latentkit {n / t_ours:9.0f} img/s, --workers 4 {n / t_workers:9.0f} img/s | "
          f"plain loop {n / t_plain:9.0f} img/s (ratio {t_plain / t_ours:.2f}) | "
          f"model alone, data on {device} {n / t_res:9.0f} img/s | "
          f"rendering alone {n / t_render:9.0f} img/s -> bottleneck {'data' if t_render > t_res else 'model'}")
PYEOF
