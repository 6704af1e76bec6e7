#!/usr/bin/env bash
# Stages the root filesystem of a self-contained Java image for Jib's `scratch` base: a
# jlink-ed Java runtime at /opt/java, the shared libraries it links against, CA certificates,
# /etc/passwd with the non-root user 65532, and /tmp. Nothing is pulled from a registry:
# everything comes from the JDK that runs the build and the build host's libraries, so the
# host must be Linux on the image's architecture (amd64).
#
# Usage: runtime.sh OUTPUT_DIR BASE_IMAGE [JAVA_HOME]
#   BASE_IMAGE "scratch": stage the runtime into OUTPUT_DIR.
#   any other base (e.g. gcr.io/distroless/java17-debian12:nonroot): the base brings Java;
#   OUTPUT_DIR is left empty.
# Called by the `images` Maven profile of operator/ and sidecar/ (see helm/tokengate/README.md).
set -euo pipefail

out=${1:?usage: runtime.sh OUTPUT_DIR BASE_IMAGE [JAVA_HOME]}
base=${2:?usage: runtime.sh OUTPUT_DIR BASE_IMAGE [JAVA_HOME]}
java_home=${3:-${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}}

rm -rf "$out"
mkdir -p "$out"
if [[ $base != scratch ]]; then
  echo "[runtime] base image $base provides Java; nothing to stage"
  exit 0
fi

die() {
  echo "[runtime] ERROR: $*" >&2
  exit 1
}
[[ $(uname -s) == Linux ]] || die "a scratch-based image needs a Linux build host (this is $(uname -s)); use -Dtokengate.image.base=gcr.io/distroless/java17-debian12:nonroot"
[[ $(uname -m) == x86_64 ]] || die "the scratch-based image is linux/amd64; this host is $(uname -m); use -Dtokengate.image.base=<a JRE image>"
[[ -x $java_home/bin/jlink ]] || die "no jlink in $java_home (need a full JDK)"
# JDK 24+ (JEP 493) can link from its own run-time image when it ships no jmods (Temurin 25).
feature=$("$java_home/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')
[[ -d $java_home/jmods || ${feature:-0} -ge 24 ]] || die "no jmods in $java_home: this JDK cannot jlink a runtime"

# The Java SE platform plus the JDK modules servers use (elliptic-curve crypto, DNS, JFR, the
# unsupported sun.misc API Netty relies on). The desktop module stays for java.beans, but its
# native GUI libraries are removed below: the runtime is headless.
modules=java.se,jdk.unsupported,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.management,jdk.management.jfr,jdk.jfr,jdk.naming.dns,jdk.net,jdk.zipfs,jdk.localedata
rt="$out/opt/java"
compress=2
((${feature:-17} >= 21)) && compress=zip-6
echo "[runtime] jlink $java_home (Java $feature) -> /opt/java"
"$java_home/bin/jlink" --add-modules "$modules" --include-locales=en,de,fr,es,ja,zh \
  --strip-debug --no-man-pages --no-header-files --compress="$compress" --output "$rt"
rm -f "$rt"/lib/{libawt_xawt,libjawt,libsplashscreen,libjsound,libfontmanager,liblcms,libjavajpeg,libmlib_image}.so

# Trust store: Debian's JDK links lib/security/cacerts to the system store; copy the content.
rm -f "$rt/lib/security/cacerts"
cp -L "$java_home/lib/security/cacerts" "$rt/lib/security/cacerts"
[[ $(stat -c %s "$rt/lib/security/cacerts") -gt 10000 ]] || die "$java_home/lib/security/cacerts holds no CA certificates"

# Shared libraries the runtime links against, at the paths the dynamic loader searches.
declare -A libs=()
while IFS= read -r elf; do
  while IFS= read -r lib; do
    [[ -n $lib && $lib != "$rt"* ]] && libs[$lib]=1
  done < <(ldd "$elf" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
done < <(find "$rt" -type f \( -name '*.so' -o -path '*/bin/*' -o -name jspawnhelper \))
# glibc loads libgcc_s at run time (thread cancellation, unwinding); it never shows in ldd.
# awk reads to the end: exiting early would kill ldconfig with SIGPIPE (exit 141 under pipefail).
gcc_s=$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ && !found { print $NF; found = 1 }')
[[ -n $gcc_s ]] && libs[$gcc_s]=1
for lib in "${!libs[@]}"; do
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done
# On merged-/usr hosts ldd reports /lib/...; the loader also searches /usr/lib/... .
echo "[runtime] copied ${#libs[@]} shared libraries: $(printf '%s ' "${!libs[@]}" | xargs -n1 basename | sort | xargs)"

mkdir -p "$out/etc" "$out/tmp"
cat >"$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$out/etc/group" <<'GROUP'
root:x:0:
nonroot:x:65532:
GROUP
echo 'hosts: files dns' >"$out/etc/nsswitch.conf"
mkdir -p "$out/home/nonroot"
echo "[runtime] staged $(du -sh "$out" | cut -f1) in $out"
