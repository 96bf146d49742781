"""The control plane of a local DC site: its PKI, kubeconfigs and the five processes.

etcd (mTLS, own CA) -> kube-apiserver (Node,RBAC; production admission plugins; secrets encrypted
at rest; audit log; anonymous auth off; users of the DC's single sign-on by their ID tokens) ->
kube-controller-manager, kube-scheduler -> kwok.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pdn.dc import kubeconfig, pki
from pdn.dc.probes import expect_ok
from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings
from pdn.files import tighten, write_private
from pdn.toolchain import installed_file
from pdn.toolchain.components import KWOK_STAGES_DIR

ADMISSION_PLUGINS = (
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "NodeRestriction",
    "PodSecurity",
    "ResourceQuota",
    "DefaultStorageClass",
    "DefaultTolerationSeconds",
    "Priority",
    "RuntimeClass",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
)
KWOK_USER = "pdn:kwok"
# The platform's admin identity is bound by RBAC (revocable), as kubeadm's admin.conf is; the
# system:masters certificate, which no RBAC can revoke, is kept apart for break-glass only.
PLATFORM_ADMINS_GROUP = "pdn:platform-admins"
PLATFORM_ADMIN_USER = "pdn-platform-admin"
BREAK_GLASS_USER = "pdn-break-glass"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")

_AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        # Never log secret payloads; who touched which secret is enough.
        {"level": "Metadata", "resources": [{"group": "", "resources": ["secrets", "configmaps"]}]},
        {
            "level": "None",
            "users": ["system:kube-scheduler", KWOK_USER],
            "verbs": ["get", "list", "watch"],
        },
        {"level": "Metadata"},
    ],
}


@dataclass(frozen=True)
class Credentials:
    """Paths of the DC's PKI material, as the processes and clients use them."""

    ca: pki.KeyPair
    etcd_ca: pki.KeyPair
    etcd_server: pki.KeyPair
    apiserver_etcd_client: pki.KeyPair
    apiserver: pki.KeyPair
    controller_manager_serving: pki.KeyPair
    scheduler_serving: pki.KeyPair
    admin: pki.KeyPair
    super_admin: pki.KeyPair
    front_proxy_ca: pki.KeyPair
    front_proxy_client: pki.KeyPair
    service_account: pki.KeyPair
    encryption_config: Path
    audit_policy: Path
    authentication_config: Path


AUTHENTICATION_CONFIG = "authentication-config.yaml"
SSO_AUDIENCE = "kubernetes"  # the SSO's client for the clusters
SSO_PREFIX = "oidc:"  # on SSO users and groups: none can pass for Kubernetes' own (system:)


def authentication_config(issuer: str, ca_pem: str) -> dict[str, Any]:
    """The API server's trust in the DC's single sign-on (structured authentication): ID tokens
    of the civil servants' realm for the audience `kubernetes`, the user by username and groups
    by name, both prefixed; access tokens (typ Bearer) are refused."""
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AuthenticationConfiguration",
        "jwt": [
            {
                "issuer": {
                    "url": issuer,
                    "audiences": [SSO_AUDIENCE],
                    "audienceMatchPolicy": "MatchAny",
                    "certificateAuthority": ca_pem,
                },
                "claimValidationRules": [
                    {
                        "expression": "claims.?typ.orValue('ID') == 'ID'",
                        "message": "only ID tokens log in (an access token is for applications)",
                    }
                ],
                "claimMappings": {
                    "username": {"claim": "preferred_username", "prefix": SSO_PREFIX},
                    "groups": {"claim": "groups", "prefix": SSO_PREFIX},
                },
            }
        ],
    }


def ensure_authentication_config(settings: DCSettings, issuer: str, ca_pem: str) -> Path:
    """Written before the API server starts (it reads it again when it changes)."""
    path = credential_paths(settings).authentication_config
    text = yaml.safe_dump(authentication_config(issuer, ca_pem), sort_keys=False)
    if not path.is_file() or path.read_text() != text:
        write_private(path, text)
    return path


