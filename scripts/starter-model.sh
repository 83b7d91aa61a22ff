#!/usr/bin/env bash
# Reproduces the shipped starter model (resources/models/lgmsnet-starter) and its model-card
# figures. Steps: data | train | sets | statistics | evaluate | all (default: evaluate, which needs only the model).
#   bash scripts/starter-model.sh evaluate   # Dice on the held-out base and shifted sets (~2 min on 2 cores)
#   bash scripts/starter-model.sh all        # regenerate the data, retrain (~35 min on 2 CPU cores), evaluate
# Needs Node (npx tsx) and Python 3 with PyTorch (LGMS_PYTHON, else /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${LGMS_PYTHON:-/usr/bin/python3}
WORK=${STARTER_WORK:-.tmp/starter}
MODEL=resources/models/lgmsnet-starter
step=${1:-evaluate}

data() {
  # Seeds: 101 train, 202 validation (frozen), 303 held-out test (base and shifted).
  npx tsx src/main/demo/cli.ts pairs --out "$WORK/train" --count 1600 --seed 101 --domain base --size 256
  npx tsx src/main/demo/cli.ts pairs --out "$WORK/val" --count 200 --seed 202 --domain base --size 256
  npx tsx src/main/demo/cli.ts pairs --out "$WORK/test-base" --count 200 --seed 303 --domain base --size 256
  npx tsx src/main/demo/cli.ts pairs --out "$WORK/test-shifted" --count 200 --seed 303 --domain shifted --size 256
}

train() {
  (cd resources/trainer && "$PY" -m lgms_trainer train --data "../../$WORK/train" --val-data "../../$WORK/val" \
    --out "../../$MODEL" --overwrite --size 128 --batch-size 8 --optimizer adamw --time-limit 2100 --seed 1 \
    --id lgmsnet-starter --version 1.0.0 --name "LGMSNet starter (synthetic breast-ultrasound phantoms)" \
    --data-description "1,600 generated breast-ultrasound phantoms (src/main/demo, base domain, seed 101, 256x256) for training; 200 (seed 202) frozen for validation. Synthetic, not clinical.")
}

sets() {
  # Shipped with the model: replay/ (64 of its own training images, seed 101, mixed into every
  # fine-tuning batch so the parent's domain is not forgotten) and reference/ (32 of its frozen
  # validation images, seed 202, on which the registry gate measures forgetting). The generator
  # is deterministic per (seed, index), so these are exactly the first images of those sets.
  rm -rf "$MODEL/replay" "$MODEL/reference"
  npx tsx src/main/demo/cli.ts pairs --out "$MODEL/replay" --count 64 --seed 101 --domain base --size 256
  npx tsx src/main/demo/cli.ts pairs --out "$MODEL/reference" --count 32 --seed 202 --domain base --size 256
}

statistics() {
  # model.json `inputStatistics`: the input histogram's per-bin range on generated phantoms of both
  # scanners (base: the training seed 101; shifted: calibration seed 404), so a series unlike them
  # is shown as such whatever the model's uncertainty (issue 21; figures in docs/benchmarks.md, loop-b).
  npx tsx src/main/models/input-statistics.ts "$MODEL"
}

evaluate() {
  [ -d "$WORK/test-base" ] || {
    npx tsx src/main/demo/cli.ts pairs --out "$WORK/test-base" --count 200 --seed 303 --domain base --size 256
    npx tsx src/main/demo/cli.ts pairs --out "$WORK/test-shifted" --count 200 --seed 303 --domain shifted --size 256
  }
  for set in test-base test-shifted; do
    (cd resources/trainer && "$PY" -m lgms_trainer evaluate --model "../../$MODEL" --data "../../$WORK/$set") >"$WORK/$set.json"
    "$PY" - "$WORK/$set.json" "$set" <<'PYEOF'
import json, sys
result = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
m = result["mean"]
print(f"{sys.argv[2]}: mean Dice {m['dice']:.4f}, IoU {m['iou']:.4f}, sensitivity {m['sensitivity']:.4f}, precision {m['precision']:.4f} over {m['n']} images")
PYEOF
  done
}

case "$step" in
  data) data ;;
  train) train ;;
  evaluate) evaluate ;;
  sets) sets ;;
  statistics) statistics ;;
  all) data; train; sets; statistics; evaluate ;;
  *) echo "usage: $0 data|train|sets|statistics|evaluate|all" >&2; exit 2 ;;
esac
