"""deploy/nginx/beebeta.conf passes `nginx -t` as production renders it, inside the
distribution's own nginx.conf, and deploy/render.py refuses a half-rendered template."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from deploy.render import RenderError, placeholders, render, render_file
from deploy.stack.topology import TEMPLATES, make_certificate

ROOT = Path(__file__).resolve().parent.parent.parent
NGINX = ROOT / "deploy" / "nginx"
DEBIAN_MAIN = Path("/etc/nginx/nginx.conf")


def production_values(tmp_path: Path) -> dict[str, str]:
    """What deploy/provision.sh passes, with this machine's paths where nginx -t opens files."""
    return {
        "LISTEN": "80",
        "LB_NETWORK": "10.40.0.0/16",
        "APP_SERVERS": "server 127.0.0.1:8000;",
        "OWN_APP_SERVER": "127.0.0.1:8000",
        "STATIC_ROOT": "/srv/beebeta/static",
        "ERROR_PAGES": str(ROOT / "templates"),
        "SNIPPETS": str(NGINX),
        "ACCESS_LOG": str(tmp_path / "beebeta.log"),
        "PAGE_CACHE": str(tmp_path / "page-cache"),
    }


def nginx_test(config: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nginx", "-t", "-e", "stderr", "-p", str(prefix), "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def debian_main_config(tmp_path: Path, site: Path) -> Path:
    """The distribution's nginx.conf with our site as its only site, and its pid and logs moved
    to tmp_path: the file an Ubuntu instance runs, minus what would touch this machine."""
    text = DEBIAN_MAIN.read_text()
    text = text.replace("/run/nginx.pid", str(tmp_path / "nginx.pid"))
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    text = text.replace("include /etc/nginx/sites-enabled/*;", f"include {site};")
    main = tmp_path / "nginx.conf"
    main.write_text(text)
    return main


def test_the_production_site_passes_nginx_t_inside_the_stock_nginx_conf(tmp_path):
    site = tmp_path / "beebeta"
    site.write_text(render_file(NGINX / "beebeta.conf", production_values(tmp_path)))
    result = nginx_test(debian_main_config(tmp_path, site), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    # Warnings (a duplicate directive, a conflicting server name) pass -t but mean a mistake.
    assert "[warn]" not in result.stderr, result.stderr


def test_the_local_stack_renders_the_same_template_and_passes_nginx_t(tmp_path):
    values = {
        **production_values(tmp_path),
        "LISTEN": "127.0.0.1:8080",
        "LB_NETWORK": "127.0.0.2",
        "APP_SERVERS": "server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;\n"
        "    server 127.0.0.1:8002 backup;",
        "OWN_APP_SERVER": "127.0.0.1:8001",
    }
    site = tmp_path / "site.conf"
    site.write_text(render_file(NGINX / "beebeta.conf", values))
    (tmp_path / "temp").mkdir()
    main = tmp_path / "main.conf"
    stack_main = TEMPLATES / "nginx.conf"
    main.write_text(render_file(stack_main, {"HOME": str(tmp_path), "SITE": str(site)}))
    result = nginx_test(main, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_the_cdn_stand_in_passes_nginx_t(tmp_path):
    site = tmp_path / "site.conf"
    cdn = TEMPLATES / "cdn.conf"
    # nginx -t loads the certificate, so make one.
    make_certificate(tmp_path)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    values = {
        "LISTEN": "127.0.0.1:8090",
        "S3": "127.0.0.1:9000",
        "BUCKET": "media",
        "CERT": str(cert),
        "KEY": str(key),
    }
    site.write_text(render_file(cdn, values))
    (tmp_path / "temp").mkdir()
    main = tmp_path / "main.conf"
    stack_main = TEMPLATES / "nginx.conf"
    main.write_text(render_file(stack_main, {"HOME": str(tmp_path), "SITE": str(site)}))
    result = nginx_test(main, tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_site_documents_every_placeholder_it_has():
    text = (NGINX / "beebeta.conf").read_text()
    header = text[: text.index("server_tokens")]
    for name in placeholders(text):
        assert re.search(rf"^#\s+{name}\s", header, re.M), f"{name} is not described"


def test_every_rate_limited_location_answers_with_the_429_page():
    text = (NGINX / "beebeta.conf").read_text()
    zones = set(re.findall(r"^limit_req_zone .* zone=(beebeta_\w+):", text, re.M))
    used = set(re.findall(r"limit_req zone=(beebeta_\w+) ", text))
    assert zones == used == {"beebeta_vote", "beebeta_login", "beebeta_signup", "beebeta_data"}
    assert "limit_req_status 429;" in text and "error_page 429 /429.html;" in text
    page = (ROOT / "templates" / "429.html").read_text()
    # Served as a file by nginx: no template language in it.
    assert "{%" not in page and "{{" not in page


def test_render_refuses_missing_and_unknown_values():
    assert render("listen @PORT@;", {"PORT": "80"}) == "listen 80;"
    with pytest.raises(RenderError, match="missing values for \\['PORT'\\]"):
        render("listen @PORT@;", {})
    with pytest.raises(RenderError, match="no placeholder for \\['PROT'\\]"):
        render("listen @PORT@;", {"PORT": "80", "PROT": "80"})
    # nginx's own $variables and e-mail addresses are left alone.
    assert render("return 301 https://$host; # ops@beebeta.example", {}) == (
        "return 301 https://$host; # ops@beebeta.example"
    )


def test_render_from_the_command_line(tmp_path):
    template = tmp_path / "t.conf"
    template.write_text("listen @PORT@;\n")
    ok = subprocess.run(
        ["python3", str(ROOT / "deploy" / "render.py"), str(template), "PORT=80"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ok.returncode, ok.stdout) == (0, "listen 80;\n")
    missing = subprocess.run(
        ["python3", str(ROOT / "deploy" / "render.py"), str(template)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1 and "missing values for ['PORT']" in missing.stderr
