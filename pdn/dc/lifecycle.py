"""`up`, `status` and `down` of a local DC site built from a hardware inventory."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from urllib3.exceptions import HTTPError

from pdn.dc import control_plane, network, nodes
from pdn.dc.errors import DCError
from pdn.dc.processes import Supervisor, port_in_use
from pdn.dc.settings import DCSettings
from pdn.inventory import Site
from pdn.toolchain import ToolchainError, bin_dir

Progress = Callable[[str], None]
NODES_READY_TIMEOUT = 120.0


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


class LocalDC:
    """One national DC site running on this machine."""

    def __init__(self, site: Site, settings: DCSettings | None = None) -> None:
        self.site = site
        self.settings = settings or DCSettings(site_code=site.code)
        self.supervisor = Supervisor(
            self.settings.run_dir, self.settings.log_dir, self.settings.listen_host
        )

    @property
    def kubeconfig(self) -> Path:
        return self.settings.admin_kubeconfig

    def _toolchain(self) -> Path:
        try:
            toolchain = bin_dir()
        except ToolchainError as err:
            raise DCError(str(err)) from err
        missing = [name for name in control_plane.ORDER if not (toolchain / name).is_file()]
        if missing:
            raise DCError(
                f"missing binaries {', '.join(missing)} in {toolchain}: run `pdn toolchain build`"
            )
        return toolchain

    def api_client(self) -> k8s.ApiClient:
        return k8s_config.new_client_from_config(config_file=str(self.kubeconfig))

    def up(self, progress: Progress = print) -> DCStatus:
        """Start what is not running, register the servers as Nodes, wait until all is healthy."""
        toolchain = self._toolchain()
        network.ensure_advertise_address(self.settings)
        creds = control_plane.ensure_credentials(self.settings)
        specs = control_plane.process_specs(self.settings, creds, toolchain)
        for spec in specs:
            started = time.monotonic()
            already = self.supervisor.pid(spec.name) is not None
            if spec.name == "kwok" and not already:
                with self.api_client() as api:
                    nodes.release_leases(api, self.site)
            pid = self.supervisor.start(spec)
            self.supervisor.wait_healthy(spec)
            state = "already running" if already else "started"
            progress(
                f"{spec.name}: {state} (pid {pid}), healthy in {time.monotonic() - started:.1f}s"
            )
            if spec.name == "kube-apiserver":
                with self.api_client() as api:
                    nodes.grant_kwok(api)
                    nodes.register(api, self.site)
        started = time.monotonic()
        with self.api_client() as api:
            while waiting := nodes.not_ready(api, self.site):
                if time.monotonic() - started > NODES_READY_TIMEOUT:
                    raise DCError(
                        f"nodes not Ready after {NODES_READY_TIMEOUT:.0f}s: {', '.join(waiting)}; "
                        f"see {self.supervisor.log_file('kwok')}"
                    )
                time.sleep(0.5)
        progress(
            f"nodes: {len(list(self.site.servers()))} Ready ({time.monotonic() - started:.1f}s)"
        )
        return self.status()

    def status(self) -> DCStatus:
        creds_ready = self.settings.pki_dir.joinpath("ca.crt").is_file()
        components: list[ComponentHealth] = []
        specs = (
            control_plane.process_specs(
                self.settings, control_plane.credential_paths(self.settings), bin_dir()
            )
            if creds_ready
            else []
        )
        by_name = {s.name: s for s in specs}
        for name in control_plane.ORDER:
            pid = self.supervisor.pid(name)
            spec = by_name.get(name)
            ports = spec.ports if spec else ()
            port_open = bool(ports) and all(
                port_in_use(self.settings.listen_host, p) for p in ports
            )
            if pid is None:
                problem: str | None = "not running"
            elif spec is None:
                problem = "no credentials yet"
            else:
                problem = spec.probe()
            components.append(ComponentHealth(name, pid, port_open, problem))
        total, not_ready = len(list(self.site.servers())), [s.name for _, s in self.site.servers()]
        if all(c.healthy for c in components[:2]):
            try:
                with self.api_client() as api:
                    not_ready = nodes.not_ready(api, self.site)
            except (HTTPError, OSError, k8s.ApiException):
                pass
        return DCStatus(
            components, total, not_ready, network.interface_exists(self.settings.interface)
        )

    def down(self, purge: bool = False, progress: Progress = print) -> None:
        """Stop every process by PID (reverse order), remove the address; purge deletes data."""
        for name in reversed(control_plane.ORDER):
            if self.supervisor.stop(name):
                progress(f"{name}: stopped")
        network.remove_advertise_address(self.settings)
        if purge:
            shutil.rmtree(self.settings.root, ignore_errors=True)
            progress(f"removed {self.settings.root}")
