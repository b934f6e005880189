#!/usr/bin/env bash
# One entry point for a fresh Linux machine:
#   ./dev.sh demo          set up .venv and open the app on the built-in sample tomogram
#   ./dev.sh test [ARGS]   set up .venv and run the whole test suite headless (ARGS go to pytest)
#   ./dev.sh app [ARGS]    set up .venv and run ais-qt with ARGS
#   ./dev.sh setup         only set up .venv
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv

find_python() {
    for py in python3.13 python3.12 python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1 &&
           "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    echo "Ais-Qt needs Python 3.11 or newer (python3.11, python3.12 or python3.13 on PATH)." >&2
    return 1
}

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "Creating $VENV with $(find_python)…"
        "$(find_python)" -m venv "$VENV"
    fi
    # Reinstall only when the dependency list changed, so later runs start at once.
    stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
    if [ ! -e "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e ".[test]"
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
    if command -v ldconfig >/dev/null 2>&1 && ! ldconfig -p | grep -q 'libEGL.so.1'; then
        echo "Note: Qt needs system libraries; on Debian/Ubuntu: sudo apt-get install $(cat .ci/apt-packages.txt | tr '\n' ' ')" >&2
    fi
}

command="${1:-demo}"
[ $# -gt 0 ] && shift
case "$command" in
    setup) setup ;;
    demo) setup; exec "$VENV/bin/ais-qt" --demo "$@" ;;
    app) setup; exec "$VENV/bin/ais-qt" "$@" ;;
    test) setup; QT_QPA_PLATFORM=offscreen exec "$VENV/bin/python" -m pytest "$@" ;;
    *) echo "usage: ./dev.sh [demo|test|app|setup] [ARGS]" >&2; exit 2 ;;
esac
