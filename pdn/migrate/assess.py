"""`pdn migrate assess`: from what discovery saw, how each workload moves (rehost to a PDN host;
replatform: database to DBaaS, files to object storage; retire), what blocks it, which hosts
depend on which (on the wire and in configuration), and the Satu Data findings per database:
columns holding citizen master data (NIK) and region codes that are not Kemendagri's.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from pdn import regions
from pdn.estate.model import Estate
from pdn.migrate.discovery import ColumnProfile, HostDiscovery

# The DBaaS engines and versions the national DC runs (platform_services/databases).
DBAAS = {"mariadb": "10.11", "postgresql": "15"}
SUPPORTED_OS = {("debian", "11"), ("debian", "12")}
# Codes are written as text; a column of counts is not one of codes.
TEXT_TYPES = {"char", "varchar", "text", "character", "character varying"}
NIK_SHARE = 0.9  # of a column's sampled values, for it to hold NIKs (or region codes)


class Strategy(StrEnum):
    REHOST = "rehost"  # the host as it is, onto a PDN host
    REPLATFORM = "replatform"  # onto a platform service (DBaaS, object storage, a namespace)
    RETIRE = "retire"


@dataclass(frozen=True)
class Workload:
    host: str
    kind: str  # web-app, database, file-share, host
    name: str
    strategy: Strategy
    target: str  # where it goes
    blockers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dependency:
    source: str  # the host that calls
    target: str  # the host it calls
    port: int | None
    seen: str  # "configuration" or "wire"
    detail: str


@dataclass(frozen=True)
class SatuDataFinding:
    host: str
    database: str
    table: str
    column: str
    kind: str  # "nik" or "region-code"
    detail: str
    proposals: tuple[tuple[str, str, str], ...] = ()  # (value, Kemendagri code, its name)


@dataclass(frozen=True)
class Assessment:
    workloads: tuple[Workload, ...]
    dependencies: tuple[Dependency, ...]
    satu_data: tuple[SatuDataFinding, ...]
    data_bytes: dict[str, int] = field(default_factory=dict)  # host -> bytes to move


def assess(
    estate: Estate,
    found: dict[str, HostDiscovery],
    declared_hosts: dict[str, dict[str, str]] | None = None,
) -> Assessment:
    """declared_hosts: per tenant, the PDN hosts its tenant file declares (name -> size); a
    rehosted application is matched to the one named after it, or told to declare one."""
    by_address = {str(h.address): h.name for _r, h in estate.hosts()}
    gateways = {str(r.gateway) for r in estate.rooms}
    workloads: list[Workload] = []
    dependencies: list[Dependency] = []
    satu_data: list[SatuDataFinding] = []
    agency_of = {h.name: r.agency for r, h in estate.hosts()}
    for host in found.values():
        workloads += _workloads(host, agency_of.get(host.host, "?"), declared_hosts)
        dependencies += _dependencies(host, by_address, gateways)
        satu_data += _satu_data(host)
    return Assessment(
        tuple(workloads),
        tuple(_unique(dependencies)),
        tuple(satu_data),
        {name: host.data_bytes for name, host in found.items()},
    )


def _os_blockers(host: HostDiscovery) -> tuple[str, ...]:
    release = (host.os.id, host.os.version_id.split(".")[0])
    if release in SUPPORTED_OS:
        return ()
    return (f"unsupported OS {host.os.pretty_name}: rebuild on Debian 12 before it moves",)


def _rehost_target(
    app: str, agency: str, declared_hosts: dict[str, dict[str, str]] | None
) -> tuple[str, tuple[str, ...]]:
    """Where a rehosted application goes, and what is missing for it."""
    if declared_hosts is None:
        return "a PDN host of the tenant", ()
    size = declared_hosts.get(agency, {}).get(app)
    if size is None:
        return "a PDN host of the tenant", (
            f"no PDN host for it: declare `hosts: [{{name: {app}, size: small}}]` in "
            f"tenants/{agency}.yaml, then `pdn tenant up {agency}`",
        )
    return f"PDN host {agency}/{app} ({size})", ()


def _workloads(
    host: HostDiscovery, agency: str, declared_hosts: dict[str, dict[str, str]] | None
) -> list[Workload]:
    found: list[Workload] = []
    os_blockers = _os_blockers(host)
    # A site configured but not served (nginx not running) is no workload.
    for site in host.web_sites if "nginx" in host.processes else []:
        if site.root is None:
            continue
        notes, blockers = [], list(os_blockers)
        for endpoint in site.database_endpoints:
            if _is_address(endpoint.host) and endpoint.host != "127.0.0.1":
                notes.append(
                    f"hard-coded database address {endpoint.host} in {endpoint.file}: "
                    "rewritten to the DBaaS endpoint at migration"
                )
        if site.uploads and site.uploads.files:
            notes.append(
                f"local-only state: {site.uploads.files} uploads in {site.uploads.path}: to "
                "object storage, or moved with the host"
            )
        app = site.root.rstrip("/").rsplit("/", 1)[-1]
        target, missing = _rehost_target(app, agency, declared_hosts)
        found.append(
            Workload(
                host.host,
                "web-app",
                app,
                Strategy.REHOST,
                target,
                (*blockers, *missing),
                tuple(notes),
            )
        )
    for server in host.databases:
        wanted = DBAAS.get(server.engine)
        blockers = list(os_blockers)
        if wanted is None or not server.version.startswith(wanted):
            blockers.append(
                f"{server.engine} {server.version}: the DBaaS runs {server.engine} {wanted}; "
                "dump and restore across versions, test the application first"
            )
        for database, content in server.databases.items():
            rows = sum(t.rows for t in content.tables.values())
            found.append(
                Workload(
                    host.host,
                    "database",
                    database,
                    Strategy.REPLATFORM,
                    f"DBaaS {server.engine} (the tenant's database {database})",
                    tuple(blockers),
                    (f"{len(content.tables)} tables, {rows} rows",),
                )
            )
    for share in host.shares:
        found.append(
            Workload(
                host.host,
                "file-share",
                share.path,
                Strategy.REPLATFORM,
                "object storage (a bucket of the tenant)",
                os_blockers,
                (f"{share.protocol} share of {share.user}, {share.bytes} bytes",),
            )
        )
    if not found:
        found.append(
            Workload(
                host.host,
                "host",
                host.host,
                Strategy.RETIRE,
                "-",
                (),
                ("no application, database or share found: retire after the owner confirms",),
            )
        )
    return found


def _is_address(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _dependencies(
    host: HostDiscovery, by_address: dict[str, str], gateways: set[str]
) -> list[Dependency]:
    found = []
    for site in host.web_sites:
        for endpoint in site.database_endpoints:
            target = by_address.get(endpoint.host) or (
                endpoint.host if endpoint.host in by_address.values() else None
            )
            if target and target != host.host:
                found.append(Dependency(host.host, target, None, "configuration", endpoint.file))
    for connection in host.connections:
        address, _, port = connection.remote.rpartition(":")
        target = by_address.get(address)
        # Ours calling theirs, not their client calling us: our end is not a port we serve.
        local_port = int(connection.local.rpartition(":")[2])
        ours = not any(local_port == s.port for s in host.listening)
        if target and target != host.host and address not in gateways and ours:
            found.append(Dependency(host.host, target, int(port), "wire", connection.process))
    return found


def _unique(dependencies: list[Dependency]) -> list[Dependency]:
    seen: dict[tuple[str, str, str], Dependency] = {}
    for dependency in dependencies:
        seen.setdefault((dependency.source, dependency.target, dependency.seen), dependency)
    return sorted(seen.values(), key=lambda d: (d.source, d.target, d.seen))


def _satu_data(host: HostDiscovery) -> list[SatuDataFinding]:
    found = []
    for server in host.databases:
        for database, content in server.databases.items():
            for table, columns in content.tables.items():
                for column, profile in columns.columns.items():
                    found += _column(host.host, database, table, column, profile)
    return found


def _column(
    host: str, database: str, table: str, column: str, profile: ColumnProfile
) -> list[SatuDataFinding]:
    if not profile.sampled:
        return []
    found = []
    if profile.nik_like >= NIK_SHARE * profile.sampled:
        unknown = sorted(
            prefix
            for prefix in profile.nik_prefixes
            if regions.lookup(f"{prefix[:2]}.{prefix[2:4]}.{prefix[4:6]}") is None
        )
        bad_birth = profile.nik_like - profile.nik_valid_birth
        valid = profile.nik_like - bad_birth - sum(profile.nik_prefixes[p] for p in unknown)
        detail = (
            f"citizen master data: {profile.nik_like} of {profile.sampled} sampled values are "
            f"NIKs ({valid} with a real kecamatan and a valid birth date"
            + (f"; unknown district prefixes {', '.join(unknown[:5])}" if unknown else "")
            + (f"; {bad_birth} with an impossible birth date" if bad_birth else "")
            + "): personal data, encrypted at rest and restricted to the tenant"
        )
        found.append(SatuDataFinding(host, database, table, column, "nik", detail))
    elif profile.region_like >= NIK_SHARE * profile.sampled and profile.type in TEXT_TYPES:
        found += _region_column(host, database, table, column, profile)
    return found


def _region_column(
    host: str, database: str, table: str, column: str, profile: ColumnProfile
) -> list[SatuDataFinding]:
    proposals = []
    kemendagri = 0
    for value in profile.region_values:
        if "." in value and regions.lookup(value) is not None:
            kemendagri += 1
            continue
        candidate = _dotted(value)
        region = regions.lookup(candidate) if candidate else None
        proposals.append(
            (value, region.code if region else "?", region.name if region else "no match")
        )
    if not proposals:
        return []
    detail = (
        f"{len(proposals)} of {len(profile.region_values)} distinct region codes are not "
        f"Kemendagri codes ({kemendagri} are); proposed: the Kemendagri code with the same "
        "digits, to be confirmed by the agency (BPS numbering differs from Kemendagri's in "
        "places; no crosswalk is assumed)"
    )
    return [SatuDataFinding(host, database, table, column, "region-code", detail, tuple(proposals))]


def _dotted(value: str) -> str | None:
    digits = value.replace(".", "")
    if not digits.isdigit():
        return None
    parts = {2: (2,), 4: (2, 2), 6: (2, 2, 2), 10: (2, 2, 2, 4)}.get(len(digits))
    if parts is None:
        return None
    out, at = [], 0
    for size in parts:
        out.append(digits[at : at + size])
        at += size
    return ".".join(out)
