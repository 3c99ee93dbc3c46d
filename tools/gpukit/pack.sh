#!/bin/bash
# gpukit: pack headless Chromium, its libraries, the GL/Vulkan loaders and the project's bench
# page into pieces for a GPU host without network (one piece per command sent there), then print the commands.
#
# usage: pack.sh PROJECT_DIR [--out DIR] [--piece-mib N] [--force]
#   PROJECT_DIR   a built checkout (`make setup` done, so web/vendor exists)
#   --out DIR     where to write (default PROJECT_DIR/.gpu). DIR must lie inside the git checkout
#                 that travels to the GPU host; "/<DIR relative to that checkout>/" is added to the
#                 checkout's .git/info/exclude
#   --piece-mib N cap on a piece (default: 64 MiB minus what the checkout sends on every call)
#   --force       rebuild the cached items (Chromium, libraries, loaders, vendor files)
# Needs: Debian bookworm amd64, root (apt-get download), Debian's chromium installed (its
# libraries are collected with ldd), python3, git, xz. Re-running is quick: built items are
# cached in DIR/build and only the project's own files (kit/app.tar.gz) are re-packed.
set -euo pipefail

# ---- what of the project is packed (adapt here if the project moves things) -----------------
APP_PATHS=('web/*.html' web/js web/css src tools/webdl_tools)  # pages, scripts, styles; src/ and the host tools for the driver
WHEEL_MANIFEST=web/vendor/manifest.json              # names the webdl wheel ("webdl_wheel")
VENDOR_PATHS=(web/vendor/pyodide web/vendor/tfjs web/vendor/editor.js web/vendor/programs web/vendor/conformance
              web/vendor/models/esrgan-slim/x2 web/vendor/models/esrgan-medium/x2)
GL_DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)  # the GL/Vulkan loaders the GPU host lacks
# ldd results left out: glibc and the C++ runtime, which the GPU machine has (newer)
SKIP_LIBS='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libresolv\.so|libutil\.so|libanl\.so|libstdc\+\+\.so|libgcc_s\.so)'
LIMIT_MIB=64          # the most one transfer to the GPU host may carry
MARGIN_MIB=1

die() { echo "pack.sh: $*" >&2; exit 1; }
say() { echo "pack.sh: $*" >&2; }

KIT_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || die "usage: pack.sh PROJECT_DIR [--out DIR] [--piece-mib N] [--force]"
PROJECT=$(cd "$1" && pwd) || die "no such folder: $1"; shift
OUT="" PIECE_MIB="" FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --piece-mib) PIECE_MIB=$2; shift 2 ;;
    --force) FORCE=1; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[ -n "$OUT" ] || OUT=$PROJECT/.gpu
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
TOP=$(git -C "$OUT" rev-parse --show-toplevel 2>/dev/null) || die "$OUT is not inside a git checkout"
REL=${OUT#"$TOP"/}
[ "$REL" != "$OUT" ] || die "--out must be a folder below the checkout's root ($TOP)"
BUILD=$OUT/build
mkdir -p "$BUILD/items" "$BUILD/debs"

# ---- checks --------------------------------------------------------------------------------
[ "$(dpkg --print-architecture)" = amd64 ] || die "needs an amd64 Debian host (the GPU machine is x86-64)"
for f in web/bench.html "$WHEEL_MANIFEST" src; do
  [ -e "$PROJECT/$f" ] || die "$PROJECT/$f is missing: run 'make setup' in the project first"
done
WHEEL=web/vendor/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["webdl_wheel"])' "$PROJECT/$WHEEL_MANIFEST")
[ -f "$PROJECT/$WHEEL" ] || die "$PROJECT/$WHEEL is missing: run 'make setup' in the project first"
for f in "${VENDOR_PATHS[@]}"; do [ -e "$PROJECT/$f" ] || die "$PROJECT/$f is missing: run 'make setup'"; done
[ -x /usr/lib/chromium/chromium ] || die "Debian's chromium is not installed (make setup installs it; or apt-get install chromium)"

