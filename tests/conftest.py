"""Fixtures of the cross-service tests: private RabbitMQ nodes, suites on shifted ports, and the flow helpers."""
import importlib.util
import json
import socket
import sys
from pathlib import Path

import pytest

from scripts.suite import Suite
from scripts.suite import start_suite as start_on_free_ports

SUPPORT = Path(__file__).parent / "support"


def _load(name: str, path: Path):
    # importlib import mode: test folders are not packages, so the helpers are loaded by their path.
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


rabbit = _load("motcua_tests_support_rabbit", SUPPORT / "rabbit.py")
helpers = _load("motcua_tests_support_motcua", SUPPORT / "motcua.py")
# The journeys of the end-to-end paths, the misbehaving parties and the security matrix (citizens, officers, the
# simulators' views); those modules take it from sys.modules under this name.
journeys = _load("motcua_tests_support_journeys", SUPPORT / "journeys.py")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair(start: int) -> tuple[int, int]:
    """A free AMQP port from `start` up, with its distribution port (+30000) free too."""
    for port in range(start, start + 200):
        if all(_bindable(p) and not rabbit.port_open(p) for p in (port, port + 30000)):
            return port, port + 30000
    raise RuntimeError(f"no free port pair from {start}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def support():
    """The flow helpers of tests/support/motcua.py (filing, cases, SMS, metrics)."""
    return helpers


@pytest.fixture
def figures(capsys):
    """figures(prefix, data): one JSON line past pytest's capture, so a plain `pytest -q` run shows it."""
    def emit(prefix: str, data: dict) -> None:
        with capsys.disabled():
            print(f"\n{prefix} {json.dumps(data, ensure_ascii=False, sort_keys=True)}")
    return emit


@pytest.fixture
def private_rabbit(tmp_path):
    """A started private RabbitMQ node (its own ports and data), stopped after the test."""
    port, dist_port = free_port_pair(5772)
    node = rabbit.PrivateRabbit(port, dist_port, tmp_path)
    try:
        node.start()
        yield node
    finally:
        node.stop()


@pytest.fixture
def start_suite(tmp_path, request):
    """start_suite(env, port_offset, **kw) -> a started Suite under tmp_path; stopped (with log tails on failure) after."""
    suites = []

    def start(env: dict, port_offset: int, **kwargs) -> Suite:
        # The preferred offset, or a nearby one when its ports are taken (another run of the same tests).
        suite = start_on_free_ports(tmp_path / f"run-{len(suites)}", env, port_offset, **kwargs)
        suites.append(suite)
        return suite

    yield start
    failed = any(getattr(request.node, f"rep_{w}", None) and getattr(request.node, f"rep_{w}").failed
                 for w in ("setup", "call"))
    for suite in suites:
        if failed:
            for name in suite.process_names():
                print(f"\n----- {name} (last lines) -----\n{suite.log_tail(name, 25)}")
        suite.stop()


@pytest.fixture(autouse=True)
def _suite_log_tails_on_failure(request):
    """A failed test that uses a module's running `suite` prints the last lines of each of its processes."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed or "suite" not in request.fixturenames:
        return
    suite = request.getfixturevalue("suite")
    if isinstance(suite, Suite):
        for name in suite.process_names():
            print(f"\n----- {name} (last lines) -----\n{suite.log_tail(name, 8)}")
