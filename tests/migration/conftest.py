"""The wave under check, handed over in memory by `pdn migrate verify` (pdn.migrate.verify)."""

from __future__ import annotations

import pytest

from pdn.migrate.verify import WaveContext


@pytest.fixture(scope="session")
def wave_context(request: pytest.FixtureRequest) -> WaveContext:
    for plugin in request.config.pluginmanager.get_plugins():
        context = getattr(plugin, "context", None)
        if isinstance(context, WaveContext):
            return context
    pytest.exit("this suite checks a migrated wave: run it with `pdn migrate verify --wave N`")
