# Sourced by the other scripts: make sure .venv exists and holds the project with the given extra.
# Usage: ensure_env EXTRA   (lab | test)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MLOPS_KIT_VENV:-$ROOT/.venv}"

ensure_env() {
  local extra="$1"
  local python="${PYTHON:-python3}"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating a virtual environment in $VENV ($("$python" --version))"
    "$python" -m venv "$VENV"
  fi
  # Reinstall only when the project's requirements changed since the last install of this extra.
  local stamp="$VENV/.mlops_kit-$extra-$(cat "$ROOT/pyproject.toml" "$ROOT/requirements/constraints.txt" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "Installing mlops-kit[$extra] with pinned dependencies (requirements/constraints.txt); takes a minute or two the first time"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -c "$ROOT/requirements/constraints.txt" -e "$ROOT[$extra]"
    touch "$stamp"
  fi
}
