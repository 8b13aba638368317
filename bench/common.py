"""What every bench test shares: the repo paths, child processes we start and stop by pid, free ports, waits, machine facts."""
from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
PYTHON = os.path.join(VENV_BIN, "python") if os.path.exists(os.path.join(VENV_BIN, "python")) else sys.executable
GUNICORN = os.path.join(VENV_BIN, "gunicorn")
GUNICORN_CONF = os.path.join(REPO, "deploy", "gunicorn.conf.py")
BASE_AMQP = os.environ.get("MOTCUA_BENCH_AMQP_BASE", "amqp://guest:guest@127.0.0.1:5672/")
LOOPBACK = "127.0.0.1"  # every load generator here targets this address and nothing else


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (held open together so the kernel does not hand out one twice)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class Proc:
    """A child process in its own session, so stopping it reaches its children (gunicorn's workers) too."""

    name: str
    args: list[str]
    env: dict
    log_path: str
    cwd: str = REPO
    popen: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> "Proc":
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.args, cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)  # the group this child leads, nothing else
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop within {timeout:.0f} s; killing its process group")
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                return b"".join(fh.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""


def base_env(**extra: str) -> dict:
    env = dict(os.environ)  # the services' own defaults (INFO request logs included): measured as deployed
    env.pop("MOTCUA_FAULT", None)  # the reliability tests' fault injection never applies to a benchmark
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_http(url: str, timeout: float = 30.0, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited while starting:\n{proc.tail()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready within {timeout:.0f} s ({last})" + (f"\n{proc.tail()}" if proc else ""))


def run_checked(args: list[str], env: dict | None = None, timeout: float = 120) -> str:
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def gunicorn_workers() -> int:
    """The worker count deploy/gunicorn.conf.py will use (it reads GUNICORN_WORKERS)."""
    scope: dict = {}
    with open(GUNICORN_CONF) as fh:
        exec(compile(fh.read(), GUNICORN_CONF, "exec"), scope)  # the config file is plain assignments
    return int(scope.get("workers", 1))


def process_tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (gunicorn's arbiter and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            pids += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an unsorted list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def machine_info() -> dict:
    info = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "rabbitmq": _rabbitmq_version(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "loadavg_at_start": list(os.getloadavg()),
        "note": "client and servers share the same cores; figures are ratios against baselines taken in the same run",
    }
    try:
        with open("/proc/meminfo") as fh:
            info["memory_gib"] = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def _rabbitmq_version() -> str | None:
    if not shutil.which("rabbitmqctl"):
        return None
    try:
        return subprocess.run(["rabbitmqctl", "version"], capture_output=True, text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


# ---- honest rounds: the machine's load, other processes' CPU, median and range --------------------------

def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def machine_busy(seconds: float = 1.0) -> dict:
    """How busy the cores are right now (sampled over `seconds`) and the load average."""
    b0, t0 = _cpu_jiffies()
    time.sleep(seconds)
    b1, t1 = _cpu_jiffies()
    cores = os.cpu_count() or 1
    return {"busy_cores": round((b1 - b0) / max(t1 - t0, 1) * cores, 3), "loadavg_1m": round(os.getloadavg()[0], 2)}


class Interference:
    """CPU the whole machine used during a window, minus what our own processes used: the others' share.

    `ours()` returns the CPU seconds of every process we account for (servers, client, broker); the
    remainder is work of processes we did not start, which skews a round (it competes for the 2 cores).
    """

    def __init__(self, ours):
        self.ours = ours

    def __enter__(self) -> "Interference":
        self._busy0, self._total0 = _cpu_jiffies()
        self._ours0 = self.ours()
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        busy1, total1 = _cpu_jiffies()
        cores = os.cpu_count() or 1
        tick = os.sysconf("SC_CLK_TCK")
        elapsed = max(time.monotonic() - self._t0, 1e-6)
        machine_cpu_s = (busy1 - self._busy0) / tick
        ours_s = self.ours() - self._ours0
        self.result = {
            "machine_busy_cores": round(machine_cpu_s / elapsed, 3),
            "our_cores": round(ours_s / elapsed, 3),
            "other_cores": round(max(machine_cpu_s - ours_s, 0.0) / elapsed, 3),
            "cores": cores,
        }


# A round is retaken when other processes used more than this many cores during it (bounded retries).
OTHER_CORES_LIMIT = float(os.environ.get("BENCH_OTHER_CORES_LIMIT", "0.35"))
ROUND_RETRIES = int(os.environ.get("BENCH_ROUND_RETRIES", "2"))
# Retakes are bounded in total too, so a machine that stays busy cannot stretch `make bench` past its budget.
RETAKE_BUDGET_S = float(os.environ.get("BENCH_RETAKE_BUDGET_S", "180"))
_retake_spent = [0.0]


def quiet_round(run, label: str, *, retries: int = ROUND_RETRIES, limit: float = OTHER_CORES_LIMIT) -> dict:
    """Runs `run()` (which returns a dict with an `interference` entry) up to 1 + `retries` times until no
    other process used more than `limit` cores during it; the last attempt is kept and flagged if noisy."""
    attempts = []
    for attempt in range(retries + 1):
        before = machine_busy(1.0)
        started = time.monotonic()
        result = run()
        result["machine_before"] = before
        other = result.get("interference", {}).get("other_cores", 0.0)
        attempts.append({"before": before, "other_cores": other})
        if other <= limit:
            result["noisy"] = False
            break
        result["noisy"] = True
        retake = attempt < retries and _retake_spent[0] < RETAKE_BUDGET_S
        log(f"{label}: other processes used {other:.2f} cores during the round (limit {limit:.2f}); "
            + ("retaking it" if retake else "keeping it, flagged noisy"))
        if not retake:
            break
        _retake_spent[0] += time.monotonic() - started
    result["attempts"] = attempts
    return result


def median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def spread(values: list[float]) -> dict:
    """Median and range, the figures a table reports (never the best round)."""
    return {"median": median(values), "min": min(values) if values else float("nan"),
            "max": max(values) if values else float("nan"), "n": len(values)}


def children_cpu_seconds() -> float:
    """CPU of this process's waited-for children (the load client: wrk or the Python client processes)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pid_tree(pid: int) -> list[int]:
    """A process and all its descendants (gunicorn's arbiter and workers, a beam and its helpers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(x) for x in fh.read().split()]
        except OSError:
            pass
    return out


def tree_cpu_seconds(pid: int) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pid_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants (VmRSS summed; shared pages counted per process)."""
    total = 0
    for p in pid_tree(pid):
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def rabbit_pid() -> int | None:
    """The shared broker's beam.smp (rabbitmqctl is slow: read it once, before any clock runs)."""
    try:
        out = subprocess.run(["rabbitmqctl", "eval", "os:getpid()."], capture_output=True, text=True, timeout=30).stdout
        return int(out.strip().strip('"'))
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
