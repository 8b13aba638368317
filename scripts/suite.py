"""Launch the whole process set of deploy/Procfile in a private directory, on shifted ports (tests and bench).

    with Suite(tmp_path, {"MOTCUA_AMQP_URL": url}, port_offset=300) as suite:
        requests.post(suite.url("intake", "/v1/dossiers"), ...)

Each run gets its own SQLite files, Prometheus multiprocess directories and logs under `base_dir`, so
several suites (and a `make up` on the default ports) can run side by side on one machine. The commands
are read from deploy/Procfile, so what the tests start is exactly what `make run` starts.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = ROOT / "deploy" / "Procfile"

SERVICES = ("intake", "processing", "payment", "postal", "notify")
SIMULATORS = ("bank", "postal-operator", "sms-gateway", "dvcqg")
# Front ends: web processes with no worker and no database migration of their own.
FRONTENDS = ("portal",)
FRONTEND_PORTS = {"portal": 8000}
SERVICE_PORTS = {"intake": 8001, "processing": 8002, "payment": 8003, "postal": 8004, "notify": 8005}
SIMULATOR_PORTS = {"bank": 8101, "postal-operator": 8102, "sms-gateway": 8103, "dvcqg": 8104}
# The simulators read their port and database from these variables (motcua_sims.*.main).
SIMULATOR_PORT_VARS = {"bank": "BANK_SIM_PORT", "postal-operator": "POSTAL_SIM_PORT", "sms-gateway": "SMS_GATEWAY_PORT",
                       "dvcqg": "DVCQG_SIM_PORT"}
SIMULATOR_DB_VARS = {"bank": "BANK_SIM_DB", "postal-operator": "POSTAL_SIM_DB", "sms-gateway": "SMS_GATEWAY_DB",
                     "dvcqg": "DVCQG_SIM_DB"}
# A worker is ready once both halves hold a broker connection (the kit logs these JSON events).
WORKER_READY_EVENTS = ("relay.connected", "consumer.connected")
DOORBELL_OFFSET = 1000  # the kit's default: relay doorbell (UDP) at the service port + 1000
MIGRATE_TIMEOUT = 120.0

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # an http_proxy must not see 127.0.0.1


class SuiteError(RuntimeError):
    """The suite could not start (or a process could not be restarted); the message carries the log tail."""


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    processes = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if m:
            processes[m.group(1)] = m.group(2).strip()
    return processes


def expand(text: str, env: dict[str, str]) -> str:
    """Shell-style `$NAME`, `${NAME}` and `${NAME:-default}` (defaults may nest), as honcho's shell would."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
            continue
        if text.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth:
                raise ValueError(f"unbalanced ${{ in {text!r}")
            inner = text[i + 2 : j - 1]
            name, sep, default = inner.partition(":-")
            value = env.get(name, "")
            out.append(value if value or not sep else expand(default, env))
            i = j
            continue
        m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text[i:])
        if m:
            out.append(env.get(m.group(1), ""))
            i += m.end()
        else:
            out.append("$")
            i += 1
    return "".join(out)


