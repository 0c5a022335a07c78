#!/usr/bin/env bash
# Check a built bundle (packaging/build.sh) as a user would meet it, on a fresh profile:
#   1. the window appears under Xvfb, with the model setup on first run;
#   2. `ethoscout doctor` runs frozen, one line per check;
#   3. the model path works frozen: a random model, index a real clip, score it.
#
#   packaging/test_bundle.sh [path/to/bundle/ethoscout]      (needs Xvfb and xdotool)
#
# Not in .ci/run (the build takes minutes); prints one line per check and exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=$(realpath "${1:-build/bundle/dist/ethoscout/ethoscout}")
SHARED=$(realpath "${ETHOSCOUT_SHARED:-../shared}")
VIDEO="$SHARED/data/videos/mouse_reach_grasp_dlc_8s.avi"
NUM=${BUNDLE_DISPLAY:-97}
tmp=$(mktemp -d)
failed=0
check() { if [ "$1" = 0 ]; then echo "ok    $2"; else echo "FAIL  $2"; failed=1; fi; }

Xvfb ":$NUM" -screen 0 1600x1000x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 2
export DISPLAY=":$NUM" HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" ETHOSCOUT_CACHE="$tmp/cache" HF_HUB_OFFLINE=1
unset QT_QPA_PLATFORM
mkdir -p "$HOME"

start=$(date +%s)
ETHOSCOUT_SMOKE_QUIT_MS=20000 "$BUNDLE" >"$tmp/window.log" 2>&1 &
app=$!
timeout 120 xdotool search --sync --onlyvisible --name '^ethoscout$' >/dev/null 2>&1
check $? "main window mapped on the X display ($(( $(date +%s) - start )) s after start)"
timeout 60 xdotool search --sync --onlyvisible --name '^Choose a model' >/dev/null 2>&1
check $? "first run: the model setup dialog appears"
wait $app
grep -q "window shown: ethoscout" "$tmp/window.log"
check $? "the app reports its window and quits cleanly ($(tail -1 "$tmp/window.log"))"

"$BUNDLE" doctor >"$tmp/doctor.log" 2>&1
lines=$(grep -cE '^(ok|info|warn|fail) ' "$tmp/doctor.log")
[ "$lines" -eq 8 ]
check $? "doctor: $lines lines, $(grep -c '^fail' "$tmp/doctor.log") blocker(s)"
sed 's/^/      /' "$tmp/doctor.log"

if [ -f "$VIDEO" ]; then
    "$BUNDLE" random-model "$tmp/model" >/dev/null 2>&1 \
        && "$BUNDLE" index --project "$tmp/p" --model "$tmp/model" "$VIDEO" >"$tmp/index.log" 2>&1 \
        && "$BUNDLE" score --project "$tmp/p" --model "$tmp/model" --query "a mouse reaching" --out "$tmp/s.csv" >/dev/null 2>&1 \
        && [ "$(wc -l <"$tmp/s.csv")" -gt 2 ]
    check $? "random model -> index $(basename "$VIDEO") -> score: $(($(wc -l <"$tmp/s.csv" 2>/dev/null || echo 1) - 1)) windows scored"
else
    echo "skip  model path: $VIDEO not found (set ETHOSCOUT_SHARED)"
fi
exit $failed
