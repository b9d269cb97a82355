#!/bin/sh
# Builds the kamal-proxy image FROM scratch.
#
#   build/kamal-proxy/build.sh                 # build and tag with docker
#   CONTEXT_DIR=/tmp/ctx build/kamal-proxy/build.sh   # only prepare the context
#
# Environment:
#   VERSION   version compiled into the binary (default v0.10.0)
#   IMAGE     image repository (default basecamp/kamal-proxy, what Kamal boots)
#   TAGS      tags to apply (default "v0.9.2 $VERSION"; Kamal refuses < v0.9.2
#             and boots v0.9.2 unless configured otherwise)
#   DOCKER    docker command (default docker)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
VERSION=${VERSION:-v0.10.0}
IMAGE=${IMAGE:-basecamp/kamal-proxy}
TAGS=${TAGS:-"v0.9.2 $VERSION"}
DOCKER=${DOCKER:-docker}
PROXY_UID=1000
PROXY_GID=1000

if [ -n "${CONTEXT_DIR:-}" ]; then
	ctx=$CONTEXT_DIR
	mkdir -p "$ctx"
else
	ctx=$(mktemp -d)
	trap 'rm -rf "$ctx"' EXIT INT TERM
fi
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${CONTEXT_DIR:-}" ] || rm -rf "$ctx"' EXIT INT TERM

# 1. Static binary, built outside Docker (no Go base image needed).
(cd "$repo" && CGO_ENABLED=0 GOOS=linux go build -trimpath \
	-ldflags "-s -w -X github.com/kamalgo/kamal/internal/kamalproxy/cmd.Version=$VERSION" \
	-o "$work/root/usr/local/bin/kamal-proxy" ./cmd/kamal-proxy)

# 2. Root-owned part of the filesystem: user database, CA bundle (for ACME)
#    and a sticky /tmp (socket and buffer spill files live there).
mkdir -p "$work/root/etc/ssl/certs" "$work/root/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nkamal-proxy:x:%s:%s:kamal-proxy:/home/kamal-proxy:/sbin/nologin\n' \
	"$PROXY_UID" "$PROXY_GID" >"$work/root/etc/passwd"
printf 'root:x:0:\nkamal-proxy:x:%s:\n' "$PROXY_GID" >"$work/root/etc/group"
for ca in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
	if [ -f "$ca" ]; then
		cp "$ca" "$work/root/etc/ssl/certs/ca-certificates.crt"
		break
	fi
done
chmod 0755 "$work/root/usr/local/bin/kamal-proxy"
chmod 1777 "$work/root/tmp"
tar --numeric-owner --owner=0 --group=0 -C "$work/root" -cf "$ctx/rootfs.tar" .

# 3. The home directory, owned by the proxy user so the state volume
#    (/home/kamal-proxy/.config/kamal-proxy) is writable.
mkdir -p "$work/home/home/kamal-proxy/.config/kamal-proxy" "$work/home/home/kamal-proxy/.apps-config"
chmod 0755 "$work/home/home" "$work/home/home/kamal-proxy"
chmod 0700 "$work/home/home/kamal-proxy/.config/kamal-proxy"
tar --numeric-owner -C "$work/home" -cf "$ctx/home.tar" \
	--owner=0 --group=0 --no-recursion ./home
tar --numeric-owner -C "$work/home" -rf "$ctx/home.tar" \
	--owner="$PROXY_UID" --group="$PROXY_GID" ./home/kamal-proxy

cp "$here/Dockerfile" "$ctx/Dockerfile"

if [ -n "${CONTEXT_DIR:-}" ]; then
	echo "context prepared in $ctx"
	exit 0
fi

set --
for tag in $TAGS; do
	set -- "$@" -t "$IMAGE:$tag"
done
$DOCKER build "$@" "$ctx"
echo "built: $(for tag in $TAGS; do printf '%s ' "$IMAGE:$tag"; done)"
