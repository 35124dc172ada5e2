#!/usr/bin/env bash
# Make sure the operating-system packages Beebeta needs are present (Debian/Ubuntu).
#
#   deploy/os-packages.sh run    what building the Python requirements needs
#   deploy/os-packages.sh stack  that plus the servers of the local stack (make stack)
#   deploy/os-packages.sh test   that plus the browser and linters the test suite uses
#   deploy/os-packages.sh bench  the stack's servers plus wrk, the benchmark's load generator
#
# Each package is checked by the command or file it provides, not by asking dpkg, so a machine
# that already has the tool some other way (pyenv's Python with headers, a hand-built MariaDB)
# installs nothing. As root it installs what is missing; otherwise it says what to run.
set -euo pipefail

# The interpreter the Makefile will build the virtualenv with.
python=${PYTHON:-python3}

usage() {
    echo "usage: $0 run|stack|test|bench" >&2
    exit 2
}

[[ $# -eq 1 ]] || usage
profile=$1
[[ $profile == run || $profile == stack || $profile == test || $profile == bench ]] || usage

have() {
    command -v "$1" >/dev/null 2>&1
}

# Debian keeps daemons in /usr/sbin, which a normal user's PATH often lacks.
have_daemon() {
    have "$1" || [[ -x /usr/sbin/$1 ]]
}

python_has_venv() {
    # Debian strips ensurepip out of python3 into python3-venv, and venv fails without it.
    "$python" -c 'import ensurepip, venv' >/dev/null 2>&1
}

python_has_headers() {
    local found
    found=$("$python" -c "import sysconfig,os;print(os.path.exists(os.path.join(sysconfig.get_paths()['include'],'Python.h')))" 2>/dev/null) || return 1
    [[ $found == True ]]
}

mariadb_client_library() {
    # mysqlclient's build uses these instead of pkg-config when they are set.
    if [[ -n ${MYSQLCLIENT_CFLAGS:-} && -n ${MYSQLCLIENT_LDFLAGS:-} ]]; then
        return 0
    fi
    have pkg-config && { pkg-config --exists libmariadb || pkg-config --exists mariadb; }
}

missing=()

# require PACKAGE CHECK [ARGS...]: remember PACKAGE unless CHECK succeeds.
require() {
    local package=$1
    shift
    if ! "$@"; then
        missing+=("$package")
    fi
}

require python3 have "$python"
require python3-venv python_has_venv
require python3-dev python_has_headers
require gcc have gcc
require make have make
require pkg-config have pkg-config
require libmariadb-dev mariadb_client_library
# The share cards' font (polls/share_card.py): Latin, Greek and Cyrillic at least.
require fonts-dejavu-core test -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf

if [[ $profile == stack || $profile == test || $profile == bench ]]; then
    require mariadb-server have_daemon mariadbd
    require mariadb-server have mariadb-install-db
    require mariadb-client have mariadb-admin
    require mariadb-client have mariadb
    require memcached have_daemon memcached
    require nginx have_daemon nginx
    require haproxy have_daemon haproxy
    require openssl have openssl
fi

if [[ $profile == test ]]; then
    require chromium have chromium
    require chromium-driver test -x /usr/bin/chromedriver
    require shellcheck have shellcheck
    # Mozilla's HTTP Observatory scanner (tests/security) is an npm package.
    require nodejs have node
    require npm have npm
fi

if [[ $profile == bench ]]; then
    require wrk have wrk
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

# Several checks can point at the same package; apt needs each name once.
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
install_command=(apt-get install -y --no-install-recommends "${packages[@]}")

if [[ $(id -u) -ne 0 ]] || ! have apt-get; then
    echo "Missing operating-system packages for '$profile': ${packages[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo ${install_command[*]}" >&2
    exit 1
fi

echo "Installing operating-system packages for '$profile': ${packages[*]}" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive "${install_command[@]}"
