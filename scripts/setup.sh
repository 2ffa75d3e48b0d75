#!/usr/bin/env bash
# Set-up for a fresh Debian/Ubuntu machine, online or offline (Debian's
# package mirror and the npm registry are all it needs):
#   - the packages the build and the tests use,
#   - `npm ci`, which builds the native addon (node-gyp) and dist/ (tsc),
#   - the busybox root filesystem, imported as the image localhost/busybox
#     that the main job runs offline,
#   - `tsrun` and `tsrun-oci` on PATH (npm link).
# Run as root: `sudo bash scripts/setup.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (sudo bash scripts/setup.sh)" >&2; exit 1; }

# podman (+runc, conmon) is the client of the tsrun-oci interop tests; QEMU and
# the kernel image run the cgroup v2 VM tier; procps provides `ps` for top.
# The image tests push to a real registry on loopback: docker-registry is
# Debian's distribution server, skopeo pushes OCI layouts to it, htpasswd -B
# makes its bcrypt users, openssl signs its token server's JWTs, zstd
# compresses zstd layers. Bridge networking runs ip (iproute2), nft
# (nftables) and nsenter (util-linux); its tests fetch with curl. Build's
# ADD unpacks bzip2 and xz archives with bzip2 and xz (xz-utils). The addon
# links libseccomp (libseccomp-dev); the monitor's log compressor links zlib
# statically (zlib1g-dev). The interop tests build the OCI
# runtime-tools suite and crictl with Go (golang-go) and drive containerd
# (its CRI plugin with Debian's loopback and host-local CNI plugins). The API
# service's tests drive it with real clients: the docker CLI 20.10 (docker.io;
# dockerd is never started), docker-compose and docker-py (python3-docker,
# run by pytest).
packages=(busybox-static tmux python3 make g++ libseccomp-dev zlib1g-dev procps podman runc qemu-system-x86 cpio
  docker-registry skopeo apache2-utils openssl zstd iproute2 nftables util-linux curl bzip2 xz-utils
  golang-go containerd containernetworking-plugins docker.io docker-compose python3-docker python3-pytest)
# The VM tier boots a distribution kernel: Debian's package, or Ubuntu's.
if grep -qi '^ID=ubuntu' /etc/os-release 2>/dev/null; then
  packages+=(linux-image-generic)
else
  packages+=(linux-image-amd64)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # docker.io is here for its docker CLI only (the API service tests): its
  # daemon must never start, now or at boot. A policy-rc.d that says no
  # keeps the packages' scripts from starting services during the install.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" docker.io "* ]] && command -v systemctl >/dev/null; then
    systemctl disable docker.service docker.socket >/dev/null 2>&1 || true
  fi
fi

npm ci --no-audit --no-fund
busybox=$(bash rootfs-fixtures/busybox.sh | tail -n1)
# The offline main job: the busybox tree as the image localhost/busybox in
# the default store (TSRUN_ROOT if set), imported once.
tsrun=(node -- bin/tsrun)
if [ -z "$("${tsrun[@]}" images -q localhost/busybox)" ]; then
  tar -C "$busybox" --exclude=./.tsrun-fixture -c . |
    "${tsrun[@]}" import -c 'CMD ["sh"]' -m 'built by scripts/setup.sh from busybox-static' - localhost/busybox:latest >/dev/null
fi
if [ "${TSRUN_SETUP_LINK:-1}" = 1 ]; then
  npm link --no-audit --no-fund --ignore-scripts >/dev/null
fi
echo "setup.sh: done; try: sudo tsrun run -it --rm localhost/busybox sh (offline) or sudo tsrun run -it --rm alpine sh"