def credential_paths(settings: DCSettings) -> Credentials:
    """Where ensure_credentials keeps everything, without creating anything (for status)."""
    d = settings.pki_dir

    def pair(name: str) -> pki.KeyPair:
        return pki.KeyPair(d / f"{name}.crt", d / f"{name}.key")

    return Credentials(
        ca=pair("ca"),
        etcd_ca=pair("etcd-ca"),
        etcd_server=pair("etcd-server"),
        apiserver_etcd_client=pair("apiserver-etcd-client"),
        apiserver=pair("apiserver"),
        controller_manager_serving=pair("kube-controller-manager-serving"),
        scheduler_serving=pair("kube-scheduler-serving"),
        admin=pair("admin"),
        super_admin=pair("super-admin"),
        front_proxy_ca=pair("front-proxy-ca"),
        front_proxy_client=pair("front-proxy-client"),
        service_account=pki.KeyPair(d / "service-account.pub", d / "service-account.key"),
        encryption_config=d / "encryption-config.yaml",
        audit_policy=d / "audit-policy.yaml",
        authentication_config=d / AUTHENTICATION_CONFIG,
    )


def ensure_credentials(settings: DCSettings) -> Credentials:
    d = settings.pki_dir
    ca = pki.ensure_ca(d, "ca", f"{settings.site_code} cluster CA")
    etcd_ca = pki.ensure_ca(d, "etcd-ca", f"{settings.site_code} etcd CA")
    # Aggregated APIs (metrics and the like) trust the apiserver through this CA.
    front_proxy_ca = pki.ensure_ca(d, "front-proxy-ca", f"{settings.site_code} front-proxy CA")
    credentials = Credentials(
        ca=ca,
        etcd_ca=etcd_ca,
        etcd_server=pki.ensure_cert(d, etcd_ca, _loopback_server("etcd-server", "etcd", peer=True)),
        apiserver_etcd_client=pki.ensure_cert(
            d,
            etcd_ca,
            pki.CertSpec("apiserver-etcd-client", "kube-apiserver-etcd-client", client=True),
        ),
        apiserver=pki.ensure_cert(
            d,
            ca,
            pki.CertSpec(
                "apiserver",
                "kube-apiserver",
                dns_names=(
                    "localhost",
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                ),
                ip_addresses=(
                    "127.0.0.1",
                    str(settings.advertise_address),
                    str(settings.first_service_ip),
                ),
                server=True,
            ),
        ),
        controller_manager_serving=pki.ensure_cert(
            d, ca, _loopback_server("kube-controller-manager-serving", "kube-controller-manager")
        ),
        scheduler_serving=pki.ensure_cert(
            d, ca, _loopback_server("kube-scheduler-serving", "kube-scheduler")
        ),
        admin=pki.ensure_cert(
            d,
            ca,
            pki.CertSpec(
                "admin", PLATFORM_ADMIN_USER, organizations=(PLATFORM_ADMINS_GROUP,), client=True
            ),
        ),
        super_admin=pki.ensure_cert(
            d,
            ca,
            pki.CertSpec(
                "super-admin", BREAK_GLASS_USER, organizations=("system:masters",), client=True
            ),
        ),
        front_proxy_ca=front_proxy_ca,
        front_proxy_client=pki.ensure_cert(
            d, front_proxy_ca, pki.CertSpec("front-proxy-client", "front-proxy-client", client=True)
        ),
        service_account=pki.ensure_signing_key(d, "service-account"),
        encryption_config=_ensure_encryption_config(d),
        audit_policy=d / "audit-policy.yaml",
        authentication_config=d / AUTHENTICATION_CONFIG,
    )
    write_private(credentials.audit_policy, yaml.safe_dump(_AUDIT_POLICY, sort_keys=False))
    clients = {
        "kube-controller-manager": pki.CertSpec(
            "kube-controller-manager-client", "system:kube-controller-manager", client=True
        ),
        "kube-scheduler": pki.CertSpec(
            "kube-scheduler-client", "system:kube-scheduler", client=True
        ),
        "kwok": pki.CertSpec("kwok-client", KWOK_USER, client=True),
    }
    for name, spec in clients.items():
        _write_kubeconfig(settings, ca, pki.ensure_cert(d, ca, spec), name, spec.common_name)
    _write_kubeconfig(settings, ca, credentials.admin, "admin", PLATFORM_ADMIN_USER)
    _write_kubeconfig(settings, ca, credentials.super_admin, "super-admin", BREAK_GLASS_USER)
    return credentials


