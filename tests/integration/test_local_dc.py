"""The local national DC, run for real: processes, TLS, RBAC, nodes driven by kwok."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s

from pdn.dc import DCError, control_plane
from pdn.dc.lifecycle import LocalDC
from pdn.dc.probes import https_get
from pdn.inventory import LOCAL_SITE, Server, Site, load_site
from tests.integration.dc_fixtures import isolated_settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("cluster", [None, "general", "restricted"])
def test_every_inventory_server_is_a_ready_node_of_its_cluster(
    local_dc: LocalDC, cluster: str | None
) -> None:
    """The DC's own cluster has the servers no workload cluster holds; each workload cluster's
    own control plane has that cluster's servers."""
    with local_dc.api_client(cluster=cluster) as api:
        nodes = {n.metadata.name: n for n in k8s.CoreV1Api(api).list_node().items}
    view = local_dc.site.cluster_view(cluster)
    assert sorted(nodes) == sorted(s.name for _, s in view.servers())
    for rack, server in view.servers():
        node = nodes[server.name]
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready[0].status == "True", server.name
        assert node.metadata.labels["topology.kubernetes.io/zone"] == rack.zone
        assert node.metadata.labels["pdn.go.id/rack"] == rack.name
        assert node.status.capacity["cpu"] == str(server.cpu_cores)
        assert node.status.capacity["memory"] == f"{server.memory_gib}Gi"


def _with_shared_services_server(site: Site, server: Server) -> Site:
    """The site with server in the shared services' first pool: a Node of the DC's cluster
    (a server in no cluster is a Node of none)."""
    shared = next(c for c in site.clusters if c.name == "shared-services")
    pool = dataclasses.replace(shared.workers[0], servers=(*shared.workers[0].servers, server))
    clusters = tuple(
        dataclasses.replace(c, workers=(pool, *c.workers[1:])) if c is shared else c
        for c in site.clusters
    )
    return dataclasses.replace(site, clusters=clusters)


def test_nodes_follow_inventory_changes(local_dc: LocalDC) -> None:
    """A server added, one upgraded and one decommissioned: `up` makes the Nodes match."""
    site = local_dc.site
    rack = site.racks[0]
    upgraded = dataclasses.replace(rack.servers[1], cpu_cores=128, memory_gib=1024)
    added = dataclasses.replace(rack.servers[1], name="a01-c9")
    changed_rack = dataclasses.replace(rack, servers=(upgraded, *rack.servers[2:], added))
    changed = _with_shared_services_server(
        dataclasses.replace(site, racks=(changed_rack, *site.racks[1:])), added
    )
    try:
        LocalDC(changed, local_dc.settings).up(progress=lambda _: None)
        with local_dc.api_client() as api:
            nodes = {n.metadata.name: n for n in k8s.CoreV1Api(api).list_node().items}
        assert set(nodes) == {s.name for _, s in changed.cluster_view().servers()}
        assert rack.servers[0].name not in nodes
        assert nodes[upgraded.name].status.capacity["cpu"] == "128"
        assert nodes[upgraded.name].status.capacity["memory"] == "1Ti"
        assert nodes["a01-c9"].metadata.labels["pdn.go.id/rack"] == "a01"
    finally:
        local_dc.up(progress=lambda _: None)
    with local_dc.api_client() as api:
        names = {n.metadata.name for n in k8s.CoreV1Api(api).list_node().items}
    assert names == {s.name for _, s in site.cluster_view().servers()}


def test_status_is_healthy_and_up_is_idempotent(local_dc: LocalDC) -> None:
    before = local_dc.status()
    assert before.healthy, before
    assert [c.name for c in before.components] == [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "object-storage",
        "object-storage-second-site",
        "postgresql",
        "mariadb",
        "dbaas-gateway",
        "dns",
        "keycloak",
        "tte",
        "gis-pygeoapi",
        "gis",
        "capi-controller",
        "capi-kubeadm-bootstrap",
        "capi-kubeadm-control-plane",
        "capd-controller",
        *(
            f"{cluster}/{name}"
            for cluster in ("general", "restricted")
            for name in (
                "etcd",
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
                "kwok",
            )
        ),
    ]
    local_dc.up(progress=lambda _: None)
    after = local_dc.status()
    assert [c.pid for c in after.components] == [c.pid for c in before.components]


