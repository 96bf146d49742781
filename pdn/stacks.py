"""Stacks of a Pulumi project, driven through the pinned CLI: the one way pdn, its tests and its
benchmarks run Pulumi.

A stack's config file lives outside the clone (`<state>/stacks/Pulumi.<stack>.yaml`, passed
with `--config-file`), next to the state it belongs to: a fresh clone finds the stack's secrets
salt with its state, and nothing is ever written into the working tree.

A stack that `pdn up` drives is bound to one site and to that site's local DC, in its config:
`pdn:site`, `pdn:inventory` and `pdn:cluster: local-dc`. A mismatch is refused, never rebound.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pdn import paths
from pdn.files import write_private
from pdn.inventory import Site
from pdn.state import backends

if TYPE_CHECKING:
    from pdn.dataservices.s3 import Endpoint
    from pdn.dataservices.sql import Server
    from pdn.dc.sso import AdminAccess as SsoAdminAccess
from pdn.pulumi_env import PulumiEnvError, PulumiEnvironment, ensure_kubernetes_plugin, run_pulumi

KUBECONFIG_KEY = "pdn:kubeconfig"
SITE_KEY = "pdn:site"
INVENTORY_KEY = "pdn:inventory"
CLUSTER_KUBECONFIGS_KEY = "pdn:clusterKubeconfigs"
CLUSTER_KEY = "pdn:cluster"
# The site's object store (plain: where it answers, its CA, its admin plane) and the platform's
# key on it (secret); the platform stack passes them to the tenant shards.
# The tenants' PDN hosts (IaaS): "local" (the DC's host pool) or "kubevirt".
HOST_KEYS = {"backend": "pdn:hostBackend", "pool": "pdn:hostPool", "network": "pdn:hostNetwork"}
OBJECT_STORAGE_KEYS = {
    "url": "pdn:objectStorageUrl",
    "ca_pem": "pdn:objectStorageCa",
    "master": "pdn:objectStorageMaster",
    "filer": "pdn:objectStorageFiler",
}
OBJECT_STORAGE_ADMIN_KEYS = ("pdn:objectStorageAccessKey", "pdn:objectStorageSecretKey")
# The site's database servers: per engine its endpoint (plain) and admin password (secret).
DATABASE_CA_KEY = "pdn:databaseCa"
DATABASE_ADMIN_USER_KEY = "pdn:databaseAdminUser"
# The data services' deployment on the cluster: its serving certificate (plain) and key (secret).
CLUSTER_TLS_CERT_KEY = "pdn:dataServicesTlsCert"
CLUSTER_TLS_KEY_KEY = "pdn:dataServicesTlsKey"


# The site's single sign-on (plain: its URL and CA, the admin's name) and the admin's password
# (secret): the platform stack makes the realms, the tenant shards their groups and clients.
SSO_KEYS = {"url": "pdn:ssoUrl", "ca_pem": "pdn:ssoCa", "admin_user": "pdn:ssoAdminUser"}
SSO_PASSWORD_KEY = "pdn:ssoAdminPassword"  # noqa: S105 (a config key's name)
SSO_DATABASE_PASSWORD_KEY = "pdn:ssoDatabasePassword"  # noqa: S105 (a config key's name)
SIGNING_KEYS = {"url": "pdn:signingUrl", "ca_pem": "pdn:signingCa"}
IDENTITY_TLS_CERT_KEY = "pdn:identityTlsCert"
IDENTITY_TLS_KEY_KEY = "pdn:identityTlsKey"
# The GIS feature service's production deployment: its certificate, key and database password.
GIS_TLS_CERT_KEY = "pdn:gisTlsCert"
GIS_TLS_KEY_KEY = "pdn:gisTlsKey"
GIS_DATABASE_PASSWORD_KEY = "pdn:gisDatabasePassword"  # noqa: S105 (a config key's name)


def database_endpoint_key(engine: str) -> str:
    return f"pdn:{engine}Endpoint"


def database_password_key(engine: str) -> str:
    return f"pdn:{engine}AdminPassword"


LOCAL_DC_CLUSTER = "local-dc"
LOCKING = ("up", "preview", "destroy", "refresh")  # the commands that take the stack's lock
SALT_KEY = "encryptionsalt"
Program = Callable[[], None]


class StackError(PulumiEnvError):
    """A stack cannot be used as asked (bound elsewhere, missing); the message says what to do."""


def stacks_dir() -> Path:
    return paths.state_dir() / "stacks"


@dataclass(frozen=True)
class Stack:
    env: PulumiEnvironment
    name: str
    project: Path = paths.REPO_ROOT
    # Policy packs run on every preview and up of this stack (paths of their analyzers).
    policy_packs: tuple[Path, ...] = ()

    @property
    def config_file(self) -> Path:
        return stacks_dir() / f"Pulumi.{self.name}.yaml"

    def _run(
        self,
        args: list[str],
        *,
        config: bool = True,
        stdin: str | None = None,
        show: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> str:
        extra = ["--stack", self.name]
        if config:
            extra += ["--config-file", str(self.config_file)]
        try:
            proc = run_pulumi(
                self.env,
                [*args, *extra],
                cwd=self.project,
                capture=not show,
                stdin_text=stdin,
                extra_env=extra_env,
            )
        except PulumiEnvError as err:
            held = backends.locks(self.env.state, self.project_name(), self.name)
            if args[0] not in LOCKING or not held:
                raise
            holders = "; ".join(
                f"pid {h.get('pid')} on {h.get('hostname')} (user {h.get('username')}, since "
                f"{h.get('timestamp')})"
                for h in (lock.holder for lock in held)
            )
            raise StackError(
                f"stack {self.name} is locked by an update that is running: {holders}. Wait for "
                "it to end; a lock whose process is gone is cleared by the next pdn run on its "
                "host (from another host: `pulumi cancel`)"
            ) from err
        return proc.stdout or ""

    def exists(self) -> bool:
        # The backend's own layout: reading it is exact, and unlike `pulumi stack ls` it
        # does not parse every other stack's state while other rollouts write theirs.
        return backends.has_stack(self.env.state, self.project_name(), self.name)

    def ensure(self, *, secrets_of: Stack | None = None) -> None:
        """Create the stack (passphrase secrets) unless it exists; its config file outside.
        secrets_of: a stack whose secrets key this one shares (its salt), so that an update
        that reads that stack through a stack reference derives the key once, not twice
        (~0.2 s each: PBKDF2, 10^6 rounds)."""
        ensure_kubernetes_plugin(self.env)
        stacks_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.exists():
            return
        salt = secrets_of._config_file_document().get(SALT_KEY) if secrets_of else None
        if salt and not self.config_file.is_file():
            write_private(self.config_file, yaml.safe_dump({SALT_KEY: salt}))
        # `stack init` writes Pulumi.<stack>.yaml next to Pulumi.yaml: run it in a scratch
        # copy of the project file, so the working tree stays clean.
        with tempfile.TemporaryDirectory(prefix="pdn-stack-init-") as scratch:
            shutil.copy(self.project / "Pulumi.yaml", scratch)
            run_pulumi(
                self.env,
                ["stack", "init", self.name, "--secrets-provider", "passphrase"],
                cwd=Path(scratch),
                capture=True,
            )

    def _config_file_document(self) -> dict[str, Any]:
        try:
            loaded = yaml.safe_load(self.config_file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, yaml.YAMLError) as err:
            raise StackError(f"{self.config_file}: cannot read the stack's config: {err}") from err
        return loaded if isinstance(loaded, dict) else {}

    def get_config(self, key: str) -> str | None:
        try:
            value = self._run(["config", "get", key])
        except PulumiEnvError:
            return None
        return value[:-1] if value.endswith("\n") else value

    def plain_config(self) -> dict[str, str]:
        """Every plain (not secret) value of the stack's config, read from its file (the CLI
        would cost ~0.2 s a stack, and a rollout reads 32 of them)."""
        values = self._config_file_document().get("config") or {}
        return {k: str(v) for k, v in values.items() if not isinstance(v, dict)}

    def set_plain_config(
        self, values: dict[str, str], *, current: dict[str, str] | None = None
    ) -> None:
        """Set plain values (namespaced keys, `pdn:site`) in the stack's config file, written
        only if one changed; secrets and the salt are kept as they are."""
        current = self.plain_config() if current is None else current
        if all(current.get(key) == value for key, value in values.items()):
            return
        if not all(":" in key for key in values):
            raise StackError(f"config keys must be namespaced (pdn:...): {sorted(values)}")
        document = self._config_file_document()
        document["config"] = {**(document.get("config") or {}), **values}
        write_private(self.config_file, yaml.safe_dump(document, sort_keys=False))

    def set_config(self, key: str, value: str, *, secret: bool = False) -> None:
        """Set config through stdin (never on a command line); unchanged values are kept as
        they are, so an unchanged secret is not re-encrypted."""
        current = self.get_config(key)
        # Pulumi drops the trailing newline of a value read from stdin.
        if current is not None and current.rstrip("\n") == value.rstrip("\n"):
            return
        self._run(["config", "set", key, *(["--secret"] if secret else [])], stdin=value)

    def up(
        self,
        *,
        show: bool = False,
        targets: list[str] | None = None,
        checkpoints: bool = True,
        program: Program | None = None,
        refresh: bool = False,
    ) -> dict[str, int]:
        """`pulumi up` (of targets only, if given); returns the update's resource changes,
        e.g. {'same': 61}. checkpoints=False saves the state once, at the end, instead of after
        every step: only for programs whose every object is an idempotent server-side apply,
        so that a killed run is simply run again. program: run inside this process instead of
        the project's __main__.py (see pdn.inline). refresh: read every resource back first,
        so what was changed behind Pulumi's back is put right."""
        self.clear_stale_lock()
        chosen = [arg for urn in targets or [] for arg in ("--target", urn)]
        args = ["up", "--yes", "--skip-preview", *chosen, *self._policy_args()]
        if refresh:
            args.append("--refresh")
        with _program_args(program) as inline:
            self._run(
                [*args, *inline],
                show=show,
                extra_env={} if checkpoints else {"PULUMI_SKIP_CHECKPOINTS": "true"},
            )
        return self.last_changes()

    def project_name(self) -> str:
        for line in (self.project / "Pulumi.yaml").read_text().splitlines():
            if line.startswith("name:"):
                return line.split(":", 1)[1].strip()
        raise StackError(f"{self.project}/Pulumi.yaml names no project")

    def clear_stale_lock(self) -> list[str]:
        """Remove this stack's locks left by a pulumi process of this host that is gone (a
        killed rollout): DIY backends never expire them. A live lock is kept."""
        project, removed = self.project_name(), []
        for lock in backends.locks(self.env.state, project, self.name):
            holder = lock.holder
            if holder.get("hostname") == socket.gethostname() and not _running(holder.get("pid")):
                self.env.state.delete(lock.key)
                removed.append(lock.key)
        self.env.state.prepare(project, self.name)
        return removed

    def preview(
        self,
        *,
        expect_no_changes: bool = False,
        program: Program | None = None,
        refresh: bool = False,
        diff: bool = False,
    ) -> str:
        """`pulumi preview`'s report; refresh: read every resource back first (what changed
        by hand shows); diff: with each changed property."""
        expect = ["--expect-no-changes"] if expect_no_changes else []
        if refresh:
            expect.append("--refresh")
        if diff:
            expect.append("--diff")
        self.env.state.prepare(self.project_name(), self.name)
        with _program_args(program) as inline:
            return self._run(["preview", *expect, *self._policy_args(), *inline])

    def _policy_args(self) -> list[str]:
        return [arg for pack in self.policy_packs for arg in ("--policy-pack", str(pack))]

    def destroy(self, *, show: bool = False) -> dict[str, int]:
        self.env.state.prepare(self.project_name(), self.name)
        self._run(["destroy", "--yes", "--skip-preview"], show=show)
        return self.last_changes()

    def last_changes(self) -> dict[str, int]:
        """The resource changes of the stack's latest update (from the backend: the CLI's
        `stack history` would cost ~0.2 s)."""
        record = backends.last_update(self.env.state, self.project_name(), self.name)
        changes = record.get("resourceChanges") or {}
        return {str(kind): int(n) for kind, n in changes.items()}

    def outputs(self, *, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--json", *(["--show-secrets"] if show_secrets else [])]
        loaded: dict[str, Any] = json.loads(self._run(args, config=False) or "{}")
        return loaded

    def export(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self._run(["stack", "export"], config=False))
        return loaded

    def remove(self, *, destroy: bool = True) -> None:
        """Destroy what is left (unless the caller just did), remove the stack and its config."""
        try:
            if self.exists():
                if destroy:
                    self.destroy()
                self._run(["stack", "rm", "--yes"], config=False)
        finally:
            self.config_file.unlink(missing_ok=True)


def stack_names(env: PulumiEnvironment, project: str) -> set[str]:
    """The stacks of a project that the backend holds."""
    return backends.stack_names(env.state, project)


def resources(env: PulumiEnvironment, project: str, stack: str) -> list[dict[str, Any]]:
    """The resources a stack's latest checkpoint records (none while it has none)."""
    return list(backends.checkpoint(env.state, project, stack).get("resources") or [])


@contextmanager
def _program_args(program: Program | None) -> Iterator[list[str]]:
    if program is None:
        yield []
        return
    from pdn import inline  # noqa: PLC0415  (grpc, the SDK: only when a program is served)

    with inline.served(program) as args:
        yield args


def _running(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def bind_to_local_dc(stack: Stack, site: Site, inventory: Path) -> None:
    """Bind the stack to site and its local DC, or refuse if it is bound to something else."""
    current = stack.plain_config()  # one call, not one per key
    cluster = current.get(CLUSTER_KEY)
    if cluster not in (None, LOCAL_DC_CLUSTER):
        raise StackError(
            f"stack {stack.name!r} targets the cluster {cluster!r}, not a local DC: run "
            f"`pulumi up --stack {stack.name}` with that cluster's kubeconfig instead of `pdn up`"
        )
    bound = current.get(SITE_KEY)
    if bound not in (None, site.code):
        raise StackError(
            f"stack {stack.name!r} is bound to site {bound!r} "
            f"({current.get(INVENTORY_KEY)}), but {inventory} is site {site.code!r}: "
            f"use that site's stack (`--stack`), or a new stack name for this site"
        )
    stack.set_plain_config(
        {
            SITE_KEY: site.code,
            INVENTORY_KEY: _program_path(inventory),
            CLUSTER_KEY: LOCAL_DC_CLUSTER,
        },
        current=current,
    )


def _program_path(inventory: Path) -> str:
    """The inventory as the program reads it: from the repo root when inside the clone."""
    resolved = inventory.resolve()
    try:
        return str(resolved.relative_to(paths.REPO_ROOT))
    except ValueError:
        return str(resolved)


def up_on_local_dc(
    env: PulumiEnvironment,
    name: str,
    site: Site,
    inventory: Path,
    kubeconfig: Path,
    *,
    object_storage: ObjectStorageBinding | None = None,
    databases: tuple[DatabaseBinding, ...] = (),
    cluster_tls: tuple[str, str] | None = None,
    workload_kubeconfigs: Mapping[str, Path] | None = None,
    host_pool: tuple[Path, str] | None = None,
    sso: SsoAdminAccess | None = None,
    signing: tuple[str, str] | None = None,
    identity_tls: tuple[str, str] | None = None,
    gis: tuple[str, str, str] | None = None,
    show: bool = False,
) -> dict[str, int]:
    """`pdn up`: the stack bound to site's local DC, its kubeconfig a secret, its object
    store (admin key secret), its database servers, the serving certificate (and key, secret)
    of the data services' cluster deployment, then `up`."""
    stack = Stack(env, name)
    stack.ensure()
    bind_to_local_dc(stack, site, inventory)
    stack.set_config(KUBECONFIG_KEY, kubeconfig.read_text(), secret=True)
    if object_storage is not None:
        endpoint = object_storage.endpoint
        stack.set_plain_config(
            {
                OBJECT_STORAGE_KEYS["url"]: endpoint.url,
                OBJECT_STORAGE_KEYS["ca_pem"]: endpoint.ca_pem,
                OBJECT_STORAGE_KEYS["master"]: endpoint.master,
                OBJECT_STORAGE_KEYS["filer"]: endpoint.filer,
            }
        )
        access, secret_ = OBJECT_STORAGE_ADMIN_KEYS
        stack.set_config(access, object_storage.access_key, secret=True)
        stack.set_config(secret_, object_storage.secret_key, secret=True)
    for db in databases:
        stack.set_plain_config(
            {
                database_endpoint_key(db.server.engine): f"{db.server.host}:{db.server.port}",
                DATABASE_CA_KEY: db.server.ca_pem,
                DATABASE_ADMIN_USER_KEY: db.admin_user,
            }
        )
        stack.set_config(database_password_key(db.server.engine), db.admin_password, secret=True)
    if cluster_tls is not None:
        stack.set_plain_config({CLUSTER_TLS_CERT_KEY: cluster_tls[0]})
        stack.set_config(CLUSTER_TLS_KEY_KEY, cluster_tls[1], secret=True)
    if sso is not None:
        stack.set_plain_config(
            {
                SSO_KEYS["url"]: sso.url,
                SSO_KEYS["ca_pem"]: sso.ca_pem,
                SSO_KEYS["admin_user"]: sso.user,
            }
        )
        stack.set_config(SSO_PASSWORD_KEY, sso.password, secret=True)
        if sso.database_password:
            stack.set_config(SSO_DATABASE_PASSWORD_KEY, sso.database_password, secret=True)
    if identity_tls is not None:  # SSO's and e-signature's in-cluster certificate, and key
        stack.set_plain_config({IDENTITY_TLS_CERT_KEY: identity_tls[0]})
        stack.set_config(IDENTITY_TLS_KEY_KEY, identity_tls[1], secret=True)
    if gis is not None:  # the feature service's certificate, key and database password
        stack.set_plain_config({GIS_TLS_CERT_KEY: gis[0]})
        stack.set_config(GIS_TLS_KEY_KEY, gis[1], secret=True)
        stack.set_config(GIS_DATABASE_PASSWORD_KEY, gis[2], secret=True)
    if signing is not None:  # the e-signature service: (its URL, its CA)
        stack.set_plain_config(
            {SIGNING_KEYS["url"]: signing[0], SIGNING_KEYS["ca_pem"]: signing[1]}
        )
    if host_pool is not None:  # the tenants' PDN hosts: the DC's host pool
        stack.set_plain_config(
            {
                HOST_KEYS["backend"]: "local",
                HOST_KEYS["pool"]: str(host_pool[0]),
                HOST_KEYS["network"]: host_pool[1],
            }
        )
    if workload_kubeconfigs:
        # One secret object, cluster name -> kubeconfig (`pulumi config set --path` would
        # write one key per cluster and leave removed clusters behind).
        kubeconfigs = {
            name: path.read_text() for name, path in sorted(workload_kubeconfigs.items())
        }
        stack.set_config(CLUSTER_KUBECONFIGS_KEY, json.dumps(kubeconfigs), secret=True)
    return stack.up(show=show)


@dataclass(frozen=True)
class DatabaseBinding:
    """One of the site's database servers as a stack is bound to it, with its admin login."""

    server: Server
    admin_user: str
    admin_password: str


@dataclass(frozen=True)
class ObjectStorageBinding:
    """The site's object store as a stack is bound to it, with the platform's admin key."""

    endpoint: Endpoint
    access_key: str
    secret_key: str


def has_sso(stack: Stack) -> bool:
    return SSO_KEYS["url"] in stack.plain_config()


def has_signing(stack: Stack) -> bool:
    """The stack is bound to an e-signature service (and to an SSO, whose registrar issues)."""
    plain = stack.plain_config()
    return SIGNING_KEYS["url"] in plain and SSO_KEYS["url"] in plain


def has_object_storage(stack: Stack) -> bool:
    return OBJECT_STORAGE_KEYS["url"] in stack.plain_config()


def host_backend(stack: Stack) -> dict[str, str]:
    """How the platform stack makes tenants' PDN hosts: backend, pool, network ({} if none)."""
    config = stack.plain_config()
    return {k: config[key] for k, key in HOST_KEYS.items() if key in config}


def destroy_on_local_dc(
    env: PulumiEnvironment, name: str, site: Site, inventory: Path, *, show: bool = False
) -> dict[str, int]:
    stack = Stack(env, name)
    if not stack.exists():
        raise StackError(f"there is no stack {name!r} to destroy")
    bind_to_local_dc(stack, site, inventory)
    return stack.destroy(show=show)