# ---- .deb files: the apt cache first, then apt-get download (apt-get update once if needed) ---
APT_UPDATED=0
apt_download() {  # SPEC DEST
  (cd "$2" && apt-get -q -o APT::Sandbox::User=root download "$1") >/dev/null 2>&1 && return 0
  if [ $APT_UPDATED = 0 ]; then
    say "apt-get update"; apt-get -q update >/dev/null || true; APT_UPDATED=1
    (cd "$2" && apt-get -q -o APT::Sandbox::User=root download "$1") >/dev/null 2>&1 && return 0
  fi
  return 1
}
get_deb() {  # NAME [VERSION] -> prints the path of the .deb, copied into $BUILD/debs
  local name=$1 ver=${2:-} f tmp
  [ -n "$ver" ] || ver=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || true)
  [ -n "$ver" ] || ver=$(apt-cache policy "$name" 2>/dev/null | awk '/Candidate:/ {print $2}')
  [ "$ver" != "(none)" ] || ver=""
  if [ -n "$ver" ]; then
    for f in "$BUILD/debs/${name}_${ver//:/%3a}_"{amd64,all}.deb \
             "/var/cache/apt/archives/${name}_${ver//:/%3a}_"{amd64,all}.deb; do
      if [ -f "$f" ]; then
        [ "$(dirname "$f")" = "$BUILD/debs" ] || cp "$f" "$BUILD/debs/"
        echo "$BUILD/debs/$(basename "$f")"; return 0
      fi
    done
  fi
  tmp=$(mktemp -d "$BUILD/dl.XXXXXX")
  if ! { [ -n "$ver" ] && apt_download "$name=$ver" "$tmp"; }; then
    [ -z "$ver" ] || say "WARNING: $name=$ver cannot be downloaded; taking the archive's current version"
    apt_download "$name" "$tmp" || { rm -rf "$tmp"; die "apt-get download $name failed"; }
  fi
  f=$(ls "$tmp"/*.deb | head -1); mv "$f" "$BUILD/debs/"; rm -rf "$tmp"
  echo "$BUILD/debs/$(basename "$f")"
}

# ---- Chromium, its libraries, the loaders (cached by Chromium's version) -------------------------
CHR_VER=$(dpkg-query -W -f='${Version}' chromium)
STAMP="chromium $CHR_VER; loaders ${GL_DEBS[*]}"
if [ $FORCE = 1 ] || [ "$(cat "$BUILD/chromium.stamp" 2>/dev/null)" != "$STAMP" ] || \
   [ ! -f "$BUILD/items/deps.tar.xz" ]; then
  say "Chromium $CHR_VER: fetching chromium and chromium-common"
  DEB=$(get_deb chromium "$CHR_VER"); COMMON_DEB=$(get_deb chromium-common "$CHR_VER")
  X=$BUILD/x; rm -rf "$X"; mkdir -p "$X/chr" "$X/deps/lib" "$X/deps/fonts"
  dpkg-deb -x "$DEB" "$X/chr"; dpkg-deb -x "$COMMON_DEB" "$X/chr"
  L=$X/chr/usr/lib/chromium
  [ -x "$L/chromium" ] || die "no usr/lib/chromium/chromium in $DEB"
  cp "$DEB" "$BUILD/items/chromium.deb"
  # chromium-common, less the Vulkan validation layer, the mock ICD and the other locales
  say "packing chromium-common (xz)"
  (cd "$L" && find . -type f ! -name chromium ! -name '*.TOC' ! -name 'libVkLayer_khronos_validation*' \
      ! -name 'libVkICD_mock_icd*' ! -path './locales/*' -printf '%P\n' | sort > "$X/common.list"
   [ -f locales/en-US.pak ] && echo locales/en-US.pak >> "$X/common.list"
   tar --owner=0 --group=0 --numeric-owner -cf - -T "$X/common.list" | xz -T0 -6 > "$BUILD/items/chromium-common.tar.xz")
  # every library ldd resolves for the binary except glibc's, NSS's modules, libpci, a font
  say "collecting libraries (ldd)"
  if ldd "$L/chromium" | grep -q "not found"; then
    ldd "$L/chromium" | grep "not found" >&2
    die "some libraries of chromium $CHR_VER are not installed here: apt-get install chromium"
  fi
  ldd "$L/chromium" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r so path; do
    [[ $so =~ $SKIP_LIBS ]] || cp -L "$path" "$X/deps/lib/$so"
  done
  NSSDIR=$(dirname "$(readlink -f "$(ldd "$L/chromium" | awk '$1 == "libnss3.so" {print $3}')")")
  for so in libnss3.so libnssutil3.so libsmime3.so libssl3.so libsoftokn3.so libfreebl3.so \
            libfreeblpriv3.so libnssckbi.so libnssdbm3.so; do
    [ -f "$NSSDIR/$so" ] && cp -L "$NSSDIR/$so" "$X/deps/lib/"
  done
  PCI=$(ldconfig -p | awk '$1 == "libpci.so.3" {print $NF; exit}')
  if [ -z "$PCI" ]; then
    dpkg-deb -x "$(get_deb libpci3)" "$X/pci"; PCI=$(find "$X/pci" -name 'libpci.so.3*' -type f | head -1)
  fi
  cp -L "$PCI" "$X/deps/lib/libpci.so.3"
  # what those dlopen()ed extras need in turn (libsoftokn3 needs libsqlite3, for one)
  for f in "$X"/deps/lib/*; do
    ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r so path; do
      [[ $so =~ $SKIP_LIBS ]] || [ -f "$X/deps/lib/$so" ] || cp -L "$path" "$X/deps/lib/$so"
    done
  done
  FONTS=/usr/share/fonts/truetype/dejavu
  if [ ! -f $FONTS/DejaVuSans.ttf ]; then dpkg-deb -x "$(get_deb fonts-dejavu-core)" "$X/font"; FONTS=$X/font$FONTS; fi
  cp $FONTS/DejaVuSans.ttf $FONTS/DejaVuSansMono.ttf "$X/deps/fonts/"
  say "packing $(ls "$X/deps/lib" | wc -l) libraries (xz)"
  tar -C "$X" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf - deps | xz -T0 -6 > "$BUILD/items/deps.tar.xz"
  # the GL/Vulkan loaders the GPU machine lacks (unpacked into / there, as its README says)
  mkdir -p "$X/gl"
  for p in "${GL_DEBS[@]}"; do cp "$(get_deb "$p")" "$X/gl/"; done
  tar -C "$X/gl" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf "$BUILD/items/gl-loaders.tar" .
  rm -rf "$X"
  echo "$STAMP" > "$BUILD/chromium.stamp"
fi

# ---- the project's vendor files (cached by their names, sizes and times) --------------------------
VSTAMP=$(cd "$PROJECT" && find "${VENDOR_PATHS[@]}" -type f -printf '%p %s %T@\n' | sort | sha256sum | cut -c1-64)
if [ $FORCE = 1 ] || [ "$(cat "$BUILD/vendor.stamp" 2>/dev/null)" != "$VSTAMP" ] || [ ! -f "$BUILD/items/vendor.tar.xz" ]; then
  say "packing the vendor files (xz)"
  tar -C "$PROJECT" --owner=0 --group=0 --numeric-owner --sort=name -cf - "${VENDOR_PATHS[@]}" \
    | xz -T0 -6 > "$BUILD/items/vendor.tar.xz"
  echo "$VSTAMP" > "$BUILD/vendor.stamp"
fi

# ---- the kit: device-side scripts and the project's own files (re-packed on every run) -----------
rm -rf "$OUT/kit"; mkdir -p "$OUT/kit"
cp "$KIT_SRC"/device/* "$OUT/kit/"
(cd "$PROJECT" && shopt -s nullglob && APP=() && for p in "${APP_PATHS[@]}"; do APP+=($p); done &&
 tar --owner=0 --group=0 --numeric-owner --sort=name --exclude=__pycache__ --exclude='*.pyc' \
   --exclude='*.egg-info' -czf "$OUT/kit/app.tar.gz" "${APP[@]}" "$WHEEL_MANIFEST" "$WHEEL")
echo "$PROJECT @ $(git -C "$PROJECT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$PROJECT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)'), packed $(date -u +%FT%TZ); Chromium $CHR_VER" > "$OUT/kit/PACKED"

# ---- pieces: the items as one stream cut into equal pieces that fit the per-call limit -----------
EXCLUDE=$(git -C "$TOP" rev-parse --git-path info/exclude)
case $EXCLUDE in /*) ;; *) EXCLUDE=$TOP/$EXCLUDE ;; esac
mkdir -p "$(dirname "$EXCLUDE")"
grep -qxF "/$REL/" "$EXCLUDE" 2>/dev/null || { echo "/$REL/" >> "$EXCLUDE"; say "added /$REL/ to $EXCLUDE"; }
python3 - "$TOP" "$OUT" "$REL" "$LIMIT_MIB" "$MARGIN_MIB" "${PIECE_MIB:-0}" <<'EOF'
import hashlib, math, os, shutil, subprocess, sys
top, out, rel, limit_mib, margin_mib, piece_mib = sys.argv[1:7]
MiB = 1 << 20
# what the checkout sends on every call: tracked and untracked-not-ignored files, and shared/
names = subprocess.run(["git", "-C", top, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       capture_output=True, check=True).stdout.decode().split("\0")
travel = sum(os.lstat(os.path.join(top, n)).st_size for n in names
             if n and not n.startswith("shared/") and os.path.lexists(os.path.join(top, n))
             and not os.path.isdir(os.path.join(top, n)))
for d, _, fs in os.walk(os.path.join(top, "shared")):
    travel += sum(os.lstat(os.path.join(d, f)).st_size for f in fs)
kit = sum(os.path.getsize(os.path.join(out, "kit", f)) for f in os.listdir(os.path.join(out, "kit")))
cap = int(float(piece_mib) * MiB) if float(piece_mib) > 0 else \
    int(float(limit_mib) * MiB) - travel - kit - 2048 - int(float(margin_mib) * MiB)  # 2 KiB: manifest
if cap < 8 * MiB:
    sys.exit(f"pack.sh: the checkout already sends {travel / MiB:.1f} MiB per call; too little room is left")
order = ["chromium.deb", "chromium-common.tar.xz", "deps.tar.xz", "gl-loaders.tar", "vendor.tar.xz"]
items = []
for name in order:
    p = os.path.join(out, "build", "items", name)
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 22), b""):
            h.update(b)
    items.append((name, p, os.path.getsize(p), h.hexdigest()))
total = sum(i[2] for i in items)
n = math.ceil(total / cap)
size = math.ceil(total / n)
for d in os.listdir(out):
    if d[:1] == "p" and d[1:].isdigit():
        shutil.rmtree(os.path.join(out, d))
for k in range(1, n + 1):
    os.makedirs(os.path.join(out, f"p{k}"))
lines, k, room = [], 1, size
for name, p, sz, sha in items:
    parts, j = [], 0
    with open(p, "rb") as f:
        left = sz
        while left:
            take = min(left, room)
            part = f"{name}.{sha[:10]}.{j:02d}"
            with open(os.path.join(out, f"p{k}", part), "wb") as g:
                while take:
                    b = f.read(min(take, 1 << 22)); g.write(b); take -= len(b); left -= len(b); room -= len(b)
            parts.append(f"p{k}/{part}"); j += 1
            if room == 0 and k < n:
                k, room = k + 1, size
    lines.append(f"{name}\t{sha}\t{sz}\t{','.join(parts)}")
app = os.path.join(out, "kit", "app.tar.gz")
sha = hashlib.sha256(open(app, "rb").read()).hexdigest()
lines.append(f"app.tar.gz\t{sha}\t{os.path.getsize(app)}\tkit/app.tar.gz")
open(os.path.join(out, "kit", "manifest.tsv"), "w").write("\n".join(lines) + "\n")
kit = sum(os.path.getsize(os.path.join(out, "kit", f)) for f in os.listdir(os.path.join(out, "kit")))
pieces = [sum(os.path.getsize(os.path.join(out, f"p{i}", f)) for f in os.listdir(os.path.join(out, f"p{i}")))
          for i in range(1, n + 1)]
print(f"\ngpukit packed: {total / MiB:.1f} MiB in {n} pieces under {out}")
print(f"Each call sends the checkout ({travel / MiB:.1f} MiB) + {rel}/kit ({kit / MiB:.2f} MiB) + one piece; "
      f"largest call {(travel + kit + max(pieces)) / MiB:.1f} MiB of the {limit_mib} MiB limit.")
print("\nDevice calls (tool `run`, no kind needed), chained: the machine stays warm only ~30 s after a call.")
for i in range(1, n + 1):
    cmd = f"bash {rel}/kit/run.sh" if i == n else f"bash {rel}/kit/setup.sh"
    print(f'  {i}. carry ["{rel}/kit", "{rel}/p{i}"]   command: {cmd}')
print("The last call runs the bench (3 rounds took 252 s; default 2) and returns results.json, table.md and logs.tar.gz.")
print(f'Further runs while that machine is warm (re-run pack.sh first if the code changed; it is quick):')
print(f'     carry ["{rel}/kit"]   command: GPU_ROUNDS=2 bash {rel}/kit/run.sh')
print("If a call says the pieces are missing, the machine was given back: make the chained calls again.")
EOF
