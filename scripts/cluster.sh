#!/usr/bin/env bash
# A cluster from a fresh Debian 12 machine (as root): installs what rkube needs
# (scripts/setup.sh), builds the release binary and runs `rkube up` with the given flags
# (default: the control plane and one real node, data in /var/lib/rkube). It prints the
# `export KUBECONFIG=...` line once the node is Ready; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# A toolchain setup.sh just installed is not on this shell's PATH yet.
# shellcheck disable=SC1091
[[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
cargo build --release --bin rkube
exec target/release/rkube up "$@"
