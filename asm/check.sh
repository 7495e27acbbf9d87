#!/bin/sh
# Regenerates the assembly in kernels/ (avo for amd64, asm/neon for arm64) and fails if the committed files
# differ from what the generator produces (run from anywhere; CI runs it).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
go generate ./kernels/
git diff --exit-code -- 'kernels/*_amd64.s' 'kernels/*_stub_amd64.go' 'kernels/*_arm64.s'
untracked=$(git ls-files --others --exclude-standard -- 'kernels/*_amd64.s' 'kernels/*_stub_amd64.go' 'kernels/*_arm64.s')
if [ -n "$untracked" ]; then
	echo "asm/check.sh: generated files not committed: $untracked" >&2
	exit 1
fi
echo "asm/check.sh: generated assembly is up to date"
