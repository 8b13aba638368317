"""Gunicorn settings shared by the five web processes (make run, docker compose, Kubernetes)."""
import os

workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "sync"
max_requests = 0  # no recycling: it would reset per-process state such as connection pools for no gain
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = None  # the app logs each request itself, as JSON with the correlation id
# Every master would otherwise share ~/.gunicorn/gunicorn.ctl, the last one started owning it.
control_socket_disable = True
# The heartbeat file of each worker on overlayfs (containers) can stall the arbiter; tmpfs does not.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

_prom_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _prom_dir:
    # prometheus-client writes one file per process here and fails if the directory is missing.
    os.makedirs(_prom_dir, exist_ok=True)
    from prometheus_client import multiprocess

    def child_exit(server, worker):
        # Drops the dead worker's live gauges; its counters stay summed into the totals.
        multiprocess.mark_process_dead(worker.pid)


# Gunicorn answers what it refuses before the app sees it (an over-long URL: 414, too many or too
# long headers: 431, a malformed request line: 400) with an HTML page of its own. Clients of the
# suite expect the common JSON error shape on every answer, so its writer is replaced here (the
# config file runs in the master before the workers fork, so every worker gets it).
def _json_write_error(sock, status_int, reason, mesg):
    import json as _json

    from gunicorn import util as _util

    body = _json.dumps({"code": status_int, "status": reason, "message": str(mesg)}, ensure_ascii=True).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    _util.write_nonblock(sock, head + body)


def _install_json_errors():
    from gunicorn import util as _util

    _util.write_error = _json_write_error


_install_json_errors()
