#!/usr/bin/env bash
# Create the venv for the viprs 0.1.5 side-by-side runner (verification/viprs_runner.py).
#
#   bash verification/setup_viprs.sh [VENV_DIR]      # default /work/.viprs-venv
#
# viprs lives outside vibank's environment because its pins may clash with
# vibank's. viprs 0.1.5 ships a manylinux cp311 wheel (OpenMP runtime bundled),
# so no compiler or system library is needed. The pins below are the set pip
# resolved for `pip install viprs==0.1.5` on Debian bookworm / Python 3.11 and
# that the runner's smoke test passed with; magenpy is pinned because the
# runner patches a magenpy 0.2.2 block-LD bug and keys its LD cache on the
# magenpy version. Re-running is cheap: an existing venv that already imports
# viprs 0.1.5 and magenpy 0.2.2 is left alone. Prints the venv's python path.
set -euo pipefail

VENV="${1:-/work/.viprs-venv}"
PYTHON="${PYTHON:-python3}"
PY="$VENV/bin/python"

check() {
    "$PY" - <<'EOF' 2>/dev/null
import magenpy, viprs
from viprs import VIPRS  # also loads the compiled e-step
assert viprs.__version__ == "0.1.5" and magenpy.__version__ == "0.2.2"
EOF
}

if [ -x "$PY" ] && check; then
    echo "viprs 0.1.5 already installed in $VENV" >&2
else
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
        echo "error: $PYTHON is not Python 3.11 (set PYTHON=...)" >&2
        exit 1
    }
    "$PYTHON" -m venv "$VENV"
    pins="$(mktemp)"
    trap 'rm -f "$pins"' EXIT
    cat >"$pins" <<'EOF'
viprs==0.1.5
magenpy==0.2.2
numpy==2.4.6
scipy==1.16.3
pandas==3.1.1
zarr==2.18.7
numcodecs==0.15.2
scikit-learn==1.9.1
statsmodels==0.15.0
joblib==1.6.0
psutil==7.2.2
tqdm==4.70.1
asciitree==1.0.0
cloudpickle==3.1.3
Deprecated==1.3.1
fasteners==0.20
formulaic==1.2.2
interface_meta==2.0.1
narwhals==2.29.0
packaging==26.4
patsy==1.0.3
python-dateutil==4.0.0
threadpoolctl==3.8.0
typing_extensions==4.16.0
tzdata==2026.6
wrapt==2.5.2
EOF
    "$PY" -m pip install --quiet -r "$pins"
    check || { echo "error: viprs 0.1.5 does not import in $VENV" >&2; exit 1; }
fi

echo "$PY"
