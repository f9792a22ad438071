#!/usr/bin/env bash
# Installs chDB (the ClickHouse engine as a Python module) for the dev/test
# bridge in this directory. Idempotent; quiet on success except the version.
set -euo pipefail

CHDB_VERSION="4.4.0"
PYTHON="${PYTHON:-python3}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
	echo "install.sh: $PYTHON not found; install Python >= 3.9 first" >&2
	exit 1
fi

installed="$("$PYTHON" -c 'import chdb; print(chdb.__version__)' 2>/dev/null || true)"
if [ "$installed" != "$CHDB_VERSION" ]; then
	"$PYTHON" -m pip install --quiet --disable-pip-version-check "chdb==${CHDB_VERSION}"
	installed="$("$PYTHON" -c 'import chdb; print(chdb.__version__)')"
fi
echo "chdb ${installed}"
