#!/usr/bin/env bash
# Build the desktop bundle (PyInstaller, one folder) and report its size.
#
#   packaging/build.sh                 # -> build/bundle/dist/ethoscout/ethoscout
#   DIST=/tmp/d WORK=/tmp/w packaging/build.sh
#
# Run it in the project's venv (torch, PySide6 and the rest installed as README.md says);
# PyInstaller is installed on first use. Slow: minutes on a few cores. Not part of .ci/run;
# packaging/test_bundle.sh checks the result (window under Xvfb, CLI, doctor).
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${DIST:-build/bundle/dist}
WORK=${WORK:-build/bundle/work}

python -c "import PyInstaller" 2>/dev/null || python -m pip install -q "pyinstaller>=6"
start=$(date +%s)
python -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" packaging/ethoscout.spec
end=$(date +%s)

bundle="$DIST/ethoscout"
echo "built $bundle in $((end - start)) s"
echo "size: $(du -sh "$bundle" | cut -f1) unpacked; largest parts:"
du -s "$bundle"/_internal/* 2>/dev/null | sort -rn | head -8 | awk '{printf "  %6.0f MB  %s\n", $1/1024, $2}'
