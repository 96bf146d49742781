"""Cluster API on the local DC's cluster, which thereby becomes the site's management cluster.

The four managers the toolchain builds (core, kubeadm bootstrap, kubeadm control plane, and CAPD,
whose in-memory backend stands in for bare metal) run as DC processes with their own identities.
Their CRDs, RBAC and webhooks come from the provider's own config in the module. There is no
cert-manager and no Service in front of them: every webhook (and each multi-version CRD's
conversion webhook) is pointed at the manager on loopback, trusted through the DC's CA.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pdn.dc import kubeconfig, pki
from pdn.dc.errors import DCError
from pdn.dc.probes import expect_ok
from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings
from pdn.toolchain import install_dir
from pdn.toolchain.components import CLUSTER_API_DIR, CLUSTER_API_VERSION

# CAPD's in-memory workload API servers per DC: its ports come from the environment (pdn's
# build of CAPD, see toolchain/cluster-api/overlay/), bound to POD_IP.
CAPD_CLUSTERS = 20
DIGEST_ANNOTATION = "pdn.go.id/cluster-api-manifests"
# The object that carries the digest of what was applied: a second `dc up` applies nothing.
_DIGEST_CARRIER = "clusters.cluster.x-k8s.io"
FIELD_MANAGER = "pdn-dc"
APPLY_TIMEOUT = 120.0
CONTRACTS = ("v1beta1", "v1beta2")


@dataclass(frozen=True)
class Provider:
    binary: str  # toolchain binary, process name and the manager's identity
    title: str
    offset: int  # into the DC's Cluster API port ranges

    @property
    def user(self) -> str:
        return f"pdn:cluster-api:{self.binary}"

    def share(self) -> Path:
        return install_dir() / CLUSTER_API_DIR / self.binary


PROVIDERS = (
    Provider("capi-controller", "Cluster API core", 0),
    Provider("capi-kubeadm-bootstrap", "kubeadm bootstrap", 1),
    Provider("capi-kubeadm-control-plane", "kubeadm control plane", 2),
    Provider("capd-controller", "CAPD (in-memory machines)", 3),
)
NAMES = tuple(p.binary for p in PROVIDERS)


@dataclass(frozen=True)
class ProviderPorts:
    webhook: int
    health: int
    diagnostics: int


def ports_of(settings: DCSettings, provider: Provider) -> ProviderPorts:
    p = settings.ports
    return ProviderPorts(
        p.capi_webhook + provider.offset,
        p.capi_health + provider.offset,
        p.capi_diagnostics + provider.offset,
    )


def webhook_cert_dir(settings: DCSettings) -> Path:
    return settings.pki_dir / "cluster-api-webhook"


def ensure_credentials(settings: DCSettings, ca: pki.KeyPair) -> None:
    """One webhook serving certificate for loopback (the managers read tls.crt/tls.key from a
    directory) and a client certificate and kubeconfig per manager."""
    serving = pki.ensure_cert(
        settings.pki_dir,
        ca,
        pki.CertSpec(
            "cluster-api-webhook",
            "pdn cluster-api webhooks",
            dns_names=("localhost",),
            ip_addresses=(settings.listen_host,),
            server=True,
        ),
    )
    cert_dir = webhook_cert_dir(settings)
    cert_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for source, target in ((serving.cert, "tls.crt"), (serving.key, "tls.key")):
        link = cert_dir / target
        if not link.is_symlink():
            link.unlink(missing_ok=True)
            link.symlink_to(source)
    for provider in PROVIDERS:
        client = pki.ensure_cert(
            settings.pki_dir,
            ca,
            pki.CertSpec(f"{provider.binary}-client", provider.user, client=True),
        )
        kubeconfig.write(
            settings.kubeconfig(provider.binary),
            kubeconfig.render(
                settings.apiserver_url, ca.cert, client, provider.user, settings.site_code
            ),
        )


# A new cluster's infrastructure is ready seconds before its first API server listens, and
# Cluster API's cluster cache waits 30 s before connecting again after a refusal: every cluster
# made took that much longer. The controllers are built to read the wait from the environment
# (toolchain/cluster-api/overlay/controllers/clustercache).
CONNECTION_RETRY_VARIABLE = "CAPI_CLUSTERCACHE_CONNECTION_RETRY_INTERVAL"
CONNECTION_RETRY_INTERVAL = "2s"


def process_specs(settings: DCSettings, toolchain_bin: Path) -> list[ProcessSpec]:
    host = settings.listen_host
    specs = []
    for provider in PROVIDERS:
        ports = ports_of(settings, provider)
        argv = (
            str(toolchain_bin / provider.binary),
            f"--kubeconfig={settings.kubeconfig(provider.binary)}",
            "--leader-elect=false",
            f"--webhook-cert-dir={webhook_cert_dir(settings)}",
            f"--webhook-port={ports.webhook}",
            f"--health-addr={host}:{ports.health}",
            f"--diagnostics-address={host}:{ports.diagnostics}",
            "--insecure-diagnostics",
            "--v=1",
        )
        capd = provider.binary == "capd-controller"
        p = settings.ports
        env = (
            {
                "POD_IP": host,  # where its workload API servers listen and say they are
                "CAPD_INMEMORY_DEBUG_PORT": str(p.capd_debug),
                "CAPD_INMEMORY_MIN_PORT": str(p.capd_clusters),
                "CAPD_INMEMORY_MAX_PORT": str(p.capd_clusters + CAPD_CLUSTERS - 1),
            }
            if capd
            else dict(os.environ)
        )
        env[CONNECTION_RETRY_VARIABLE] = CONNECTION_RETRY_INTERVAL
        specs.append(
            ProcessSpec(
                provider.binary,
                argv,
                (ports.webhook, ports.health, ports.diagnostics, *((p.capd_debug,) * capd)),
                _probe(host, ports),
                env=env,
            )
        )
    return specs


def _probe(host: str, ports: ProviderPorts) -> Any:
    return lambda: expect_ok(host, ports.health, "/readyz", None)


# libyaml where PyYAML has it: the providers' CRDs are ~2 MB of YAML, read on every `dc up`
# (pure Python: ~2 s of it; libyaml: ~0.2 s). The same safe loader either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(path: Path) -> Iterator[dict[str, Any]]:
    for document in yaml.load_all(path.read_text(), Loader=_LOADER):
        if document:
            yield document


def manifests(settings: DCSettings, ca_cert: Path) -> list[dict[str, Any]]:
    """Every provider's CRDs (with the contract labels and the conversion webhook), its RBAC
    bound to its own identity, and its webhooks, all aimed at the manager on loopback."""
    ca_bundle = base64.b64encode(ca_cert.read_bytes()).decode()
    documents: list[dict[str, Any]] = []
    for provider in PROVIDERS:
        share = provider.share()
        if not share.is_dir():
            raise DCError(
                f"{share} is missing: run `pdn toolchain build cluster-api` or "
                "`pdn toolchain import FILE`"
            )
        base_url = f"https://{settings.listen_host}:{ports_of(settings, provider).webhook}"
        for path in sorted((share / "crd" / "bases").glob("*.yaml")):
            for crd in _load(path):
                documents.append(_crd(crd, base_url, ca_bundle))
        for role in _load(share / "rbac" / "role.yaml"):
            documents.extend(_rbac(role, provider))
        for config in _load(share / "webhook" / "manifests.yaml"):
            documents.append(_webhooks(config, provider, base_url, ca_bundle))
    return documents


def _crd(crd: dict[str, Any], base_url: str, ca_bundle: str) -> dict[str, Any]:
    crd = copy.deepcopy(crd)
    served = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
    labels = crd["metadata"].setdefault("labels", {})
    # Which of its versions implements each Cluster API contract; without them the core
    # manager says "cannot find any versions matching contract versions".
    labels.update({f"cluster.x-k8s.io/{c}": c for c in CONTRACTS if c in served})
    labels["app.kubernetes.io/managed-by"] = FIELD_MANAGER
    if len(crd["spec"]["versions"]) > 1:
        crd["spec"]["conversion"] = {
            "strategy": "Webhook",
            "webhook": {
                "clientConfig": {"url": f"{base_url}/convert", "caBundle": ca_bundle},
                "conversionReviewVersions": ["v1", "v1beta1"],
            },
        }
    return crd


def _rbac(role: dict[str, Any], provider: Provider) -> list[dict[str, Any]]:
    role = copy.deepcopy(role)
    role["metadata"] = {
        "name": provider.user,
        "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER},
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": provider.user},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": provider.user,
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": provider.user}
        ],
    }
    return [role, binding]


def _webhooks(
    config: dict[str, Any], provider: Provider, base_url: str, ca_bundle: str
) -> dict[str, Any]:
    config = copy.deepcopy(config)
    kind = "mutating" if config["kind"].startswith("Mutating") else "validating"
    config["metadata"] = {"name": f"pdn-{provider.binary}-{kind}"}
    for hook in config["webhooks"]:
        path = hook["clientConfig"]["service"]["path"]
        hook["clientConfig"] = {"url": f"{base_url}{path}", "caBundle": ca_bundle}
    return config


def digest(documents: list[dict[str, Any]]) -> str:
    text = json.dumps(documents, sort_keys=True)
    return hashlib.sha256(f"{CLUSTER_API_VERSION}\n{text}".encode()).hexdigest()[:16]


def applied_digest(kubectl: Path, kubeconfig_path: Path) -> str | None:
    proc = subprocess.run(
        [
            str(kubectl),
            f"--kubeconfig={kubeconfig_path}",
            "get",
            "crd",
            _DIGEST_CARRIER,
            "--ignore-not-found",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    annotations = json.loads(proc.stdout)["metadata"].get("annotations") or {}
    value = annotations.get(DIGEST_ANNOTATION)
    return value if isinstance(value, str) else None


def apply(kubectl: Path, kubeconfig_path: Path, documents: list[dict[str, Any]]) -> bool:
    """Server-side apply, unless the same set was applied before; True when it applied."""
    wanted = digest(documents)
    if applied_digest(kubectl, kubeconfig_path) == wanted:
        return False
    documents = copy.deepcopy(documents)
    for document in documents:
        if document["metadata"]["name"] == _DIGEST_CARRIER:
            document["metadata"].setdefault("annotations", {})[DIGEST_ANNOTATION] = wanted
    stream = "".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in documents)
    try:
        proc = subprocess.run(
            [
                str(kubectl),
                f"--kubeconfig={kubeconfig_path}",
                "apply",
                "--server-side",
                "--force-conflicts",
                f"--field-manager={FIELD_MANAGER}",
                "-f",
                "-",
            ],
            input=stream,
            capture_output=True,
            text=True,
            timeout=APPLY_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise DCError(f"applying Cluster API's manifests took over {APPLY_TIMEOUT:.0f}s") from err
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise DCError(f"the apiserver refused Cluster API's manifests: {' '.join(said[-3:])}")
    return True
