#!/bin/sh
# Regenerates the avo assembly in kernels/ and fails if the committed files
# differ from what the generator produces (run from anywhere; CI runs it).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
go generate ./kernels/
git diff --exit-code -- 'kernels/*_amd64.s' 'kernels/*_stub_amd64.go'
untracked=$(git ls-files --others --exclude-standard -- 'kernels/*_amd64.s' 'kernels/*_stub_amd64.go')
if [ -n "$untracked" ]; then
	echo "asm/check.sh: generated files not committed: $untracked" >&2
	exit 1
fi
echo "asm/check.sh: generated assembly is up to date"
