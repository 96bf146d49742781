"""The compliance suite: one test per control, parametrized over the targets chosen at run time.
Hosts come as testinfra's --hosts and --ssh-config; clusters, tenants and object stores from the
Scope `pdn comply run` hands the suite (pdn.compliance.targets; none when run bare). Each result
carries its control, severity and target as JUnit properties."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from pdn.compliance.catalog import load_catalog
from pdn.compliance.run import target_of
from pdn.compliance.targets import Scope

CATALOG = load_catalog()


# Hosts whose commands run at once: each mostly waits on its host (2 cores here).
AT_ONCE = 8


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(id): the catalog control a test implements")
    config.addinivalue_line(
        "markers", "commands(*cmd): the commands a host test runs (all hosts' run at once)"
    )


@pytest.fixture(scope="session")
def _host_outputs(
    request: pytest.FixtureRequest,
) -> Iterator[dict[tuple[int, str], Future[Any]]]:
    """Every host test's commands (its `commands` marker) on every host it is given, started at
    once when the first host check runs: a check's time is mostly waiting on its host, and the
    hosts can be waited on together. Each test reads its own results (a host that does not
    answer fails the tests that ask it)."""
    wanted: dict[tuple[int, str], tuple[Any, str]] = {}
    for item in request.session.items:
        marker = item.get_closest_marker("commands")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None or "_testinfra_host" not in callspec.params:
            continue
        target = callspec.params["_testinfra_host"]
        for command in marker.args:
            wanted[(id(target), str(command))] = (target, str(command))
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        yield {key: pool.submit(target.run, command) for key, (target, command) in wanted.items()}


@pytest.fixture
def run_command(_host_outputs: dict[tuple[int, str], Future[Any]]) -> Any:
    """run_command(host, command): its result, from the run started up front (or run now)."""

    def run(target: Any, command: str) -> Any:
        started = _host_outputs.get((id(target), command))
        return started.result() if started is not None else target.run(command)

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
