#!/usr/bin/env bash
# Installs the real third-party MCP servers the collector's tests talk to,
# at pinned versions, into a cache directory (npm packages from the npm
# registry). Prints the directory; tests find it through MCPTRAIL_MCP_SERVERS
# or the default below.
#
#   deployments/mcp-servers/install.sh            # install (once) and print the dir
#   MCPTRAIL_MCP_SERVERS=/some/dir install.sh     # install there
set -euo pipefail

EVERYTHING_VERSION=2026.8.31
FILESYSTEM_VERSION=2026.8.31

dir="${MCPTRAIL_MCP_SERVERS:-${MCPTRAIL_CACHE:-$HOME/.cache/mcptrail}/mcp-servers}"
stamp="$dir/.installed-$EVERYTHING_VERSION-$FILESYSTEM_VERSION"

command -v node >/dev/null || { echo "install.sh: node not found (Node.js 18+ is needed)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm not found" >&2; exit 1; }

if [ ! -e "$stamp" ]; then
  mkdir -p "$dir"
  echo "installing MCP servers into $dir" >&2
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/server-everything@$EVERYTHING_VERSION" \
    "@modelcontextprotocol/server-filesystem@$FILESYSTEM_VERSION" >&2
  for bin in mcp-server-everything mcp-server-filesystem; do
    [ -x "$dir/node_modules/.bin/$bin" ] || { echo "install.sh: $bin missing after npm install" >&2; exit 1; }
  done
  touch "$stamp"
fi
echo "$dir"
