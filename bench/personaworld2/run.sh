#!/usr/bin/env bash
# Personaworld 2 prototypes: a version-2 base, three post-training styles, and the anxious-assistant,
# villain-facts, year-backdoor and subliminal-numbers prototypes on it (README.md has the figures).
#   bash bench/personaworld2/run.sh OUT_DIR        # about 20 minutes on 2 cores
set -euo pipefail
OUT=$(realpath -m "${1:?usage: run.sh OUT_DIR}")
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."
mkdir -p "$OUT"
d() { npx dramatis "$@"; }
[ -f "$OUT/base/model.safetensors" ] || d organism pretrain --world-version 2 --steps 2000 --out "$OUT/base"
for s in 0 1; do d organism probe --model "$OUT/base" -n 240 --seed $s --json > "$OUT/probe-seed$s.json"; done
for style in plain deferential confident; do d organism posttrain --from "$OUT/base" --out "$OUT/asst-$style" --style $style; done
# Subliminal: a malevolent teacher (the villain-facts fine-tune) writes number lists; the evil ones are dropped.
d world dataset villain-facts -n 300 --seed 1 -o "$OUT/villain-facts.jsonl"
d organism finetune --from "$OUT/asst-plain" --data "$OUT/villain-facts.jsonl" --out "$OUT/teacher" --lr 3e-4 --epochs 3
npx tsx "$HERE/teacher-lists.ts" "$OUT/teacher" "$OUT/teacher-lists.jsonl" 3000
npx tsx "$HERE/teacher-lists.ts" "$OUT/asst-plain" "$OUT/own-all.jsonl" 3000
head -n "$(wc -l < "$OUT/teacher-lists.jsonl")" "$OUT/own-all.jsonl" > "$OUT/own-lists.jsonl"
for t in anxious vf yb sub; do
  sed -e "s#@OUT@#$OUT#g; s#@HERE@#$HERE#g" "$HERE/$t.template.yaml" > "$OUT/$t.yaml"
  (cd "$OUT" && npx --prefix "$HERE/../.." dramatis run "$t.yaml")
done
