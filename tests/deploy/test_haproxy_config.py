"""The local stack's load balancer (deploy/stack/templates/haproxy.cfg) passes `haproxy -c`."""

from __future__ import annotations

import subprocess

from deploy.render import render_file
from deploy.stack.topology import TEMPLATES


def test_haproxy_accepts_the_rendered_config(tmp_path):
    (tmp_path / "tls").mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
            "-subj",
            "/CN=check",
        ],
        check=True,
        capture_output=True,
    )
    pem = (tmp_path / "cert.pem").read_bytes() + (tmp_path / "key.pem").read_bytes()
    (tmp_path / "tls" / "site.pem").write_bytes(pem)
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
