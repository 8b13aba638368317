"""deploy/kubernetes: every overlay built by kustomize, validated against the Kubernetes schemas (standard kinds)
and the operators' CRD schemas (CloudNativePG, RabbitMQ), and cross-checked against the code: the commands run
modules the repo has, the ports and probes are the ones the processes serve, every environment variable is one
the code reads, every in-cluster call a service makes is allowed by its NetworkPolicy and nothing else is.

The tools come from `make tools` (scripts/ensure-test-tools.sh): a missing one is a failure, never a skip.
"""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "kubernetes"
TOOLS = ROOT / "deploy" / "tools"
VENV_BIN = Path(sys.executable).parent
OVERLAYS = ["small", "large", "dev"]
BUILDS = OVERLAYS + [f"{o}/migrate" for o in OVERLAYS]
K8S_VERSIONS = ["1.30.0", "1.37.0"]  # the oldest Kubernetes a province may still run, and the newest
SERVICE_PORTS = {"intake": 8001, "processing": 8002, "payment": 8003, "postal": 8004, "notify": 8005}
STANDARD_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1"}
CODE_DIRS = [ROOT / "libs/servicekit", *(ROOT / "services" / s for s in SERVICE_PORTS), ROOT / "portal/portal",
             ROOT / "simulators", ROOT / "deploy/gunicorn.conf.py"]
MODULE_ROOTS = [ROOT / "libs/servicekit", *(ROOT / "services" / s for s in SERVICE_PORTS), ROOT / "simulators",
                ROOT / "portal", ROOT]


def tool(name: str) -> str:
    path = VENV_BIN / name
    if not path.exists():
        path = shutil.which(name)
    assert path, f"{name} is not installed: run `make tools` (deploy/tools/requirements.lock)"
    return str(path)