def test_unauthenticated_requests_are_refused(local_dc: LocalDC) -> None:
    settings = local_dc.settings
    ca = settings.pki_dir / "ca.crt"
    status, _ = https_get(settings.listen_host, settings.ports.apiserver, "/api/v1/secrets", ca)
    assert status == 401
    status, _ = https_get(settings.listen_host, settings.ports.apiserver, "/readyz", ca)
    assert status == 401


def _lease_holders(local_dc: LocalDC) -> set[str]:
    with local_dc.api_client() as api:
        leases = k8s.CoordinationV1Api(api).list_namespaced_lease("kube-node-lease").items
    return {lease.spec.holder_identity for lease in leases}


def test_a_dead_component_is_reported_then_restarted(local_dc: LocalDC) -> None:
    old_holders = _lease_holders(local_dc)
    pid = local_dc.supervisor.pid("kwok")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    local_dc.supervisor.stop("kwok")  # reaps it; the PID file goes with it
    status = {c.name: c for c in local_dc.status().components}
    assert not status["kwok"].healthy
    assert status["kwok"].problem == "not running"
    local_dc.up(progress=lambda _: None)
    restarted = local_dc.supervisor.pid("kwok")
    assert restarted is not None
    assert restarted != pid
    assert local_dc.status().healthy
    # The new kwok holds the nodes at once (not after the dead one's leases expire).
    deadline = time.monotonic() + 10
    while (holders := _lease_holders(local_dc)) & old_holders and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(holders) == 1
    assert not holders & old_holders


def _pids(dc: LocalDC) -> dict[str, int | None]:
    return {c.name: c.pid for c in dc.status().components}


def test_a_stopping_apiserver_is_replaced_in_one_call(local_dc: LocalDC) -> None:
    """SIGTERM by PID: the apiserver drains for about a minute while still alive. One `up`
    replaces it, brings back whatever went down with it, and leaves etcd alone."""
    before = _pids(local_dc)
    apiserver = before["kube-apiserver"]
    assert apiserver is not None
    os.kill(apiserver, signal.SIGTERM)
    lines: list[str] = []
    status = local_dc.up(progress=lines.append)
    assert status.healthy, status
    after = _pids(local_dc)
    assert after["kube-apiserver"] not in (None, apiserver)
    assert after["etcd"] == before["etcd"]
    assert not Path(f"/proc/{apiserver}").exists()
    assert any(line.startswith("[apiserver] kube-apiserver: unhealthy") for line in lines), lines
    # Nothing stays broken behind the call: the DC is still healthy a moment later.
    time.sleep(3)
    assert local_dc.status().healthy


def test_healing_holds_when_the_apiserver_is_stopped_again_and_again(local_dc: LocalDC) -> None:
    """The controller-manager dies with each apiserver; while it exits, its port is still
    bound by its last threads: that is ours, not another program's."""
    for _ in range(3):
        apiserver = local_dc.supervisor.pid("kube-apiserver")
        assert apiserver is not None
        os.kill(apiserver, signal.SIGTERM)
        assert local_dc.up(progress=lambda _: None).healthy


def test_a_hung_component_is_restarted_and_the_rest_untouched(local_dc: LocalDC) -> None:
    """SIGSTOP by PID: the scheduler still exists but answers nothing."""
    before = _pids(local_dc)
    scheduler = before["kube-scheduler"]
    assert scheduler is not None
    os.kill(scheduler, signal.SIGSTOP)
    try:
        status = local_dc.up(progress=lambda _: None)
    finally:
        if Path(f"/proc/{scheduler}").exists():
            os.kill(scheduler, signal.SIGKILL)
    assert status.healthy, status
    after = _pids(local_dc)
    assert after["kube-scheduler"] not in (None, scheduler)
    assert {k: v for k, v in after.items() if k != "kube-scheduler"} == {
        k: v for k, v in before.items() if k != "kube-scheduler"
    }


