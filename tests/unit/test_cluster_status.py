"""`pdn clusters status` without a cluster: what it says before one exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pdn.cli.main import main
from pdn.clusters.status import ClusterStatus, PoolStatus
from pdn.inventory import LOCAL_SITE


def _row(**pools: tuple[int, int, dict[str, int]]) -> ClusterStatus:
    return ClusterStatus(
        name="general",
        purpose="workload",
        classification="general",
        version="v1.34.4",
        available="True",
        phase="Provisioned",
        pools=tuple(
            PoolStatus(name, wanted, machines=sum(v.values()), available=available, versions=v)
            for name, (wanted, available, v) in pools.items()
        ),
    )


def test_a_cluster_is_settled_when_every_pool_is_at_its_size_and_version() -> None:
    assert _row(workers=(3, 3, {"v1.34.4": 3})).settled
    assert not _row(workers=(3, 2, {"v1.34.4": 3})).settled  # one not available yet
    assert not _row(workers=(3, 3, {"v1.33.7": 1, "v1.34.4": 2})).settled  # mid-rollout
    assert not _row(workers=(3, 4, {"v1.34.4": 4})).settled  # a surge machine still there


def test_status_without_a_dc_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.kubeconfig"
    assert main(["clusters", "status", "--kubeconfig", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err == f"pdn: no kubeconfig at {missing}: run `pdn dc up` (or pass --kubeconfig)\n"


def test_a_site_without_clusters_has_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = yaml.safe_load(LOCAL_SITE.read_text())
    del site["clusters"]
    inventory = tmp_path / "site.yaml"
    inventory.write_text(yaml.safe_dump(site))
    assert main(["clusters", "status", "--inventory", str(inventory)]) == 0
    assert "declares no clusters" in capsys.readouterr().out
