"""A private RabbitMQ node for fault tests: its own ports, data directory and cookie, killable with -9.

The system broker on 5672 is never touched: this node has its own name (`motcua-test-<port>@localhost`),
registers with the shared epmd, and keeps everything under `base_dir`, so `start()` after `kill9()`
boots the same data again (durable quorum queues and persistent messages survive).

Debian's /usr/sbin/rabbitmq-server and rabbitmqctl are a wrapper that switches to the `rabbitmq` user
(and its cookie, and /var/lib/rabbitmq); the node here runs the real scripts from /usr/lib/rabbitmq/bin
as the current user instead, with HOME pointing at a directory holding a cookie of its own, so the
node and our rabbitmqctl calls agree on it and nothing needs to be readable by another user.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DEBIAN_BIN = Path("/usr/lib/rabbitmq/bin")


def _script(name: str) -> str:
    """The real rabbitmq script, not Debian's user-switching wrapper around it."""
    if (DEBIAN_BIN / name).exists():
        return str(DEBIAN_BIN / name)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise RuntimeError(f"{name} not found: install rabbitmq-server (make broker does)")
    return found


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class PrivateRabbit:
    def __init__(self, port: int, dist_port: int, base_dir: str | os.PathLike, *, start_timeout: float = 90.0):
        if port == 5672 or dist_port == 25672:
            raise ValueError("5672/25672 belong to the system broker")
        self.port = port
        self.dist_port = dist_port
        self.node = f"motcua-test-{port}@localhost"
        self.dir = Path(base_dir).resolve() / f"rabbit-{port}"
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self.os_pid: int | None = None  # beam.smp of this node
        self.ready_at: float | None = None  # time.time() when the last await_startup returned
        self.start_seconds: list[float] = []  # how long each start() took, until await_startup succeeded
        self._prepare()

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def log_path(self) -> Path:
        return self.dir / "stdout.log"

    def _prepare(self) -> None:
        home = self.dir / "home"
        for d in (home, self.dir / "mnesia", self.dir / "log"):
            d.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(16).upper())
            cookie.chmod(0o400)  # Erlang refuses a cookie file others can read
        (self.dir / "enabled_plugins").write_text("[].\n")  # no plugins: faster boot, nothing listening elsewhere
        (self.dir / "rabbitmq-env.conf").write_text("")  # instead of /etc/rabbitmq/rabbitmq-env.conf (its NODENAME)
        (self.dir / "rabbitmq.conf").write_text(
            # Loopback only: guest may log in from loopback alone anyway (loopback_users).
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            "log.file.level = info\n"
            "log.console = false\n"
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))},
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "node.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            # What /etc/rabbitmq/rabbitmq-env.conf does for the system node: distribution on loopback only.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    # ---- control -----------------------------------------------------------------------------
    def ctl(self, *args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [_script("rabbitmqctl"), "-q", "-n", self.node, *args], env=self.env, capture_output=True,
            text=True, timeout=timeout, check=check,
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> float:
        """Boot (or boot again on the same data); returns the seconds until `await_startup` succeeded."""
        if self.running():
            raise RuntimeError(f"{self.node} is already running")
        for port in (self.port, self.dist_port):
            if port_open(port):
                raise RuntimeError(f"port {port} is taken: cannot start {self.node}")
        pid_file = self.dir / "node.pid"
        pid_file.unlink(missing_ok=True)  # a kill -9 leaves the old one behind
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} start\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [_script("rabbitmq-server")], env=self.env, cwd=self.dir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = began + self.start_timeout
        # await_startup fails at once while the node is not yet registered with epmd; the pid file is written
        # early in the boot, so it says when waiting makes sense.
        while not pid_file.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                self._give_up("no pid file")
            time.sleep(0.05)
        while True:
            remaining = max(int(deadline - time.monotonic()), 1)
            result = self.ctl("await_startup", "--timeout", str(remaining), timeout=remaining + 15, check=False)
            if result.returncode == 0:
                break
            self._check_alive()
            if time.monotonic() > deadline:
                self._give_up(result.stderr[-2000:])
            time.sleep(0.2)
        self.ready_at = time.time()
        self.start_seconds.append(time.monotonic() - began)
        pid = self.ctl("eval", "os:getpid().").stdout.strip().strip('"')
        self.os_pid = int(pid)
        file_pid = pid_file.read_text().strip()
        if file_pid and int(file_pid) != self.os_pid:
            raise RuntimeError(f"{self.node}: pid file says {file_pid}, the node says {self.os_pid}")
        return self.start_seconds[-1]

    def _check_alive(self) -> None:
        if not self.running():
            raise RuntimeError(f"{self.node} exited while starting:\n{self.log_tail()}")

    def _give_up(self, why: str) -> None:
        self._terminate()
        raise RuntimeError(f"{self.node} not up within {self.start_timeout:.0f} s ({why}):\n{self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL the node's beam.smp (only this node's: its pid came from the node itself)."""
        if self.os_pid is None or not self.running():
            raise RuntimeError(f"{self.node} is not running")
        os.kill(self.os_pid, signal.SIGKILL)
        # The foreground rabbitmq-server script waits on beam and exits once it is gone.
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.os_pid = None

    def wipe(self) -> None:
        """Delete the node's data (queues, messages, definitions) while it is down: the next `start()` boots
        an empty broker, as after losing its disk. The cookie, config and logs stay."""
        if self.running():
            raise RuntimeError(f"{self.node} is running: stop it before wiping its data")
        shutil.rmtree(self.dir / "mnesia", ignore_errors=True)
        (self.dir / "mnesia").mkdir(parents=True, exist_ok=True)

    def stop(self) -> None:
        """A clean stop (rabbitmqctl stop), SIGTERM/SIGKILL to the process group if that fails."""
        if not self.running():
            return
        try:
            self.ctl("stop", timeout=60, check=False)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self._terminate()

    def _terminate(self) -> None:
        if self.process is None:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        if self.os_pid is not None:
            try:
                os.kill(self.os_pid, signal.SIGKILL)  # beam in its own group would survive killpg
            except ProcessLookupError:
                pass
            self.os_pid = None

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for path in (self.log_path, self.dir / "log" / f"{self.node}.log"):
            if path.exists():
                out.append(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(out)

    def __enter__(self) -> "PrivateRabbit":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
