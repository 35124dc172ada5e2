#!/usr/bin/env bash
# Turn a fresh Ubuntu LTS instance into a Beebeta app server: nginx -> gunicorn, and the timers.
#
# Run once, as root, by cloud-init (deploy/cloud-init.yaml) from the release checked out at
# /srv/beebeta/app, with the stack's facts in /etc/beebeta/instance.env. It ends by telling
# CloudFormation whether the instance serves /healthz, so a release that cannot start never
# replaces a working instance (the Auto Scaling group's rolling update waits for that signal).
set -euo pipefail

app=/srv/beebeta/app
venv=/srv/beebeta/venv
static=/srv/beebeta/static

# shellcheck source=/dev/null
. /etc/beebeta/instance.env

signal_cloudformation() {
    if [[ -x $venv/bin/python ]]; then
        "$venv/bin/python" "$app/deploy/instance.py" signal "$1" || true
    fi
}
trap 'signal_cloudformation FAILURE' ERR

# --- the service user and folders ---------------------------------------------------------------
id beebeta >/dev/null 2>&1 || useradd --system --home-dir /srv/beebeta --shell /usr/sbin/nologin beebeta
install -d -o beebeta -g beebeta -m 0755 /srv/beebeta/data "$static"
chown root:beebeta /etc/beebeta && chmod 0750 /etc/beebeta

# --- the code and its virtualenv ----------------------------------------------------------------
# The release built once for this revision (deploy/release.py): the locked dependencies' wheels
# and the collected static files, installed without the package index, compiler or
# collectstatic. Without one (a revision nobody released) the slow way, hashes checked too.
release=/srv/beebeta/release.tar.gz
if python3 "$app/deploy/instance.py" fetch-release "$release" &&
    python3 "$app/deploy/release.py" install "$release" --venv "$venv" --static "$static" \
        --python python3; then
    collected=yes
else
    # Also when the release was built for another Python than this machine's.
    rm -rf "$venv"
    bash "$app/deploy/os-packages.sh" run
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --require-hashes -r "$app/requirements.lock"
    collected=no
fi

# --- Beebeta's environment: /etc/beebeta/env and the secret key, from Secrets Manager ------------
"$venv/bin/python" "$app/deploy/instance.py" write-env

# --- static files and the database --------------------------------------------------------------
if [[ $collected == no ]]; then
    "$app/deploy/as-beebeta.sh" manage.py collectstatic --noinput --verbosity 0
fi
# CloudFront serves them from the bucket, where both versions' files live during a release.
"$venv/bin/python" "$app/deploy/instance.py" publish-static
# Once per release: the first instance of a revision finds migrations to apply and runs them
# under the lock (the others wait, then find nothing to do); every later boot's check finds
# none and migrates nothing. A release's migrations must therefore suit the release still
# serving (deploy/README.md, "Releasing"; tests/test_migrations.py checks).
if ! "$app/deploy/as-beebeta.sh" manage.py migrate --check --noinput >/dev/null; then
    "$app/deploy/as-beebeta.sh" deploy/manage_once.py --wait 900 migrate --noinput
fi

# --- gunicorn and the timers --------------------------------------------------------------------
# Their logs are files under /var/log/beebeta (the CloudWatch agent ships them), rotated daily.
install -m 0644 "$app/deploy/logrotate/beebeta" /etc/logrotate.d/beebeta
install -m 0644 "$app"/deploy/systemd/*.service "$app"/deploy/systemd/*.timer /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now beebeta.service
for timer in "$app"/deploy/systemd/*.timer; do
    systemctl enable --now "$(basename "$timer")"
done

# --- nginx --------------------------------------------------------------------------------------
install -D -m 0644 "$app/deploy/systemd/nginx.service.d/beebeta.conf" \
    /etc/systemd/system/nginx.service.d/beebeta.conf
systemctl daemon-reload
install -m 0644 "$app/deploy/nginx/beebeta-proxy.conf" \
    "$app/deploy/nginx/beebeta-security-headers.conf" /etc/nginx/snippets/
# Anonymous pages kept by nginx (deploy/nginx/beebeta.conf), written by its workers.
install -d -m 0700 -o www-data -g www-data /var/cache/nginx/beebeta
python3 "$app/deploy/render.py" "$app/deploy/nginx/beebeta.conf" \
    LISTEN=80 \
    LB_NETWORK="$LB_NETWORK" \
    APP_SERVERS="server 127.0.0.1:8000;" \
    OWN_APP_SERVER=127.0.0.1:8000 \
    STATIC_ROOT="$static" \
    ERROR_PAGES="$app/templates" \
    SNIPPETS=/etc/nginx/snippets \
    ACCESS_LOG=/var/log/nginx/beebeta.log \
    PAGE_CACHE=/var/cache/nginx/beebeta \
    >/etc/nginx/sites-available/beebeta
ln -sf /etc/nginx/sites-available/beebeta /etc/nginx/sites-enabled/beebeta
# Ubuntu's example site also claims default_server on port 80.
rm -f /etc/nginx/sites-enabled/default
nginx -t
systemctl reload-or-restart nginx

# --- ready? -------------------------------------------------------------------------------------
for _ in $(seq 1 60); do
    if curl --silent --fail --output /dev/null http://127.0.0.1/healthz; then
        signal_cloudformation SUCCESS
        exit 0
    fi
    sleep 2
done
echo "provision.sh: /healthz did not answer 200 within two minutes" >&2
signal_cloudformation FAILURE
exit 1
