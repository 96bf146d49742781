"""How the local DC runs Cluster API's controllers."""

from __future__ import annotations

import os
from pathlib import Path

from pdn.dc import DCSettings, cluster_api


def test_every_controller_connects_again_to_a_new_cluster_within_seconds(tmp_path: Path) -> None:
    specs = cluster_api.process_specs(DCSettings(site_code="x", state_root=tmp_path), tmp_path)
    assert {s.name for s in specs} == set(cluster_api.NAMES)
    for spec in specs:
        assert spec.env is not None
        assert spec.env[cluster_api.CONNECTION_RETRY_VARIABLE] == "2s", spec.name
    env = {s.name: s.env or {} for s in specs}
    # CAPD gets only what it reads; the others run in pdn's own environment, as before.
    assert env["capd-controller"]["POD_IP"] == DCSettings(site_code="x").listen_host
    assert "PATH" not in env["capd-controller"]
    assert env["capi-controller"]["PATH"] == os.environ["PATH"]
