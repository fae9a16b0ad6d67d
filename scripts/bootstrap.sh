#!/usr/bin/env bash
# Sets up everything Squall needs on a fresh Debian/Ubuntu machine, then runs it or its tests.
#
#   ./dev.sh run [ARGS...]    set up, then launch the window (python main.py ARGS)
#   ./dev.sh test [ARGS...]   set up, then ruff (lint + format check), mypy on core/, pytest ARGS
#   ./dev.sh setup            set up only
#
# Set-up: a Python >= 3.11 with venv; .venv with the exact versions in requirements.lock (reinstalled when the
# lock changes); the Debian libraries Qt's libraries and platform plugins link against (found with ldd, so
# nothing is guessed), plus Xvfb and xauth for the tests. As root it apt-get installs what is missing;
# otherwise it prints the exact apt-get line and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
[ $# -gt 0 ] && shift
case "$mode" in run|test|setup) ;; *) echo "usage: ./dev.sh run|test|setup [ARGS...]" >&2; exit 2 ;; esac

say() { echo "squall setup: $*" >&2; }

# soname -> Debian package (apt picks the t64 variant on newer Ubuntu by itself)
declare -A PKG=(
  [libEGL.so.1]=libegl1 [libGL.so.1]=libgl1 [libGLX.so.0]=libglx0 [libGLdispatch.so.0]=libglvnd0
  [libX11-xcb.so.1]=libx11-xcb1 [libX11.so.6]=libx11-6 [libXau.so.6]=libxau6 [libXdmcp.so.6]=libxdmcp6
  [libdbus-1.so.3]=libdbus-1-3 [libfontconfig.so.1]=libfontconfig1 [libfreetype.so.6]=libfreetype6
  [libglib-2.0.so.0]=libglib2.0-0 [libgthread-2.0.so.0]=libglib2.0-0 [libpng16.so.16]=libpng16-16
  [libxcb-cursor.so.0]=libxcb-cursor0 [libxcb-icccm.so.4]=libxcb-icccm4 [libxcb-image.so.0]=libxcb-image0
  [libxcb-keysyms.so.1]=libxcb-keysyms1 [libxcb-randr.so.0]=libxcb-randr0
  [libxcb-render-util.so.0]=libxcb-render-util0 [libxcb-render.so.0]=libxcb-render0
  [libxcb-shape.so.0]=libxcb-shape0 [libxcb-shm.so.0]=libxcb-shm0 [libxcb-sync.so.1]=libxcb-sync1
  [libxcb-util.so.1]=libxcb-util1 [libxcb-xfixes.so.0]=libxcb-xfixes0 [libxcb-xkb.so.1]=libxcb-xkb1
  [libxcb.so.1]=libxcb1 [libxkbcommon-x11.so.0]=libxkbcommon-x11-0 [libxkbcommon.so.0]=libxkbcommon0
  [libzstd.so.1]=libzstd1 [libbrotlidec.so.1]=libbrotli1 [libbrotlicommon.so.1]=libbrotli1
  [libpcre2-8.so.0]=libpcre2-8-0 [libstdc++.so.6]=libstdc++6 [libdrm.so.2]=libdrm2
  [libwayland-client.so.0]=libwayland-client0 [libwayland-cursor.so.0]=libwayland-cursor0
  [libwayland-egl.so.1]=libwayland-egl1 [libwayland-server.so.0]=libwayland-server0
)

install_packages() {  # install_packages WHY PKG...
  local why=$1; shift
  [ $# -eq 0 ] && return 0
  local line="apt-get install -y --no-install-recommends $*"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing $why: $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $line -qq >/dev/null
  else
    say "missing $why. Run this, then try again:"
    echo "    sudo $line" >&2
    exit 1
  fi
}

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  say "Squall needs Python 3.11 or newer; install it (apt-get install python3) and try again"
  exit 1
}

# 1. Python with venv (Debian splits ensurepip into pythonX.Y-venv)
PY=$(find_python)
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  install_packages "Python's venv module" "python3-venv" "$("$PY" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')"
fi

# 2. The virtual environment, from the lock
stamp=.venv/.requirements.lock.sha256
want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages from requirements.lock into .venv"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.lock
  echo "$want" > "$stamp"
fi

# 3. System libraries Qt links against, found by asking ldd what is missing
qt=$(.venv/bin/python -c 'import os, PySide6; print(os.path.join(os.path.dirname(PySide6.__file__), "Qt"))')
missing_libs=$(for f in "$qt"/lib/libQt6*.so.6 "$qt"/plugins/platforms/libq{xcb,offscreen}.so; do
  [ -e "$f" ] && ldd "$f" 2>/dev/null | awk '/not found/ {print $1}'; done | sort -u)
packages=()
for lib in $missing_libs; do
  if [ -n "${PKG[$lib]:-}" ]; then packages+=("${PKG[$lib]}");
  else say "Qt needs $lib and this script does not know its package; install the package that provides it"; fi
done
[ "$mode" = test ] && { command -v Xvfb >/dev/null || packages+=(xvfb); command -v xauth >/dev/null || packages+=(xauth); }
if [ ${#packages[@]} -gt 0 ]; then
  mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
  install_packages "system libraries for Qt" "${packages[@]}"
fi

case "$mode" in
  setup) say "ready" ;;
  run) exec .venv/bin/python main.py "$@" ;;
  test)
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/mypy
    exec .venv/bin/python -m pytest "$@"
    ;;
esac
