#!/usr/bin/env bash
# The joint phase on a lent GPU machine, in one call (docs/adversarial.md, "On a GPU").
#
# Here, once:   make device-photos          # data/device-photos: train + validation, 15 MiB
# Device call:  run(command="bash scripts/device_train.sh 480 --generator-loss relativistic",
#                   carry=["data/device-photos"], timeout_s=590)
#
# Fine-tunes `accurate` against the local context discriminator on the GPU for SECONDS (then SIGINT:
# the run checkpoints and stops, as on Ctrl-C), with the recipe below plus any extra `glcic train`
# options, and copies what should come back into $OUT (at most 8 files): the last three snapshots,
# metrics.jsonl, discriminator_scores.jsonl, config.json and the last sample sheet. The machine's
# own python3 and torch are used (nothing is installed); the project must never need a GPU, and
# this script is the only place that asks for one. The recipe is `real-r3`'s (docs/adversarial.md,
# section 8: the relativistic loss, the local discriminator alone, a slow completion network), the
# one whose discriminator stayed ahead on the CPU; later options override it.
set -euo pipefail
seconds=${1:?usage: scripts/device_train.sh SECONDS [glcic train options...]}
shift
out=${OUT:-/tmp/glcic-device-out}
run=${RUN_DIR:-/tmp/glcic-device-run}
device=${DEVICE:-cuda}
photos=${PHOTOS:-data/device-photos}
mkdir -p "$out"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))"
if [ -f "$run/checkpoint.pt" ]; then
    args=(--resume "$run")
else
    args=(--data "$photos/train" --validation-data "$photos/validation" --run-dir "$run" --device "$device"
          --preset cpu --fine-tune accurate --hole-sampler mixed --hole-min 24 --hole-max 64 --resize-min 128 --resize-max 384
          --augment --optimizer adam --learning-rate 3e-5 --discriminator-learning-rate 4e-4 --reconstruction-loss l1
          --alpha 0.1 --discriminator-shift 4 --discriminator-batch mixed --discriminator-antialias --freeze-upsampling
          --discriminator-hole --generator-loss relativistic --discriminators local
          --grid-weight 0.05 --grid-tile 32 --batch-size "${BATCH:-64}" --workers "${WORKERS:-8}"
          --discriminator-iterations "${DISCRIMINATOR_ITERATIONS:-1000}" --total-iterations 200000
          --sample-every 500 --snapshot-every 500 --checkpoint-every 500 --log-every 50 --seed 24 --no-progress "$@")
fi
status=0
timeout -s INT -k 60 "$seconds" python3 -m glcic train "${args[@]}" || status=$?
echo "glcic train ended with status $status after at most $seconds s"
tail -n 5 "$run/log.txt" || true
ls "$run/snapshots" 2>/dev/null | tail -n 3 | while read -r name; do cp "$run/snapshots/$name" "$out/"; done
for name in metrics.jsonl discriminator_scores.jsonl config.json; do
    [ -f "$run/$name" ] && cp "$run/$name" "$out/"
done
last=$(ls "$run/samples" 2>/dev/null | tail -n 1 || true)
[ -n "$last" ] && cp "$run/samples/$last" "$out/"
ls -la "$out"
