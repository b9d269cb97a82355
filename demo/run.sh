#!/usr/bin/env bash
# The zero-downtime demo (`bash demo/run.sh` or `make demo`): on a Debian machine, as root, it
# installs the packages the simulated servers need (only the missing ones),
# builds kamal, then runs demo/main.go: two simulated servers and a
# registry come up, `kamal setup` deploys the sample app (demo/app), and
# `kamal deploy` ships a second version while a bounded request loop
# checks that no request fails. Everything is torn down at the end; pass
# -keep to leave the servers up (then `make demo-down`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

if [ "$(id -u)" != 0 ]; then
	echo "demo: must run as root (the simulated servers are network namespaces)" >&2
	exit 1
fi
command -v go >/dev/null || { echo "demo: go not found (expected in /usr/local/go/bin)" >&2; exit 1; }

packages=(docker.io openssh-server openssh-client docker-registry iproute2 iptables git)
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "==> installing ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

echo "==> building kamal"
mkdir -p bin
CGO_ENABLED=0 go build -o bin/kamal ./cmd/kamal
exec go run ./demo -kamal bin/kamal "$@"
