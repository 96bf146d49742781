"""The compliance suite: one test per control, parametrized over the targets chosen at run time
(testinfra's --hosts and --ssh-config; `pdn comply run` chooses them from the estate and the DC).
Each result carries its control, severity and target as JUnit properties."""

from __future__ import annotations

from typing import Any

import pytest

from pdn.compliance.catalog import load_catalog
from pdn.compliance.run import target_of

CATALOG = load_catalog()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(id): the catalog control a test implements")


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