def _loopback_server(file: str, common_name: str, peer: bool = False) -> pki.CertSpec:
    """A serving certificate for loopback; etcd's also authenticates it to its peers."""
    return pki.CertSpec(
        file,
        common_name,
        dns_names=("localhost",),
        ip_addresses=("127.0.0.1",),
        server=True,
        client=peer,
    )


def _write_kubeconfig(
    settings: DCSettings, ca: pki.KeyPair, client: pki.KeyPair, name: str, user: str
) -> None:
    kubeconfig.write(
        settings.kubeconfig(name),
        kubeconfig.render(settings.apiserver_url, ca.cert, client, user, settings.site_code),
    )


def _ensure_encryption_config(directory: Path) -> Path:
    """Secrets and config maps encrypted at rest in etcd (secretbox, a key made here once)."""
    path = directory / "encryption-config.yaml"
    if path.is_file():
        tighten(path)
        return path
    key = secrets.token_bytes(32)
    document = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": ["secrets", "configmaps"],
                "providers": [
                    {
                        "secretbox": {
                            "keys": [{"name": "key1", "secret": base64.b64encode(key).decode()}]
                        }
                    },
                    {"identity": {}},
                ],
            }
        ],
    }
    write_private(path, yaml.safe_dump(document, sort_keys=False))
    return path