@lru_cache(maxsize=None)
def build(overlay: str) -> tuple:
    result = subprocess.run([tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


def of_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def pod_templates(docs):
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            yield d, d["spec"]["template"]


# ---- generated files, builds, schemas ------------------------------------------------------------------------
@pytest.mark.parametrize("script", ["gen_kubernetes.py", "gen_definitions.py"])
def test_generated_files_are_what_the_generators_write(script):
    result = subprocess.run([sys.executable, str(TOOLS / script), "--check"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("overlay", BUILDS)
def test_every_overlay_builds(overlay):
    docs = build(overlay)
    assert docs
    assert not of_kind(docs, "Secret"), "secrets are created by hand, never committed"
    namespaces = {d["metadata"].get("namespace") for d in docs}
    assert len(namespaces) == 1 and None not in namespaces, namespaces


def _standard(docs):
    return [d for d in docs if d["apiVersion"] in STANDARD_GROUPS]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", BUILDS)
def test_standard_kinds_match_the_kubernetes_schemas(overlay, version):
    import kubernetes_validate

    for doc in _standard(build(overlay)):
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} (Kubernetes {version}): {exc}")


def test_the_kubernetes_schema_check_can_fail():
    import kubernetes_validate

    deployment = json.loads(json.dumps(of_kind(build("small"), "Deployment")[0]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", BUILDS)
def test_every_kind_is_validated_by_some_schema(overlay):
    known = STANDARD_GROUPS | {"postgresql.cnpg.io/v1", "rabbitmq.com/v1beta1"}
    assert {d["apiVersion"] for d in build(overlay)} <= known


def validate_cnpg(docs) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    assert node, "node is not installed: run `make tools`"
    assert (TOOLS / "node_modules/@kubernetes-models/cloudnative-pg").is_dir(), \
        "CloudNativePG models missing: run `make tools` (deploy/tools/package-lock.json)"
    return subprocess.run([node, str(K8S / "schemas/validate-cnpg.mjs")], input=json.dumps(list(docs)),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_cloudnative_pg_resources_match_the_operators_crd_schema(overlay):
    docs = [d for d in build(overlay) if d["apiVersion"] == "postgresql.cnpg.io/v1"]
    assert {"Cluster", "Database"} <= {d["kind"] for d in docs}
    result = validate_cnpg(docs)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_cloudnative_pg_check_can_fail():
    cluster = json.loads(json.dumps(of_kind(build("small"), "Cluster")[0]))
    cluster["spec"]["instances"] = "two"
    result = validate_cnpg([cluster])
    assert result.returncode == 1 and "instances" in result.stdout


RABBITMQ_SCHEMA = json.loads((K8S / "schemas/rabbitmqcluster.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_rabbitmq_cluster_matches_the_operators_schema(overlay):
    clusters = of_kind(build(overlay), "RabbitmqCluster")
    assert len(clusters) == 1
    jsonschema.validate(clusters[0], RABBITMQ_SCHEMA)
    assert clusters[0]["spec"]["replicas"] == 3, "three nodes: quorum queues keep a majority when one fails"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**clusters[0], "spec": {**clusters[0]["spec"], "replica": 3}}, RABBITMQ_SCHEMA)


# ---- the code's side: modules, ports, probes, environment ----------------------------------------------------
def module_file(dotted: str, runnable: bool):
    rel = Path(*dotted.split("."))
    for root in MODULE_ROOTS:
        for c in (root / rel.with_suffix(".py"), root / rel / ("__main__.py" if runnable else "__init__.py")):
            if c.is_file():
                return c
    return None


def commands_run(command: list[str]) -> list[tuple[str, str]]:
    """(kind, target) of each Python entry point a container command runs ('sh -c "a && b"' gives two)."""
    if command[:2] == ["sh", "-c"]:
        return [t for part in command[2].split("&&") for t in commands_run(part.split())]
    if command[0] == "python" and command[1] == "-m":
        return [("module", command[2])]
    if command[0] == "python" and command[1] == "-c":
        return [("inline", command[2])]
    if command[0] == "gunicorn":
        assert (ROOT / command[command.index("--config") + 1]).is_file()
        return [("app", command[-1])]
    raise AssertionError(f"unknown command {command}")


@pytest.mark.parametrize("overlay", BUILDS)
def test_every_container_runs_a_module_of_the_repo(overlay):
    for owner, template in pod_templates(build(overlay)):
        for c in template["spec"]["containers"]:
            for kind, target in commands_run(c["command"]):
                if kind == "inline":
                    compile(target, c["name"], "exec")
                    continue
                assert module_file(target.split(":")[0], runnable=(kind == "module")), \
                    f"{owner['metadata']['name']}/{c['name']} runs {target}, which the repo lacks"


@lru_cache(maxsize=None)
def env_names_read_by_code() -> frozenset:
    """Every environment variable name the code can read: string literals in env()/os.environ calls, and the
    kit's f"{prefix}_..." names expanded for each service."""
    names = set()
    for base in CODE_DIRS:
        files = [base] if base.is_file() else [p for p in base.rglob("*.py") if "tests" not in p.parts]
        for path in files:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and re.fullmatch(r"[A-Z][A-Z0-9_]{2,}", node.value):
                    names.add(node.value)
                elif isinstance(node, ast.JoinedStr):
                    parts = node.values
                    if (len(parts) == 2 and isinstance(parts[0], ast.FormattedValue)
                            and isinstance(parts[1], ast.Constant) and re.fullmatch(r"_[A-Z0-9_]+", parts[1].value)):
                        names |= {s.upper() + parts[1].value for s in SERVICE_PORTS}
    return frozenset(names)


def container_env(container, config_maps) -> dict:
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]]["data"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", "<from secret>")
    return env


@pytest.mark.parametrize("overlay", BUILDS)
def test_every_environment_variable_is_one_the_code_reads(overlay):
    docs = build(overlay)
    known = env_names_read_by_code()
    for cm in of_kind(docs, "ConfigMap"):
        for key in cm["data"]:
            assert key in known, f"ConfigMap {cm['metadata']['name']}: no code reads {key}"
    for owner, template in pod_templates(docs):
        for c in template["spec"]["containers"]:
            values = " ".join(str(e.get("value", "")) for e in c.get("env", []))
            for item in c.get("env", []):
                # A variable only composed into another one ($(DB_PASSWORD) in the database URL) is fine.
                assert item["name"] in known or f"$({item['name']})" in values, \
                    f"{owner['metadata']['name']}/{c['name']}: no code reads {item['name']}"


def test_the_environment_check_knows_what_the_code_reads():
    known = env_names_read_by_code()
    assert {"INTAKE_DATABASE_URL", "NOTIFY_WORKER_HEALTH_PORT", "MOTCUA_AMQP_URL", "GUNICORN_WORKERS",
            "PROCESSING_DVCQG_URL", "PORTAL_SECRET_KEY"} <= known
    assert "INTAKE_DATABASE_ULR" not in known


def secret_keys_expected() -> dict:
    sys.path.insert(0, str(TOOLS))
    from gen_kubernetes import PORTAL, SERVICES

    return {**{f"motcua-{s}": spec["secrets"] for s, spec in SERVICES.items()}, "motcua-portal": PORTAL["secrets"]}


def test_every_secret_key_is_read_by_the_code_and_documented():
    runbook = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    for secret, keys in secret_keys_expected().items():
        assert secret in runbook, f"docs/operations.md does not say how to create {secret}"
        for key in keys:
            assert key in env_names_read_by_code(), key
            assert key in runbook, f"docs/operations.md does not name {key} of {secret}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ports_and_probes_are_the_ones_the_processes_serve(overlay, monkeypatch):
    from servicekit.config import KitSettings

    docs = build(overlay)
    config_maps = {cm["metadata"]["name"]: cm for cm in of_kind(docs, "ConfigMap")}
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    for svc, port in SERVICE_PORTS.items():
        web = deployments[f"{svc}-web"]["spec"]["template"]["spec"]["containers"][0]
        assert web["ports"] == [{"name": "http", "containerPort": port}]
        assert web["command"][web["command"].index("--bind") + 1] == f"0.0.0.0:{port}"
        assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
        worker = deployments[f"{svc}-worker"]["spec"]["template"]["spec"]["containers"][0]
        # The worker's health port and doorbell, as the kit computes them from this very environment.
        env = container_env(worker, config_maps)
        for name in list(__import__("os").environ):
            if name.startswith(("MOTCUA_", svc.upper() + "_")):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MOTCUA_ENV", "development")
        monkeypatch.setenv("MOTCUA_JWT_SECRET", "x" * 40)
        kit = KitSettings.from_env(svc)
        ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
        assert ports["health"] == kit.worker_health_port == port + 2000
        assert worker["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
        assert kit.worker_health_host == "0.0.0.0", "the kubelet probes the pod's address, not its loopback"
        assert kit.relay_doorbell == f"0.0.0.0:{ports['doorbell']}"
        web_doorbell = config_maps[f"motcua-{svc}"]["data"][f"{svc.upper()}_RELAY_DOORBELL"]
        host, _, bell = web_doorbell.rpartition(":")
        assert host == f"{svc}-worker" and int(bell) == ports["doorbell"]


def test_the_probed_paths_exist_in_the_code():
    web = (ROOT / "libs/servicekit/servicekit/web.py").read_text(encoding="utf-8")
    portal = (ROOT / "portal/portal/app.py").read_text(encoding="utf-8")
    worker = (ROOT / "libs/servicekit/servicekit/worker.py").read_text(encoding="utf-8")
    for path in ("/healthz", "/readyz"):
        assert f'@app.get("{path}")' in web and f'@app.get("{path}")' in portal
    assert '"/healthz"' in worker


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_autoscalers_and_budgets_point_at_real_pods(overlay):
    docs = build(overlay)
    templates = [(o, t) for o, t in pod_templates(docs) if o["kind"] == "Deployment"]
    for svc in of_kind(docs, "Service"):
        matches = [t for _, t in templates
                   if svc["spec"]["selector"].items() <= t["metadata"]["labels"].items()]
        assert matches, f"Service {svc['metadata']['name']} selects no pod"
        names = {p.get("name") for t in matches for c in t["spec"]["containers"] for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in names, f"Service {svc['metadata']['name']}: no port {port['targetPort']}"
    names = {d["metadata"]["name"] for d in of_kind(docs, "Deployment")}
    scaled = set()
    for h in of_kind(docs, "HorizontalPodAutoscaler"):
        assert h["spec"]["scaleTargetRef"]["name"] in names
        scaled.add(h["spec"]["scaleTargetRef"]["name"])
        assert h["spec"]["minReplicas"] >= 2, "one copy is no copy: a node drain would stop it"
    for pdb in of_kind(docs, "PodDisruptionBudget"):
        assert any(pdb["spec"]["selector"]["matchLabels"].items() <= t["metadata"]["labels"].items()
                   for _, t in templates)
    for d in of_kind(docs, "Deployment"):
        annotations = d["spec"]["template"]["metadata"].get("annotations", {})
        if "prometheus.io/port" in annotations:
            served = {p["containerPort"] for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
            assert int(annotations["prometheus.io/port"]) in served, f"{d['metadata']['name']}: scrape port not served"
        if d["metadata"]["name"] in scaled:
            assert "replicas" not in d["spec"], f"{d['metadata']['name']}: the autoscaler owns the count"
        for c in d["spec"]["template"]["spec"]["containers"]:
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], d["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_its_own_database_role_and_secret(overlay):
    docs = build(overlay)
    cluster = of_kind(docs, "Cluster")[0]
    roles = {r["name"]: r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"]["owner"] for d in of_kind(docs, "Database")}
    assert roles == {s: f"motcua-pg-{s}" for s in SERVICE_PORTS}
    assert databases == {s: s for s in SERVICE_PORTS}
    for owner, template in pod_templates(docs):
        svc = owner["metadata"]["labels"]["app.kubernetes.io/name"]
        for c in template["spec"]["containers"]:
            refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", []) if "valueFrom" in e}
            pg_refs = {r for r in refs if r.startswith("motcua-pg-")}
            assert pg_refs <= {f"motcua-pg-{svc}"}, f"{owner['metadata']['name']} reads {pg_refs}"
            for e in c.get("env", []):
                if e["name"].endswith("_DATABASE_URL"):
                    assert e["name"] == f"{svc.upper()}_DATABASE_URL"
                    assert e["value"].endswith(f"@motcua-pg-rw:5432/{svc}") and f"://{svc}:" in e["value"]


# ---- network policies ----------------------------------------------------------------------------------------
# Addresses the code writes into messages and pages (links for citizens), never calls.
LINKS_ONLY = {"MOTCUA_PORTAL_URL", "NOTIFY_TRACKING_URL"}


def allowed_egress(docs, labels: dict) -> list[dict]:
    rules = []
    for np in of_kind(docs, "NetworkPolicy"):
        sel = np["spec"]["podSelector"].get("matchLabels", {})
        if sel.items() <= labels.items() and "Egress" in np["spec"].get("policyTypes", []):
            rules += np["spec"].get("egress", [])
    return rules


def reaches(rules, target_labels: dict | None, port: int, protocol="TCP", external=False) -> bool:
    for rule in rules:
        if not any(p.get("port") == port and p.get("protocol", "TCP") == protocol for p in rule.get("ports", [])):
            continue
        for peer in rule.get("to", []):
            if external and "ipBlock" in peer:
                return True
            sel = peer.get("podSelector", {}).get("matchLabels")
            if target_labels is not None and sel is not None and sel.items() <= target_labels.items() \
                    and ("namespaceSelector" not in peer):
                return True
    return False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_calls_the_code_makes(overlay):
    docs = build(overlay)
    assert any(np["spec"]["podSelector"] == {} and not np["spec"].get("ingress") and not np["spec"].get("egress")
               for np in of_kind(docs, "NetworkPolicy")), "a default-deny policy comes first"
    config_maps = {cm["metadata"]["name"]: cm for cm in of_kind(docs, "ConfigMap")}
    services = {s["metadata"]["name"]: s for s in of_kind(docs, "Service")}
    pods = {o["metadata"]["name"]: t["metadata"]["labels"] for o, t in pod_templates(docs)}
    for owner, template in pod_templates(docs):
        labels = template["metadata"]["labels"]
        app = labels["app.kubernetes.io/name"]
        rules = allowed_egress(docs, labels)
        assert rules, f"{owner['metadata']['name']} has no egress policy"
        for c in template["spec"]["containers"]:
            env = container_env(c, config_maps)
            for name, value in env.items():
                if name in LINKS_ONLY or not re.match(r"^(https?|amqp|postgresql\+psycopg2|smtp)://", str(value)):
                    continue
                url = urlsplit(value.replace("$(", "").replace(")", ""))
                host = url.hostname
                port = url.port or {"https": 443, "http": 80, "smtp": 25}.get(url.scheme)
                if host in services:
                    target = services[host]
                    tport = next(p for p in target["spec"]["ports"] if p["port"] == port)
                    target_labels = next(lbl for lbl in pods.values()
                                         if target["spec"]["selector"].items() <= lbl.items())
                    container_port = next(p["containerPort"] for o, t in pod_templates(docs)
                                          if t["metadata"]["labels"] == target_labels
                                          for cc in t["spec"]["containers"] for p in cc.get("ports", [])
                                          if p["name"] == tport["targetPort"])
                    assert reaches(rules, target_labels, container_port), \
                        f"{owner['metadata']['name']}: {name}={value} is blocked by the network policies"
                elif host == "motcua-pg-rw":
                    assert reaches(rules, {"cnpg.io/cluster": "motcua-pg"}, 5432)
                elif host == "motcua-rabbitmq":
                    assert reaches(rules, {"app.kubernetes.io/name": "motcua-rabbitmq"}, 5672)
                elif host and not host.startswith(("127.", "localhost")):
                    assert reaches(rules, None, port, external=True), f"{app}: {name}={value} has no egress rule"
        # Nothing more: databases only its own cluster (the role's password is its own), no other service's pods.
        callees = {"intake": {"postal", "processing"}, "portal": {"intake", "processing"}}.get(app, set())
        if overlay == "dev":
            callees |= {"payment": {"bank"}, "notify": {"sms-gateway"}, "processing": {"dvcqg"}, "intake": {"dvcqg"},
                        "bank": {"payment"}, "postal-operator": {"postal"}, "sms-gateway": {"notify"}}.get(app, set())
        for rule in rules:
            for peer in rule.get("to", []):
                sel = peer.get("podSelector", {}).get("matchLabels", {})
                other = sel.get("app.kubernetes.io/name")
                if other and other not in ("motcua-rabbitmq", app):
                    assert other in callees, f"{app} may reach {other}, which it never calls"


def test_the_old_intake_only_manifests_are_gone():
    assert not (ROOT / "deploy/k8s").exists()


def test_rabbitmq_definitions_of_kubernetes_and_compose_agree_on_the_suites_queues():
    k8s = json.loads((K8S / "infra/definitions.json").read_text(encoding="utf-8"))
    compose = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text(encoding="utf-8"))
    suite = [q for q in compose["queues"] if not q["name"].startswith("postal_operator.")]
    assert k8s["queues"] == suite
    assert "users" not in k8s, "the operator makes the cluster's users; no password hash is committed for it"


def secret_names(node) -> set[str]:
    """Names of every Secret a built resource refers to (env, envFrom, CNPG role passwords and backup keys)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("secretRef", "secretKeyRef", "passwordSecret") and isinstance(value, dict):
                found.add(value["name"])
            elif key in ("accessKeyId", "secretAccessKey") and isinstance(value, dict):
                found.add(value["name"])
            else:
                found |= secret_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= secret_names(item)
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_the_manifests_need_is_in_the_runbook(overlay):
    runbook = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    names = secret_names(list(build(overlay)))
    assert {"motcua-intake", "motcua-pg-intake", "motcua-rabbitmq-default-user"} <= names
    for name in names:
        generic = re.sub(r"-(intake|processing|payment|postal|notify)$", "-$s", name)
        assert name in runbook or generic in runbook, f"docs/operations.md does not say where Secret {name} comes from"