def parse_command(command: str, env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """A Procfile command to (leading VAR=value assignments, argv), variables expanded against `env`."""
    words = shlex.split(command)
    assignments = {}
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = expand(value, env)
    return assignments, [expand(word, env) for word in words]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


class Process:
    """One Procfile entry: its own process group, output appended to logs/<name>.log."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None
        self.log_offset = 0  # where the current run's output starts in the log

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.log_offset = log.tell()
            log.write(f"--- {time.strftime('%H:%M:%S')} start {shlex.join(self.argv)}\n".encode())
            log.flush()
            # start_new_session: a group of its own, so a signal reaches gunicorn's workers too and nothing else.
            self.popen = subprocess.Popen(
                self.argv, cwd=ROOT, env={**self.env, **(extra_env or {})}, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> int | None:
        if self.popen is None:
            return None
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self) -> str:
        """What the current run has written so far."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_offset)
                return log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


class Suite:
    def __init__(
        self,
        base_dir: str | os.PathLike,
        env_overrides: dict[str, str] | None = None,
        port_offset: int = 0,
        services: tuple[str, ...] | list[str] = SERVICES,
        simulators: tuple[str, ...] | list[str] = SIMULATORS,
        *,
        frontends: tuple[str, ...] | list[str] = (),
        start_timeout: float = 60.0,
        stop_timeout: float = 15.0,
        process_env: dict[str, dict[str, str]] | None = None,
    ):
        unknown = (set(services) - set(SERVICES)) | (set(simulators) - set(SIMULATORS)) | (set(frontends) - set(FRONTENDS))
        if unknown:
            raise ValueError(f"unknown services or simulators: {sorted(unknown)}")
        self.base_dir = Path(base_dir).resolve()
        self.port_offset = port_offset
        self.services = tuple(services)
        self.simulators = tuple(simulators)
        self.frontends = tuple(frontends)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.var_dir = self.base_dir / "var"
        self.log_dir = self.base_dir / "logs"
        self.env = self._environment(env_overrides or {})
        self.processes: dict[str, Process] = {}
        self.consumers: dict[str, bool] = {}  # service -> whether its worker runs a consumer (known after migrate)
        procfile = read_procfile()
        for name in self.process_names():
            if name not in procfile:
                raise SuiteError(f"deploy/Procfile has no entry {name!r}")
            env = dict(self.env)
            service, _, role = name.rpartition("-")
            if role in ("web", "worker") and service in SERVICE_PORTS:
                # A fresh multiprocess directory per service: counters of an earlier run must not add up here.
                env["PROMETHEUS_MULTIPROC_DIR"] = str(self.var_dir / "prom" / service)
            env.update((process_env or {}).get(name, {}))
            assignments, argv = parse_command(procfile[name], env)
            for key, value in assignments.items():
                env.setdefault(key, value)  # the Procfile's inline defaults, unless the suite set that variable
            self.processes[name] = Process(name, argv, env, self.log_dir / f"{name}.log")

    # ---- layout --------------------------------------------------------------------------------
    def process_names(self) -> list[str]:
        names = [f"{s}-{role}" for s in self.services for role in ("web", "worker")]
        return names + list(self.simulators) + [f"{f}-web" for f in self.frontends]

    def port(self, name: str) -> int:
        if name in SERVICE_PORTS:
            return SERVICE_PORTS[name] + self.port_offset
        if name in SIMULATOR_PORTS:
            return SIMULATOR_PORTS[name] + self.port_offset
        if name in FRONTEND_PORTS:
            return FRONTEND_PORTS[name] + self.port_offset
        raise KeyError(name)

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port(name)}{path}"

    def database_path(self, name: str) -> Path:
        """The SQLite file of a service (`intake`) or simulator (`sms-gateway`)."""
        if name in SERVICE_PORTS:
            return self.var_dir / "data" / f"{name}.db"
        return self.var_dir / "data" / f"sim_{name.replace('-', '_')}.db"

    def _environment(self, overrides: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        # Settings a developer's shell may carry for `make run` must not leak into a private suite.
        for key in list(env):
            if key.startswith(tuple(f"{s.upper()}_" for s in SERVICE_PORTS)) or key.startswith(
                ("BANK_SIM_", "POSTAL_SIM_", "SMS_GATEWAY_", "DVCQG_SIM_", "PORTAL_", "MOTCUA_PORTAL_URL", "MOTCUA_FAULT",
                 "PROMETHEUS_MULTIPROC_DIR")
            ):
                del env[key]
        port = self.port
        env.update({
            "PYTHONUNBUFFERED": "1",
            "MOTCUA_VAR_DIR": str(self.var_dir),
            "MOTCUA_AMQP_URL": env.get("MOTCUA_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
            "NOTIFY_SMS_GATEWAY_URL": self.url("sms-gateway"),
            "SMS_GATEWAY_RECEIPT_URL": self.url("notify", "/v1/providers/receipts"),
            "BANK_SIM_CALLBACK_URL": self.url("payment", "/v1/gateway/callbacks"),
            "PAYMENT_BANK_URL": self.url("bank"),
            "POSTAL_SIM_CALLBACK_URL": self.url("postal", "/v1/carrier/events"),
            "PORTAL_PORT": str(port("portal")),
            "PORTAL_INTAKE_URL": self.url("intake"),
            "INTAKE_POSTAL_URL": self.url("postal"),
            "INTAKE_PROCESSING_URL": self.url("processing"),
            "PROCESSING_DVCQG_URL": self.url("dvcqg"),
            "PROCESSING_DVCQG_MADONVI": "000.00.00.H56",
            # A test or bench suite files thousands of dossiers from one address: intake's per-client and
            # per-phone limits (0 = off) are tested on their own, not here.
            "INTAKE_FILING_MAX_PER_CLIENT": "0",
            "INTAKE_FILING_MAX_PER_PHONE": "0",
            "INTAKE_UPLOAD_MAX_PER_CLIENT": "0",
            "PORTAL_PROCESSING_URL": self.url("processing"),
            "PORTAL_SESSION_DB": str(self.var_dir / "data" / "portal-sessions.db"),
            "MOTCUA_PORTAL_URL": self.url("portal"),
        })
        for service in SERVICE_PORTS:
            prefix = service.upper()
            env[f"{prefix}_PORT"] = str(port(service))
            env[f"{prefix}_RELAY_DOORBELL"] = f"127.0.0.1:{port(service) + DOORBELL_OFFSET}"
            env[f"{prefix}_DATABASE_URL"] = f"sqlite:///{self.database_path(service)}"
        for sim in SIMULATOR_PORTS:
            env[SIMULATOR_PORT_VARS[sim]] = str(port(sim))
            env[SIMULATOR_DB_VARS[sim]] = str(self.database_path(sim))
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    # ---- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> "Suite":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._check_ports()
            (self.var_dir / "data").mkdir(parents=True, exist_ok=True)
            for service in self.services:
                prom = self.var_dir / "prom" / service
                if prom.exists():
                    for f in prom.iterdir():
                        f.unlink()
                prom.mkdir(parents=True, exist_ok=True)
            self.migrate(*self.services)
            # The worker runs a consumer exactly when the service has a subscription, which is also when
            # `manage migrate` declared its queue; a worker without one is ready once its relay is.
            self.consumers = {s: queue_exists(self.env["MOTCUA_AMQP_URL"], f"{s}.events") for s in self.services}
            for name in self.process_names():
                self.processes[name].start()
            self.wait_ready(self.process_names())
        except BaseException:
            self.stop()
            raise

    def _check_ports(self) -> None:
        busy = [f"{name}:{self.port(name)}" for name in (*self.services, *self.simulators, *self.frontends)
                if port_in_use(self.port(name))]
        if busy:
            raise SuiteError(f"ports already in use (another suite or `make up`?): {', '.join(busy)}")

    def migrate(self, *services: str) -> None:
        """`python -m <service>.manage migrate` for each (concurrently: every service has its own database)."""
        running = []
        for service in services or self.services:
            log_path = self.log_dir / f"{service}-migrate.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(self.var_dir / "prom" / service)}
            with open(log_path, "ab") as log:
                process = subprocess.Popen(
                    [python(), "-m", f"{service}.manage", "migrate"], cwd=ROOT, env=env,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                )
            running.append((service, process, log_path))
        deadline = time.monotonic() + MIGRATE_TIMEOUT
        failed = []
        for service, process, log_path in running:
            try:
                rc = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                rc = "timeout"
            if rc != 0:
                failed.append(f"{service}.manage migrate failed ({rc}):\n{tail(log_path)}")
        if failed:
            raise SuiteError("\n".join(failed))

    def wait_ready(self, names: list[str], timeout: float | None = None) -> None:
        """Until every web answers /readyz, every simulator /healthz, and every worker is connected."""
        deadline = time.monotonic() + (timeout or self.start_timeout)
        pending = list(names)
        while pending:
            for name in list(pending):
                process = self.processes[name]
                if not process.running():
                    code = process.popen.returncode if process.popen else None
                    raise SuiteError(f"{name} exited with {code} while starting:\n{self.log_tail(name)}")
                if self._is_ready(name):
                    pending.remove(name)
            if not pending:
                return
            if time.monotonic() > deadline:
                details = "\n".join(f"--- {n} ---\n{self.log_tail(n, 15)}" for n in pending)
                raise SuiteError(f"not ready after {timeout or self.start_timeout:.0f} s: {pending}\n{details}")
            time.sleep(0.1)

    def _is_ready(self, name: str) -> bool:
        service, _, role = name.rpartition("-")
        if role == "web" and (service in SERVICE_PORTS or service in FRONTEND_PORTS):
            return http_status(self.url(service, "/readyz")) == 200
        if role == "worker" and service in SERVICE_PORTS:
            events = {line.get("event") for line in self.log_events(name)}
            expected = WORKER_READY_EVENTS if self.consumers.get(service, True) else ("relay.connected",)
            return all(e in events for e in expected)
        return http_status(self.url(name, "/healthz")) == 200

    def stop(self) -> None:
        """SIGTERM to every process group, SIGKILL to whatever is left after `stop_timeout`."""
        live = [p for p in self.processes.values() if p.running()]
        for p in live:
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for p in live:
            p.wait(max(deadline - time.monotonic(), 0.1))
        for p in self.processes.values():
            # Also the group of a process that exited on its own but may have left children behind.
            p.signal(signal.SIGKILL)
            p.wait(5)

    # ---- one process ---------------------------------------------------------------------------
    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.processes[name].signal(sig)

    def wait_exit(self, name: str, timeout: float = 15.0) -> int | None:
        return self.processes[name].wait(timeout)

    def restart(self, name: str, extra_env: dict[str, str] | None = None, wait: bool = True) -> None:
        """Stop (SIGTERM, then SIGKILL) and start again, optionally with extra environment (fault injection)."""
        process = self.processes[name]
        if process.running():
            process.signal(signal.SIGTERM)
            if process.wait(self.stop_timeout) is None:
                process.signal(signal.SIGKILL)
                process.wait(5)
        process.signal(signal.SIGKILL)  # leftovers of the old group
        process.start(extra_env)
        if wait:
            self.wait_ready([name])

    def pids(self) -> dict[str, int | None]:
        return {name: p.pid for name, p in self.processes.items() if p.running()}

    def log_tail(self, name: str, lines: int = 40) -> str:
        return tail(self.processes[name].log_path, lines)

    def log_events(self, name: str, whole_log: bool = False) -> list[dict]:
        """The JSON log lines of a process (its current run, or every run with `whole_log`)."""
        process = self.processes[name]
        if whole_log:
            try:
                text = process.log_path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                text = ""
        else:
            text = process.output()
        events = []
        for line in text.splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
        return events


def start_suite(base: Path, env: dict[str, str], port_offset: int, *, attempts: int = 5, step: int = 10,
                **kwargs) -> Suite:
    """A started Suite under `base`, on `port_offset` or, when its ports are taken (another run of the same tests,
    `make up`), on the next free offset `step` further, up to `attempts` tries; any other failure is raised."""
    for attempt in range(attempts):
        suite = Suite(Path(base) / f"suite-{attempt}", env, port_offset=port_offset + step * attempt, **kwargs)
        try:
            suite.start()
            return suite
        except SuiteError as exc:
            if "ports already in use" not in str(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def queue_exists(amqp_url: str, queue: str) -> bool:
    """Whether `manage migrate` declared this queue (a passive declare: it never creates one)."""
    import pika  # only here: the rest of the launcher needs no broker client

    try:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    except pika.exceptions.AMQPError:
        return False
    try:
        connection.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if connection.is_open:
            connection.close()


def python() -> str:
    """The interpreter the Procfile uses (.venv/bin/python), or this one where there is no venv."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - 64 * 1024, 0))
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


def main(argv: list[str] | None = None) -> int:
    """`python -m scripts.suite <dir> [port_offset]`: run a private suite in the foreground until Ctrl-C."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m scripts.suite <base_dir> [port_offset]", file=sys.stderr)
        return 2
    suite = Suite(args[0], port_offset=int(args[1]) if len(args) > 1 else 0)
    with suite:
        print(json.dumps({name: suite.url(name) for name in (*suite.services, *suite.simulators)}, indent=1))
        try:
            while all(p.running() for p in suite.processes.values()):
                time.sleep(1)
            print("a process exited:", [n for n, p in suite.processes.items() if not p.running()], file=sys.stderr)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