def process_specs(
    settings: DCSettings, creds: Credentials, toolchain_bin: Path
) -> list[ProcessSpec]:
    """The five processes in start order, each with the probe that says it is healthy."""
    p, host = settings.ports, settings.listen_host
    etcd_url = f"https://{host}:{p.etcd_client}"
    peer_url = f"https://{host}:{p.etcd_peer}"
    kcm_kubeconfig = str(settings.kubeconfig("kube-controller-manager"))
    sched_kubeconfig = str(settings.kubeconfig("kube-scheduler"))

    def bin_(name: str) -> str:
        return str(toolchain_bin / name)

    etcd = ProcessSpec(
        "etcd",
        (
            bin_("etcd"),
            f"--name={settings.site_code}",
            f"--data-dir={settings.etcd_data_dir}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster={settings.site_code}={peer_url}",
            f"--listen-metrics-urls=http://{host}:{p.etcd_metrics}",
            f"--cert-file={creds.etcd_server.cert}",
            f"--key-file={creds.etcd_server.key}",
            f"--trusted-ca-file={creds.etcd_ca.cert}",
            "--client-cert-auth=true",
            f"--peer-cert-file={creds.etcd_server.cert}",
            f"--peer-key-file={creds.etcd_server.key}",
            f"--peer-trusted-ca-file={creds.etcd_ca.cert}",
            "--peer-client-cert-auth=true",
            "--log-level=warn",
        ),
        (p.etcd_client, p.etcd_peer, p.etcd_metrics),
        lambda: expect_ok(host, p.etcd_metrics, "/health", None),
    )
    apiserver = ProcessSpec(
        "kube-apiserver",
        (
            bin_("kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            f"--etcd-cafile={creds.etcd_ca.cert}",
            f"--etcd-certfile={creds.apiserver_etcd_client.cert}",
            f"--etcd-keyfile={creds.apiserver_etcd_client.key}",
            f"--bind-address={host}",
            f"--secure-port={p.apiserver}",
            f"--advertise-address={settings.advertise_address}",
            f"--tls-cert-file={creds.apiserver.cert}",
            f"--tls-private-key-file={creds.apiserver.key}",
            f"--client-ca-file={creds.ca.cert}",
            f"--service-account-key-file={creds.service_account.cert}",
            f"--service-account-signing-key-file={creds.service_account.key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={settings.service_cidr}",
            "--authorization-mode=Node,RBAC",
            f"--authentication-config={creds.authentication_config}",
            f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
            "--anonymous-auth=false",
            "--allow-privileged=false",
            "--profiling=false",
            f"--encryption-provider-config={creds.encryption_config}",
            f"--audit-policy-file={creds.audit_policy}",
            f"--audit-log-path={settings.log_dir / 'audit.log'}",
            "--audit-log-maxage=30",
            "--audit-log-maxbackup=10",
            "--audit-log-maxsize=100",
            "--tls-min-version=VersionTLS12",
            f"--requestheader-client-ca-file={creds.front_proxy_ca.cert}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={creds.front_proxy_client.cert}",
            f"--proxy-client-key-file={creds.front_proxy_client.key}",
        ),
        (p.apiserver,),
        lambda: expect_ok(host, p.apiserver, "/readyz", creds.ca.cert, creds.admin),
    )
    controller_manager = ProcessSpec(
        "kube-controller-manager",
        (
            bin_("kube-controller-manager"),
            f"--kubeconfig={kcm_kubeconfig}",
            f"--authentication-kubeconfig={kcm_kubeconfig}",
            f"--authorization-kubeconfig={kcm_kubeconfig}",
            f"--bind-address={host}",
            f"--secure-port={p.controller_manager}",
            f"--tls-cert-file={creds.controller_manager_serving.cert}",
            f"--tls-private-key-file={creds.controller_manager_serving.key}",
            # Pod IPs come from kwok's --cidr; there is no node IPAM to run.
            "--controllers=*,-nodeipam",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={creds.service_account.key}",
            f"--root-ca-file={creds.ca.cert}",
            f"--cluster-signing-cert-file={creds.ca.cert}",
            f"--cluster-signing-key-file={creds.ca.key}",
            f"--service-cluster-ip-range={settings.service_cidr}",
            "--profiling=false",
        ),
        (p.controller_manager,),
        lambda: expect_ok(host, p.controller_manager, "/healthz", creds.ca.cert),
    )
    scheduler = ProcessSpec(
        "kube-scheduler",
        (
            bin_("kube-scheduler"),
            f"--kubeconfig={sched_kubeconfig}",
            f"--authentication-kubeconfig={sched_kubeconfig}",
            f"--authorization-kubeconfig={sched_kubeconfig}",
            f"--bind-address={host}",
            f"--secure-port={p.scheduler}",
            f"--tls-cert-file={creds.scheduler_serving.cert}",
            f"--tls-private-key-file={creds.scheduler_serving.key}",
            "--leader-elect=false",
            "--profiling=false",
        ),
        (p.scheduler,),
        lambda: expect_ok(host, p.scheduler, "/healthz", creds.ca.cert),
    )
    stages = [
        f"--config={installed_file('kwok', f'{KWOK_STAGES_DIR}/{stage}.yaml')}"
        for stage in ("node-initialize", "pod-ready", "pod-complete", "pod-delete")
    ]
    kwok = ProcessSpec(
        "kwok",
        (
            bin_("kwok"),
            f"--kubeconfig={settings.kubeconfig('kwok')}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
            f"--cidr={settings.pod_cidr}",
            "--node-lease-duration-seconds=40",
            f"--server-address={host}:{p.kwok}",
            *stages,
        ),
        (p.kwok,),
        lambda: expect_ok(host, p.kwok, "/healthz", None),
    )
    return [etcd, apiserver, controller_manager, scheduler, kwok]
