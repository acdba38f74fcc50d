#!/usr/bin/env bash
# Compiles the DSDT source core/machine/firmware/dsdt.asl with iasl (Debian
# package acpica-tools) and writes the AML as the TypeScript module
# core/machine/firmware/dsdtAml.ts, which is committed. iasl is a build-time
# tool only: nothing at run time or in CI needs it.
#
# Usage: scripts/build-dsdt.sh [OUT_TS]
#   OUT_TS defaults to core/machine/firmware/dsdtAml.ts. The test
#   test/machine/firmware/dsdtAml.test.ts writes to a temporary file and
#   compares it with the committed module.
#
# Fails on any iasl error; iasl warnings and remarks are printed but accepted
# (dsdt.asl explains the one expected warning).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$REPO/core/machine/firmware/dsdt.asl
OUT=${1:-$REPO/core/machine/firmware/dsdtAml.ts}

command -v iasl >/dev/null || { echo "build-dsdt: iasl not found (apt-get install acpica-tools)" >&2; exit 1; }
VERSION=$(iasl -v | sed -n 's/.*version \([0-9]\+\).*/\1/p' | head -n 1)
[ -n "$VERSION" ] || { echo "build-dsdt: cannot read the iasl version" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$SRC" "$WORK/dsdt.asl"
(cd "$WORK" && iasl -p dsdt dsdt.asl >"$WORK/iasl.log" 2>&1) || { cat "$WORK/iasl.log" >&2; exit 1; }
grep -E '^(Warning|Remark|Error)' -B 2 "$WORK/iasl.log" >&2 || true

{
  echo '/**'
  echo ' * GENERATED from dsdt.asl by scripts/build-dsdt.sh (iasl '"$VERSION"'). Do not edit:'
  echo ' * change dsdt.asl and run the script again, then commit both files.'
  echo ' */'
  echo
  echo '/** Version of the iasl that compiled DSDT_AML (the compiler revision in its header). */'
  echo "export const DSDT_IASL_VERSION = '$VERSION';"
  echo
  echo '/** The DSDT exactly as iasl emitted it: a complete table, 36-byte header then AML. */'
  echo 'export const DSDT_AML = new Uint8Array(['
  od -An -v -tx1 "$WORK/dsdt.aml" | awk '{ line = "  "; for (i = 1; i <= NF; i++) line = line "0x" $i ","; sub(/,$/, ",", line); print line }' | sed 's/,0x/, 0x/g'
  echo ']);'
} >"$WORK/dsdtAml.ts"
mv "$WORK/dsdtAml.ts" "$OUT"
echo "build-dsdt: wrote $OUT ($(stat -c %s "$WORK/dsdt.aml") bytes of AML, iasl $VERSION)"
