#!/usr/bin/env bash
# Install what the dashboard's browser test (tests/report/test_dashboard_browser.py) needs from Debian:
# the `chromium` browser (driven by Python Playwright through executable_path=/usr/bin/chromium; no
# browser download) and a font. Idempotent and quiet: does nothing when chromium is already there.
# Needs root (CI runs as root) or sudo.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "install-browser: $(chromium --version 2>/dev/null | head -n1) already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-browser: need root or sudo to apt-get install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
echo "install-browser: installed $(chromium --version 2>/dev/null | head -n1)"
