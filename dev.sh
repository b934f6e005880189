#!/usr/bin/env bash
# One entry point for a fresh Linux machine:
#   ./dev.sh demo          set up .venv and open the app on the built-in sample tomogram
#   ./dev.sh test [ARGS]   set up .venv and run the whole test suite headless (ARGS go to pytest)
#   ./dev.sh app [ARGS]    set up .venv and run ais-qt with ARGS
#   ./dev.sh setup         only set up .venv
#   ./dev.sh bundle        build the Linux installers into dist/ (.deb, .tar.gz) and smoke-test them installed
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

BUNDLE_VENV=build/bundle-venv

bundle_env() {
    # Its own environment with ais_qt installed as a package (not editable), so PyInstaller collects
    # exactly what a user gets.
    [ -x "$BUNDLE_VENV/bin/python" ] || "$(find_python)" -m venv "$BUNDLE_VENV"
    stamp="$BUNDLE_VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
    if [ ! -e "$stamp" ]; then
        "$BUNDLE_VENV/bin/python" -m pip install --quiet --upgrade pip
        "$BUNDLE_VENV/bin/python" -m pip install --quiet ".[bundle]"
        # TensorFlow's CPU build: a third smaller, and enough for the installers' users (a GPU needs
        # the CUDA build, installed from source).
        tf=$("$BUNDLE_VENV/bin/python" -c 'from importlib.metadata import version; print(version("tensorflow"))')
        # (Both distributions own the same files: reinstall the CPU one after removing the other.)
        "$BUNDLE_VENV/bin/python" -m pip uninstall --quiet -y tensorflow
        "$BUNDLE_VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "tensorflow-cpu==$tf"
        rm -f "$BUNDLE_VENV"/.installed-*
        touch "$stamp"
    fi
    "$BUNDLE_VENV/bin/python" -m pip install --quiet --no-deps --force-reinstall .
}

bundle() {
    bundle_env
    root=$(pwd)
    python="$root/$BUNDLE_VENV/bin/python"
    version=$(cd /tmp && "$python" -c 'import ais_qt; print(ais_qt.__version__)')
    rm -rf dist build/icons build/pyinstaller/dist
    (cd /tmp && "$python" "$root/packaging/icons.py" "$root/build/icons" >/dev/null)
    "$root/$BUNDLE_VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN --distpath build/pyinstaller/dist \
        --workpath build/pyinstaller/work packaging/ais-qt.spec
    # TensorFlow's libraries lose a fifth when stripped (the spec strips nothing: numpy's patched
    # OpenBLAS breaks if stripped); the smoke tests below run the stripped ones.
    find build/pyinstaller/dist/ais-qt/_internal/tensorflow -name '*.so*' -type f -exec strip --strip-unneeded {} +
    "$python" packaging/linux/packages.py build/pyinstaller/dist/ais-qt build/icons dist "$version"
    echo "Bundle: $(du -sh build/pyinstaller/dist/ais-qt | cut -f1)"
    # Smoke tests of the installed results, with the system's Python running the checks and the
    # app in a clean environment (no virtual environment, no source tree).
    smoke=$(mktemp -d)
    cp packaging/smoke_test.py "$smoke/"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== the .deb, installed with apt-get"
        apt-get install -y -q --reinstall "./dist/ais-qt_${version}_amd64.deb" >/dev/null
        (cd "$smoke" && env -i PATH=/usr/bin:/bin python3 smoke_test.py /usr/bin)
    fi
    echo "== the .tar.gz, installed for a user with its install.sh"
    tar -xzf "dist/ais-qt-${version}-linux-x86_64.tar.gz" -C "$smoke"
    (cd "$smoke" && env -i PATH=/usr/bin:/bin HOME="$smoke/home" "./ais-qt-${version}-linux-x86_64/install.sh" >/dev/null &&
        env -i PATH=/usr/bin:/bin python3 smoke_test.py "$smoke/home/.local/bin" &&
        env -i PATH=/usr/bin:/bin HOME="$smoke/home" "./ais-qt-${version}-linux-x86_64/uninstall.sh" >/dev/null)
    rm -rf "$smoke"
    ls -l dist/
}

command="${1:-demo}"
[ $# -gt 0 ] && shift
case "$command" in
    setup) setup ;;
    demo) setup; exec "$VENV/bin/ais-qt" --demo "$@" ;;
    app) setup; exec "$VENV/bin/ais-qt" "$@" ;;
    test) setup; QT_QPA_PLATFORM=offscreen exec "$VENV/bin/python" -m pytest "$@" ;;
    bundle) bundle ;;
    *) echo "usage: ./dev.sh [demo|test|app|setup|bundle] [ARGS]" >&2; exit 2 ;;
esac
