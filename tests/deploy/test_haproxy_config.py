"""The local stack's load balancer (deploy/stack/templates/haproxy.cfg) passes `haproxy -c`."""

from __future__ import annotations

import subprocess

from deploy.render import render_file
from deploy.stack.topology import TEMPLATES, make_certificate


def test_haproxy_accepts_the_rendered_config(tmp_path):
    make_certificate(tmp_path / "tls")
    values = {
        "HOME": str(tmp_path),
        "PORT": "8443",
        "LB_ADDRESS": "127.0.0.2",
        "NGINX_1": "127.0.0.1:8081",
        "NGINX_2": "127.0.0.1:8082",
    }
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_file(TEMPLATES / "haproxy.cfg", values))
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "[WARNING]" not in checked.stdout + checked.stderr