def test_a_port_in_use_starts_nothing(tmp_path: Path) -> None:
    """The apiserver's port taken: refused before etcd (or anything) is started."""
    site = load_site(LOCAL_SITE)
    dc = LocalDC(site, isolated_settings(site, tmp_path, slot=1))
    port = dc.settings.ports.apiserver
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        try:
            with pytest.raises(DCError) as err:
                dc.up(progress=lambda _: None)
            running = {c.name: c.pid for c in dc.status().components}
        finally:
            dc.down(purge=True, progress=lambda _: None)
    message = str(err.value)
    assert f"port 127.0.0.1:{port} (kube-apiserver) is in use by another program" in message
    assert "nothing was started" in message
    assert "\n" not in message
    assert set(running.values()) == {None}


def test_a_component_failing_at_start_says_what_is_left_running(tmp_path: Path) -> None:
    """etcd starts, the apiserver dies at once (its encryption key is garbage): the error names
    the apiserver's last log line and the etcd left running, with how to stop it."""
    site = load_site(LOCAL_SITE)
    dc = LocalDC(site, isolated_settings(site, tmp_path, slot=3))
    try:
        control_plane.ensure_credentials(dc.settings)
        dc.settings.pki_dir.joinpath("encryption-config.yaml").write_text("kind: Nonsense\n")
        with pytest.raises(DCError) as err:
            dc.up(progress=lambda _: None)
        etcd = dc.supervisor.pid("etcd")
        message = str(err.value)
        assert "kube-apiserver exited while starting (its log ends:" in message
        assert f"Left running: etcd (pid {etcd}); `pdn dc down` stops them" in message
    finally:
        dc.down(purge=True, progress=lambda _: None)
    assert dc.supervisor.pid("etcd") is None


def test_missing_binaries_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDN_CACHE_DIR", str(tmp_path / "empty-cache"))
    site = load_site(LOCAL_SITE)
    dc = LocalDC(site, isolated_settings(site, tmp_path, slot=2))
    with pytest.raises(
        DCError, match=r"missing binaries etcd, kube-apiserver.*pdn toolchain build"
    ):
        dc.up(progress=lambda _: None)


def test_the_platform_admin_is_revocable_and_dc_up_restores_it(local_dc: LocalDC) -> None:
    with local_dc.api_client() as api:
        review = k8s.AuthenticationV1Api(api).create_self_subject_review({})
        assert review.status.user_info.username == "pdn-platform-admin"
        assert "system:masters" not in review.status.user_info.groups
        assert "pdn:platform-admins" in review.status.user_info.groups
    with local_dc.api_client(break_glass=True) as break_glass:
        k8s.RbacAuthorizationV1Api(break_glass).delete_cluster_role_binding("pdn:platform-admins")
    try:
        with local_dc.api_client() as api, pytest.raises(k8s.ApiException) as refused:
            k8s.CoreV1Api(api).list_namespace()
        assert refused.value.status == 403  # revoked: RBAC can, for this identity
    finally:
        local_dc.up(progress=lambda _: None)
    with local_dc.api_client() as api:
        assert k8s.CoreV1Api(api).list_namespace().items


FREEZE_POLICY = "pdn-it-no-new-servers"


def _freeze_new_nodes(api: k8s.ApiClient) -> None:
    """An admission policy an operator might add during a change freeze: no new Nodes."""
    admission = k8s.AdmissionregistrationV1Api(api)
    admission.create_validating_admission_policy(
        {
            "metadata": {"name": FREEZE_POLICY},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["nodes"],
                        }
                    ]
                },
                "validations": [
                    {"expression": "false", "message": "change freeze: no new servers"}
                ],
            },
        }
    )
    admission.create_validating_admission_policy_binding(
        {
            "metadata": {"name": FREEZE_POLICY},
            "spec": {"policyName": FREEZE_POLICY, "validationActions": ["Deny"]},
        }
    )


