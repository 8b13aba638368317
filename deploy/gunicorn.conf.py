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
