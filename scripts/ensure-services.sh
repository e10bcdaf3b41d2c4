#!/usr/bin/env bash
# Makes sure the services the tests use are up: PostgreSQL on 127.0.0.1:5432,
# Redis on 127.0.0.1:6379, Prometheus, promtool and Alertmanager, and Go with the
# libraries the Helm renderer builds from. Starts or installs what is missing;
# safe to run again. It never stops or kills a
# process it did not start.
set -euo pipefail

# Debian's maintainer scripts ask /usr/sbin/policy-rc.d whether they may start
# a daemon; exit code 101 means "no". The prometheus package would otherwise
# start a system Prometheus on :9090, in the way of the ones the tests start.
# POLICY_RC_D moves the file for the script's own test.
policy_rc_d="${POLICY_RC_D:-/usr/sbin/policy-rc.d}"

wait_for() { # name, command
  for _ in $(seq 1 30); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "ensure-services: $1 did not come up" >&2
  return 1
}

# install_packages NAME... installs Debian packages without starting any of
# their daemons. It runs in a subshell so that its EXIT trap puts the previous
# policy-rc.d back (or removes ours) however the install ends: success,
# failure under set -e, or an interrupt.
install_packages() (
  echo "ensure-services: installing Debian packages: $*" >&2
  saved=""
  if [ -e "$policy_rc_d" ]; then
    saved="$(mktemp)"
    cp -p "$policy_rc_d" "$saved"
  fi
  restore_policy_rc_d() {
    if [ -n "$saved" ]; then
      mv -f "$saved" "$policy_rc_d"
    else
      rm -f "$policy_rc_d"
    fi
  }
  trap restore_policy_rc_d EXIT
  printf '#!/bin/sh\n# Written by scripts/ensure-services.sh while it installs packages: start no daemons.\nexit 101\n' \
    >"$policy_rc_d"
  chmod 755 "$policy_rc_d"

  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
)

main() {
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "ensure-services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_for PostgreSQL 'pg_isready -h 127.0.0.1 -p 5432 -q'
  fi

  if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    echo "ensure-services: starting Redis" >&2
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    wait_for Redis 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
  fi

  # prometheus and promtool, for the promtool tests and the real-Prometheus e2e tests.
  if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    install_packages prometheus
  fi

  # A real Alertmanager (and amtool) for the alerts' end-to-end and inhibit-rule tests.
  if ! command -v prometheus-alertmanager >/dev/null 2>&1 || ! command -v amtool >/dev/null 2>&1; then
    install_packages prometheus-alertmanager
  fi

  # Go and the libraries tools/helm-render builds from in GOPATH mode (the chart tests: Helm's own
  # template engine and function library, rebuilt offline).
  local gocode=/usr/share/gocode/src/github.com
  if ! command -v go >/dev/null 2>&1 || [ ! -d "$gocode/Masterminds/sprig" ] \
    || [ ! -d "$gocode/xeipuuv/gojsonschema" ] || [ ! -d "$gocode/BurntSushi/toml" ]; then
    install_packages golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev \
      golang-gopkg-yaml.v3-dev golang-github-xeipuuv-gojsonschema-dev golang-github-burntsushi-toml-dev
  fi
}

# Sourcing the file (its test does) defines the functions without running anything.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
