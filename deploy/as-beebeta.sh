#!/usr/bin/env bash
# Run a Python program of the release as the beebeta user, with production's environment.
#
#   sudo /srv/beebeta/app/deploy/as-beebeta.sh manage.py createsuperuser
#   sudo /srv/beebeta/app/deploy/as-beebeta.sh deploy/manage_once.py --wait 900 migrate
#
# The same environment as the app server (/etc/beebeta/env), so a command sees what the site
# sees. Paths are relative to the release (/srv/beebeta/app).
set -euo pipefail

app=${BEEBETA_APP:-/srv/beebeta/app}
venv=${BEEBETA_VENV:-/srv/beebeta/venv}
env_file=${BEEBETA_ENV_FILE:-/etc/beebeta/env}

if [[ $# -lt 1 ]]; then
    echo "usage: $0 PROGRAM [ARGS...]   (e.g. manage.py showmigrations)" >&2
    exit 2
fi

# Values are single-quoted by deploy/instance.py, so sourcing reads them literally, as systemd does.
set -a
# shellcheck source=/dev/null
. "$env_file"
set +a

cd "$app"
exec runuser -u beebeta -- "$venv/bin/python" "$@"
