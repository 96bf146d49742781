"""The compliance suite: one test per control, parametrized over the targets chosen at run time.
Hosts come as testinfra's --hosts and --ssh-config; clusters, tenants and object stores from the
Scope `pdn comply run` hands the suite (pdn.compliance.targets; none when run bare). Each result
carries its control, severity and target as JUnit properties."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from pdn.compliance import host_batch
from pdn.compliance.catalog import load_catalog
from pdn.compliance.run import target_of
from pdn.compliance.targets import Scope

CATALOG = load_catalog()


# Hosts asked at once: each mostly waits on its SSH handshake and its host (2 cores here).
AT_ONCE = 16


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(id): the catalog control a test implements")
    config.addinivalue_line(
        "markers", "commands(*cmd): the commands a host test runs (all hosts' run at once)"
    )


@pytest.fixture(scope="session")
def _host_outputs(
    request: pytest.FixtureRequest,
) -> Iterator[dict[int, Future[dict[str, Any]]]]:
    """Every host test's commands (its `commands` marker), started when the first host check
    runs: each host asked once, all its commands in one SSH session that runs them at once
    (pdn.compliance.host_batch) and opens the host's multiplexed connection, 16 hosts at a
    time. A check's time is mostly its host's session. Each test reads its own results (a host
    that does not answer fails the tests that ask it)."""
    wanted: dict[int, tuple[Any, list[str]]] = {}
    for item in request.session.items:
        marker = item.get_closest_marker("commands")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None or "_testinfra_host" not in callspec.params:
            continue
        target = callspec.params["_testinfra_host"]
        _target, commands = wanted.setdefault(id(target), (target, []))
        commands += [str(c) for c in marker.args if str(c) not in commands]
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        yield {
            key: pool.submit(host_batch.run, target, commands)
            for key, (target, commands) in wanted.items()
        }


@pytest.fixture
def run_command(_host_outputs: dict[int, Future[dict[str, Any]]]) -> Any:
    """run_command(host, command): its result, from the run started up front (or run now)."""

    def run(target: Any, command: str) -> Any:
        started = _host_outputs.get(id(target))
        try:
            found = started.result() if started is not None else {}
        except OSError:
            # The local ssh client could not be started (CPython's vfork spawn from many
            # threads at once once failed with EFAULT): not the host's answer, ask again.
            found = {}
        return found[command] if command in found else target.run(command)

    return run


def _scope(config: pytest.Config) -> Scope:
    found = [p for p in config.pluginmanager.get_plugins() if isinstance(p, Scope)]
    return found[0] if found else Scope()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for argument, targets in _scope(metafunc.config).by_argument().items():
        if argument in metafunc.fixturenames:
            metafunc.parametrize(argument, targets, ids=[t.target for t in targets])


@pytest.fixture(scope="session")
def scope(pytestconfig: pytest.Config) -> Scope:
    return _scope(pytestconfig)


@pytest.fixture(scope="session")
def backup_rows(scope: Scope) -> list[Any]:
    """Every tenant's backup status, read once per run."""
    if scope.backups is None:
        pytest.skip("no data services in this run's scope")
    return scope.backups()


@pytest.fixture(autouse=True)
def _control_properties(request: pytest.FixtureRequest, record_property: Any) -> None:
    marker = request.node.get_closest_marker("control")
    if marker is None:
        return
    control = CATALOG.control(str(marker.args[0]))
    record_property("control", control.id)
    record_property("severity", control.severity.value)
    record_property("title", control.title)
    if "host" in request.fixturenames:
        record_property("target", target_of(str(request.getfixturevalue("host").backend.hostname)))
    for argument in Scope().by_argument():
        if argument in request.fixturenames:
            record_property("target", request.getfixturevalue(argument).target)
