# Sourced by the other scripts: make sure .venv exists and holds the project with the given extra.
# Usage: ensure_env EXTRA   (lab | test)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MLOPS_KIT_VENV:-$ROOT/.venv}"

ensure_env() {
  local extra="$1"
  local python="${PYTHON:-python3}"
  local lock="$ROOT/requirements/$extra.txt"
  # The Pythons pyproject.toml's requires-python allows (">=3.11,<3.13"), checked before anything is installed.
  local supported
  supported="$(sed -n 's/^requires-python = "\(.*\)"/\1/p' "$ROOT/pyproject.toml")"
  if ! "$python" -c "
import re, sys
bounds = dict((op, tuple(map(int, v.split('.')))) for op, v in re.findall(r'(>=|<)([0-9.]+)', '$supported'))
sys.exit(not (bounds['>='] <= sys.version_info[:2] < bounds['<']))" 2>/dev/null; then
    echo "mlops-kit needs Python $supported; $python is $("$python" --version 2>/dev/null || echo "not on this machine")." >&2
    echo "Choose another with PYTHON=python3.12 (or python3.11) $0" >&2
    exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating a virtual environment in $VENV ($("$python" --version))"
    "$python" -m venv "$VENV"
  fi
  # Reinstall only when the project or its lock changed since the last install of this extra.
  local stamp="$VENV/.mlops_kit-$extra-$(cat "$ROOT/pyproject.toml" "$lock" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "Installing mlops-kit[$extra] at the versions and hashes of requirements/$extra.txt; takes a minute or two the first time"
    # The lock pins every package with its hashes (--require-hashes: nothing unpinned or altered gets in);
    # then the project itself, editable, built with the setuptools the lock installed.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
    rm -f "$VENV"/.mlops_kit-"$extra"-*
    touch "$stamp"
  fi
}
