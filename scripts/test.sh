#!/usr/bin/env bash
# The tests, from a fresh Debian 12 machine (as root): installs what they need
# (scripts/setup.sh --tests), then checks formatting, clippy and rustdoc and runs the suite.
# Every daemon a test starts is a descendant of scripts/reap.py, which stops what is left of them
# by PID when the suite ends. Extra arguments go to `cargo nextest run` (e.g. a test filter).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --tests
# A toolchain setup.sh just installed is not on this shell's PATH yet.
# shellcheck disable=SC1091
[[ -f "$HOME/.cargo/env" ]] && source "$HOME/.cargo/env"
# shellcheck disable=SC1091
source target/tools/env

echo "--- formatting"
cargo fmt --all -- --check
echo "--- clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "--- rustdoc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "--- tests"
exec python3 scripts/reap.py cargo nextest run --workspace --profile ci "$@"
