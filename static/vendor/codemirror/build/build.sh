#!/bin/sh
# Rebuilds ../codemirror.bundle.js from entry.js and the versions pinned in package-lock.json.
# Needs Node.js and npm (the registry once, for `npm ci`); the app itself never needs them.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npx esbuild entry.js --bundle --minify --format=iife --target=es2020 --legal-comments=none \
    --outfile=../codemirror.bundle.js
node licences.js > ../LICENSES.txt
echo "Built ../codemirror.bundle.js and ../LICENSES.txt"
