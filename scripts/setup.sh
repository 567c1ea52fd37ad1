#!/usr/bin/env bash
# Set up mcuforge on Debian 12: the Debian packages it needs and .venv with mcuforge (editable) and
# its test extras. Idempotent: a second run checks and changes nothing.
#   bash scripts/setup.sh            set up
#   bash scripts/setup.sh --quiet    same, printing only what it changes
set -euo pipefail
cd "$(dirname "$0")/.."
QUIET=0
[ "${1:-}" = "--quiet" ] && QUIET=1
say() { [ "$QUIET" = 1 ] || echo "setup: $*"; }

DEB_PACKAGES=(
  clang-19 lld-19 gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
  gcc cmake make python3 python3-venv python3-dev
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
# Reinstall only when the package metadata changed: the stamp holds a hash of pyproject.toml.
stamp=.venv/.mcuforge-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing mcuforge (editable) with test extras into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import mcuforge, onnxruntime, cffi" # fail here, not in the first test, if the install broke
  echo "$want" > "$stamp"
else
  say ".venv up to date"
fi
say "ready: .venv/bin/mcuforge"
