"""The database servers' data (outside the state root) belongs to the DC whose state names it:
data a DC left whose state is gone is moved aside, never deleted, and never opened with a new
state's passwords (PostgreSQL would refuse its admin after a 60 s wait); servers still running
on it stop the DC from starting, with their PIDs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pdn.dc import databases, settings
from pdn.dc.errors import DCError
from pdn.dc.settings import DCSettings


@pytest.fixture
def dc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DCSettings:
    monkeypatch.setattr(settings, "DATABASE_ROOT", tmp_path / "var-lib")
    return DCSettings(site_code="pdn-local", state_root=tmp_path / "state")


def _made_by_a_dc(dc: DCSettings) -> None:
    """What a started DC leaves: its admins' passwords in its state, data in the directory."""
    assert databases.claim_data(dc) is None
    (dc.root / "databases" / "admins.json").write_text("{}")
    (dc.database_dir / "postgresql" / "data").mkdir(parents=True)
    (dc.database_dir / "postgresql" / "data" / "PG_VERSION").write_text("15\n")


def _state_removed(dc: DCSettings) -> None:
    shutil.rmtree(dc.state_root)


def test_the_same_state_keeps_its_data(dc: DCSettings) -> None:
    _made_by_a_dc(dc)
    assert databases.claim_data(dc) is None
    assert (dc.database_dir / "postgresql" / "data" / "PG_VERSION").is_file()
    assert oct(dc.database_dir.stat().st_mode & 0o777) == "0o755"  # the servers reach their dirs


def test_data_of_a_state_made_again_is_moved_aside_whole(dc: DCSettings) -> None:
    _made_by_a_dc(dc)
    _state_removed(dc)
    moved = databases.claim_data(dc)
    assert moved is not None
    assert moved.name.startswith("pdn-local-")
    assert ".orphaned-" in moved.name
    assert (moved / "postgresql" / "data" / "PG_VERSION").read_text() == "15\n"
    assert not (dc.database_dir / "postgresql").exists()  # a new DC initialises its own
    assert databases.claim_data(dc) is None  # and keeps it from then on


def test_data_from_before_the_id_is_kept_by_its_state_and_moved_for_a_new_one(
    dc: DCSettings,
) -> None:
    _made_by_a_dc(dc)
    (dc.database_dir / "dc-id").unlink()
    assert databases.claim_data(dc) is None  # the state that has its passwords keeps it
    (dc.database_dir / "dc-id").unlink()
    _state_removed(dc)
    assert databases.claim_data(dc) is not None


@pytest.fixture
def server_on(dc: DCSettings) -> Iterator[int]:
    """A process whose command line names the data directory, as a server's does."""
    _made_by_a_dc(dc)
    data = dc.database_dir / "postgresql" / "data"
    process = subprocess.Popen(
        ["sh", "-c", "sleep 60; :", str(data)], stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield process.pid
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_servers_still_running_on_orphaned_data_stop_the_dc(dc: DCSettings, server_on: int) -> None:
    _state_removed(dc)
    with pytest.raises(DCError, match=rf"still run \(pid {server_on}\): stop them"):
        databases.claim_data(dc)
    assert (dc.database_dir / "postgresql" / "data" / "PG_VERSION").is_file()  # not moved
