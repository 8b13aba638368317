"""Message contracts across services: schemas, examples, producers against consumers, queues, docs/events.md."""
import importlib
import os
import re
import subprocess
import sys
from urllib.parse import unquote, urlparse

import pytest

from scripts import gen_events_doc
from servicekit.events import Catalog
from servicekit.testing import rabbitmqctl
from servicekit.topology import EVENTS_EXCHANGE

SERVICES = gen_events_doc.SERVICES
TYPE_NAME = re.compile(r"^[a-z_]+(\.[a-z_]+)+\.v\d+$")
# Types a service consumes that come from outside the suite (none so far): type -> who publishes them.
EXTERNAL = {}
# Types no service needs to act on: type -> why.
UNCONSUMED = {}
# Types DESIGN.md says another service consumes, whose consumer has not been written yet: type -> who should.
# The test fails when a new type goes unread, and also when one of these gains its consumer (then drop it here).
AWAITING_CONSUMER = {}


def events_module(service):
    try:
        return importlib.import_module(f"{service}.events")
    except ModuleNotFoundError as exc:
        if exc.name in (service, f"{service}.events"):
            pytest.skip(f"{service} has not landed yet (no {exc.name} package)")
        raise


def all_modules():
    """Every service's events module; the cross-service checks skip until all five exist."""
    modules, missing = gen_events_doc.load_catalogs()
    if missing:
        pytest.skip(f"not every service has landed yet: {', '.join(missing)} missing")
    return modules


def catalogs(module):
    """(PUBLISHES, CONSUMES); a service that consumes nothing may leave CONSUMES out."""
    assert hasattr(module, "PUBLISHES"), f"{module.__name__} defines no PUBLISHES catalog"
    service = module.__name__.split(".")[0]
    return module.PUBLISHES, getattr(module, "CONSUMES", None) or Catalog(service)


def consumers_by_type(modules):
    readers = {}
    for service, module in modules.items():
        for event_type in catalogs(module)[1]:
            readers.setdefault(event_type.name, []).append((service, event_type))
    return readers


@pytest.mark.parametrize("service", SERVICES)
def test_every_published_type_has_a_schema_and_an_example_that_validates_against_it(service):
    publishes, consumes = catalogs(events_module(service))
    assert publishes.source == consumes.source == service
    problems = []
    for event_type in publishes:
        if not TYPE_NAME.match(event_type.name):
            problems.append(f"{event_type.name}: not a versioned type name like dossier.submitted.v1")
        if event_type.schema is None or not event_type.schema().fields:
            problems.append(f"{event_type.name}: no schema fields")
            continue
        if not event_type.example:
            problems.append(f"{event_type.name}: no example")
            continue
        errors = event_type.schema().validate(event_type.example)
        if errors:
            problems.append(f"{event_type.name}: example invalid under its own schema: {errors}")
        else:
            event_type.dump(event_type.example)  # what record_event does before the outbox
        if not event_type.description:
            problems.append(f"{event_type.name}: no description (docs/events.md shows it)")
    assert not problems, "\n".join(problems)


def test_every_consumed_type_is_published_by_some_service_or_documented_as_external():
    modules = all_modules()
    published = {t.name for m in modules.values() for t in m.PUBLISHES}
    orphans = [
        f"{service} consumes {event_type.name}, which no service publishes"
        for service, module in modules.items()
        for event_type in catalogs(module)[1]
        if event_type.name not in published and event_type.name not in EXTERNAL
    ]
    assert not orphans, "\n".join(orphans)


def test_every_producers_example_loads_under_every_consumers_schema_of_that_type():
    modules = all_modules()
    readers = consumers_by_type(modules)
    failures = []
    for producer, module in modules.items():
        for event_type in module.PUBLISHES:
            for consumer, consumed in readers.get(event_type.name, []):
                try:
                    consumed.load(event_type.example)
                except Exception as exc:  # MalformedEvent carries the field errors
                    failures.append(f"{producer}'s {event_type.name} example fails at {consumer}: {exc}")
    assert not failures, "\n".join(failures)


def test_every_published_type_has_a_consumer_unless_listed_as_intentionally_unconsumed():
    modules = all_modules()
    readers = consumers_by_type(modules)
    published = {event_type.name: service for service, module in modules.items() for event_type in module.PUBLISHES}
    unread = {name for name in published if name not in readers}
    unexpected = sorted(unread - set(UNCONSUMED) - set(AWAITING_CONSUMER))
    assert not unexpected, "\n".join(f"{published[n]} publishes {n} and nobody consumes it" for n in unexpected) + (
        "\n(consume it, or add it to UNCONSUMED with the reason)")
    stale = sorted((set(UNCONSUMED) | set(AWAITING_CONSUMER)) - unread)
    assert not stale, f"listed as unconsumed but now consumed (or no longer published): {stale}; update the lists"


@pytest.mark.parametrize("service", SERVICES)
def test_the_services_subscription_binds_its_queue_to_every_type_it_consumes(service, amqp_url, tmp_path):
    _publishes, consumes = catalogs(events_module(service))
    # `manage declare` builds the subscription the way the worker does, whatever shape the service gave it.
    env = {**os.environ, "MOTCUA_AMQP_URL": amqp_url, "MOTCUA_VAR_DIR": str(tmp_path),
           f"{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/{service}.db"}
    result = subprocess.run([sys.executable, "-m", f"{service}.manage", "declare"], env=env, cwd=gen_events_doc.ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    vhost = unquote(urlparse(amqp_url).path.lstrip("/"))
    rows = rabbitmqctl("list_bindings", "-q", "-p", vhost, "source_name", "destination_name", "routing_key")
    bound = {
        line.split("\t")[2]
        for line in rows.splitlines()
        if line.count("\t") == 2 and line.split("\t")[:2] == [EVENTS_EXCHANGE, f"{service}.events"]
    }
    assert not set(consumes.types) - bound, f"{service}.events is not bound to {sorted(set(consumes.types) - bound)}"
    # A binding without a handler would dead-letter every such event as "no handler".
    assert not bound - set(consumes.types), f"{service}.events is bound to types it does not consume: {sorted(bound - set(consumes.types))}"


def test_docs_events_md_lists_every_published_type_with_its_example_and_is_up_to_date():
    modules = all_modules()
    expected = gen_events_doc.render(modules, [])
    current = gen_events_doc.OUTPUT.read_text(encoding="utf-8") if gen_events_doc.OUTPUT.exists() else ""
    for module in modules.values():
        for event_type in module.PUBLISHES:
            assert f"## {event_type.name}" in expected
    assert current == expected, "docs/events.md is out of date: run `python -m scripts.gen_events_doc` and commit it"


def test_the_generator_checks_the_committed_file_the_same_way():
    all_modules()
    result = subprocess.run(
        [sys.executable, "-m", "scripts.gen_events_doc", "--check"], cwd=gen_events_doc.ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
