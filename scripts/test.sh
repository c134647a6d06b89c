#!/usr/bin/env bash
# The test command: installs what the tests need, checks style, then runs the unit tests of
# every crate and the CLI's integration tests (as root, each test in its own
# BERTH_ROOT/BERTH_RUN under a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The style gate first (DESIGN: fmt --check, clippy -D warnings): cheap, and it fails fast.
cargo fmt --all --check
cargo clippy --workspace --all-targets -q -- -D warnings
# No import cycle between the modules of a crate (issue 11): each arrow points down.
scripts/cycles.sh
cargo build --release -p berth
# A hung test must fail the run, not stall it: the whole suite gets 50 minutes (it needs ~5).
timeout -s KILL 50m cargo test --workspace --release --no-fail-fast -- --test-threads=2
