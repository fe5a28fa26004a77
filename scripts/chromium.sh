#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright cannot download a browser here).
# Installs it from Debian's packages when it is missing; fails with one clear line otherwise.
set -u
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "chromium: $CHROMIUM is missing and apt-get is not available to install it" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -qq && apt-get install -y -qq chromium; } >/tmp/embajador-chromium-install.log 2>&1
[ -x "$CHROMIUM" ] || { echo "chromium: apt-get install chromium failed (see /tmp/embajador-chromium-install.log)" >&2; exit 1; }