def test_an_api_error_while_registering_nodes_is_one_line(local_dc: LocalDC) -> None:
    site = local_dc.site
    rack = site.racks[0]
    added = dataclasses.replace(rack.servers[1], name="a01-c8")
    grown = _with_shared_services_server(
        dataclasses.replace(
            site,
            racks=(dataclasses.replace(rack, servers=(*rack.servers, added)), *site.racks[1:]),
        ),
        added,
    )
    with local_dc.api_client(break_glass=True) as api:
        _freeze_new_nodes(api)
    try:
        deadline = time.monotonic() + 20  # until the policy is in force
        message = ""
        while time.monotonic() < deadline and "change freeze" not in message:
            try:
                LocalDC(grown, local_dc.settings).up(progress=lambda _: None)
                with local_dc.api_client() as api:
                    k8s.CoreV1Api(api).delete_node("a01-c8")
            except DCError as err:
                message = str(err)
            time.sleep(0.5)
        assert "the apiserver refused the cluster bootstrap: HTTP" in message
        assert "change freeze: no new servers" in message
        assert "Left running: etcd" in message
        assert "\n" not in message
    finally:
        with local_dc.api_client(break_glass=True) as api:
            admission = k8s.AdmissionregistrationV1Api(api)
            admission.delete_validating_admission_policy_binding(FREEZE_POLICY)
            admission.delete_validating_admission_policy(FREEZE_POLICY)
        local_dc.up(progress=lambda _: None)
    assert local_dc.status().healthy


@pytest.mark.parametrize("engine", ["postgresql", "mariadb"])
def test_a_killed_database_server_comes_back_with_its_data(local_dc: LocalDC, engine: str) -> None:
    from pdn.dataservices.sql import connect  # noqa: PLC0415

    access = local_dc.database_admin(engine)
    table = f"heal_{engine}"
    with connect(access.server, access.user, access.password) as conn, conn.cursor() as cur:
        if engine == "postgresql":
            cur.execute(f"CREATE TABLE IF NOT EXISTS {table} (v text)")
        else:
            cur.execute("CREATE DATABASE IF NOT EXISTS heal")
            table = f"heal.{table}"
            cur.execute(f"CREATE TABLE IF NOT EXISTS {table} (v text)")
        cur.execute(f"INSERT INTO {table} VALUES ('sebelum')")  # noqa: S608 (a constant name)
    pid = local_dc.supervisor.pid(engine)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    local_dc.up(progress=print)
    assert local_dc.supervisor.pid(engine) not in (None, pid)
    with connect(access.server, access.user, access.password) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT v FROM {table}")  # noqa: S608 (a constant name)
        assert ("sebelum",) in list(cur.fetchall())


def _processes_of(root: Path) -> list[str]:
    """Live processes whose command line names a path under root."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(root) in cmdline and state != "Z":
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def test_down_leaves_no_process_behind_and_up_starts_again(local_dc: LocalDC) -> None:
    """PostgreSQL archives WAL to the object stores as it stops: the stores stop after it, and
    no helper of any server (an archiver, a pgBackRest push) outlives the DC."""
    from pdn.dataservices.sql import connect  # noqa: PLC0415

    access = local_dc.database_admin("postgresql")
    with connect(access.server, access.user, access.password) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS wal_probe (v text)")
        conn.execute("INSERT INTO wal_probe SELECT md5(g::text) FROM generate_series(1, 5000) g")
        conn.execute("SELECT pg_switch_wal()")  # a segment to archive as it stops
    local_dc.down(progress=print)
    left = _processes_of(local_dc.settings.database_dir) + _processes_of(local_dc.settings.root)
    assert left == []
    assert local_dc.up(progress=print).healthy


def test_a_workload_cluster_leaving_the_inventory_has_its_control_plane_stopped(
    local_dc: LocalDC,
) -> None:
    """Its processes are stopped by PID (their data kept); back in the inventory, `up` starts
    them again with the cluster's servers as Nodes."""
    plane = local_dc.workload_planes["restricted"]
    running = {name: plane.supervisor.pid(name) for name in control_plane.ORDER}
    assert None not in running.values()
    without = dataclasses.replace(
        local_dc.site, clusters=tuple(c for c in local_dc.site.clusters if c.name != "restricted")
    )
    said: list[str] = []
    try:
        LocalDC(without, local_dc.settings).up(progress=said.append)
        assert {name: plane.supervisor.pid(name) for name in control_plane.ORDER} == dict.fromkeys(
            control_plane.ORDER
        )
        assert "[retired cluster] restricted/kube-apiserver: stopped" in said
        assert plane.settings.etcd_data_dir.is_dir()
    finally:
        local_dc.up(progress=lambda _: None)
    with local_dc.api_client(cluster="restricted") as api:
        names = {n.metadata.name for n in k8s.CoreV1Api(api).list_node().items}
    assert names == {"b01-cp1"}
    assert local_dc.status().healthy
