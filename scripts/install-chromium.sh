#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser test (test/admin/dashboard.browser.test.ts drives
# it with playwright-core, which downloads no browser of its own). Idempotent and quiet; needs root
# (CI runs as root; developers: sudo bash scripts/install-chromium.sh).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
