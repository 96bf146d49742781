"""`pdn backup` and `pdn restore` over a site's tenants: which data sets each tenant has, their
backups at every site against the tier's policy, and restore drills that prove them."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pdn.dataservices import backup, db_backup
from pdn.dataservices.buckets import BucketSpec, specs_of
from pdn.dataservices.databases import database_name
from pdn.dataservices.plan import BackupPolicy, DataServiceError, storage_of
from pdn.dataservices.s3 import unreachable
from pdn.dc.errors import DCError
from pdn.tenants.fleet import Fleet

if TYPE_CHECKING:
    from pdn.dc.lifecycle import LocalDC

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Sites:
    """The site's own store and the second PDN site's, as backup reaches them."""

    primary: backup.Site
    second: backup.Site
    mariadb: db_backup.MariaDBServer | None = None  # the site's server, if backups reach it
    postgresql: db_backup.PostgreSQLServer | None = None

    def all(self) -> list[backup.Site]:
        return [self.primary, self.second]

    def named(self, name: str | None) -> backup.Site:
        if name is None:
            return self.primary
        for site in self.all():
            if site.name == name:
                return site
        raise DataServiceError(
            f"site {name!r}: backups are kept at {', '.join(s.name for s in self.all())}"
        )


def local_sites(dc: LocalDC) -> Sites:
    """The local DC's two object stores, reached with the platform admin's key on each."""
    from pdn.dataservices import sql  # noqa: PLC0415
    from pdn.dc import databases, object_storage  # noqa: PLC0415

    admin = dc.database_admin(sql.POSTGRESQL)

    return Sites(
        backup.Site(dc.site.code, dc.object_storage_client(object_storage.PRIMARY)),
        backup.Site(
            f"{dc.site.code}-second-site", dc.object_storage_client(object_storage.SECOND_SITE)
        ),
        db_backup.MariaDBServer(dc.settings.database_dir / "mariadb" / "mariadbd.sock"),
        db_backup.PostgreSQLServer(
            functools.partial(databases.run_pgbackrest, dc.settings),
            functools.partial(databases.backup_args, dc.settings),
            lambda database: sql.connect(admin.server, admin.user, admin.password, database),
            lambda: {
                "PGHOST": admin.server.host,
                "PGPORT": str(admin.server.port),
                "PGUSER": admin.user,
                "PGPASSWORD": admin.password,  # the environment, never a command line
                "PGSSLMODE": "verify-full",
                "PGSSLROOTCERT": str(admin.server.ca_file()),
            },
        ),
    )


def _is_due(sites: Sites, fleet: Fleet, slug: str) -> bool:
    _, backup_spec = _specs(fleet, slug)
    runs = backup.manifests(sites.primary, backup_spec.name)
    if not runs:
        return True
    age = datetime.now(UTC) - backup.parse_stamp(runs[-1])
    return age >= storage_of(fleet.tenants[slug]).backup.every


def _engines(fleet: Fleet, slug: str) -> set[str]:
    return {e.value for e in fleet.tenants[slug].databases}


def _tenants(fleet: Fleet, site: str, slugs: list[str] | None) -> list[str]:
    on_site = sorted(s for s, t in fleet.tenants.items() if site in t.sites)
    if not slugs:
        return on_site
    unknown = sorted(set(slugs) - set(on_site))
    if unknown:
        raise DataServiceError(
            f"not tenants of {site}: {', '.join(unknown)} (see `pdn tenant list`)"
        )
    return sorted(set(slugs))


def _specs(fleet: Fleet, slug: str) -> tuple[BucketSpec, BucketSpec]:
    return specs_of(storage_of(fleet.tenants[slug]))


def _reachable(site: backup.Site) -> None:
    try:
        site.s3.list_buckets()
    except (BotoCoreError, ClientError) as err:
        problem = unreachable(f"site {site.name}'s object store", err)
        raise DataServiceError(
            f"{problem}: no backup is complete without its copy there; bring it back "
            "(`pdn dc up`) and run again"
        ) from err


def run(
    sites: Sites,
    fleet: Fleet,
    site: str,
    slugs: list[str] | None = None,
    *,
    due: bool = False,
    progress: Progress = print,
) -> list[backup.RunResult]:
    """Back up each tenant's data bucket at both sites, and the database servers its
    databases are on; every tenant is tried, and a failure is reported at the end (the tenants
    before it keep their new backups). due: only the tenants whose last good backup is as old
    as their tier's period (what a schedule runs, every few minutes)."""
    for each in sites.all():
        _reachable(each)
    results, failures = [], []
    chosen = _tenants(fleet, site, slugs)
    if due:
        chosen = [s for s in chosen if _is_due(sites, fleet, s)]
        progress(f"due: {', '.join(chosen) or 'none'}")
    for slug in chosen:
        data, backup_spec = _specs(fleet, slug)
        try:
            results.append(
                backup.back_up_bucket(
                    slug, data, backup_spec, sites.primary, [sites.second], progress=progress
                )
            )
        except (DataServiceError, BotoCoreError, ClientError) as err:
            failures.append(f"{slug}: {err}")
            progress(f"{slug}: FAILED: {err}")
    engines = {e for s in chosen for e in _engines(fleet, s)}
    # One server backup holds every tenant's database on that server.
    jobs: list[tuple[str, Callable[[], object]]] = []
    if sites.mariadb is not None and "mariadb" in engines:
        maria = sites.mariadb
        jobs.append(
            (
                "mariadb",
                lambda: db_backup.back_up_mariadb(maria, sites.primary, [sites.second], progress),
            )
        )
    if sites.postgresql is not None and "postgresql" in engines:
        pg = sites.postgresql
        jobs.append(("postgresql", lambda: db_backup.back_up_postgresql(pg, sites.all(), progress)))
    for engine, job in jobs:
        try:
            job()
        except (DataServiceError, DCError, BotoCoreError, ClientError, OSError) as err:
            failures.append(f"{engine} server: {err}")
            progress(f"{engine} server: FAILED: {err}")
    if failures:
        raise DataServiceError(
            f"{len(failures)} backup(s) failed (the previous good backup of each is kept): "
            + "; ".join(failures)
        )
    return results


@dataclass(frozen=True)
class StatusRow:
    tenant: str
    data_set: str
    last_good: str | None  # stamp
    age: timedelta | None
    policy: BackupPolicy
    sites: tuple[str, ...]  # where the last good backup is
    note: str  # a later run that failed or never finished; a missing copy
    last_drill: str | None
    drill_age: timedelta | None = None
    drill_verified: bool = False  # the last drill found every checksum equal

    @property
    def overdue(self) -> bool:
        return self.age is None or self.age > self.policy.stale_after

    @property
    def state(self) -> str:
        if self.last_good is None:
            return "NONE"
        if self.overdue:
            return "OVERDUE"
        if self.note:
            return "WARN"
        return "OK"


def status(
    sites: Sites, fleet: Fleet, site: str, *, now: datetime | None = None
) -> list[StatusRow]:
    now = now or datetime.now(UTC)
    rows = []
    for slug in _tenants(fleet, site, None):
        data, backup_spec = _specs(fleet, slug)
        policy = storage_of(fleet.tenants[slug]).backup
        held, notes = _holdings(sites, functools.partial(_manifests_of, bucket=backup_spec.name))
        primary_runs = held.get(sites.primary.name, [])
        last = primary_runs[-1] if primary_runs else None
        try:
            runs = backup.journal(sites.primary, backup_spec.name)
            drills = backup.journal(sites.primary, backup_spec.name, "drills")
        except (BotoCoreError, ClientError):
            runs, drills = [], []
        for entry in runs:
            if last is None or entry["stamp"] > last:
                if entry.get("status") == "failed":
                    notes.append(f"run {entry['stamp']} failed: {entry.get('error', '')[:120]}")
                elif entry.get("status") == "running":
                    notes.append(f"run {entry['stamp']} never finished (interrupted)")
        for engine in sorted(_engines(fleet, slug)):
            rows.append(
                _database_row(
                    sites, engine=engine, slug=slug, policy=policy, drills=drills, now=now
                )
            )
        rows.append(
            _row(
                slug,
                f"bucket {data.name}",
                last=last,
                held=held,
                notes=notes,
                policy=policy,
                drills=drills,
                now=now,
            )
        )
    return rows


def _manifests_of(site: backup.Site, *, bucket: str) -> list[str]:
    return backup.manifests(site, bucket)


def _holdings(
    sites: Sites, list_runs: Callable[[backup.Site], list[str]]
) -> tuple[dict[str, list[str]], list[str]]:
    """Each site's complete backups (oldest first), and a note for each site unreadable."""
    held: dict[str, list[str]] = {}
    notes = []
    for each in sites.all():
        try:
            held[each.name] = list_runs(each)
        except (BotoCoreError, ClientError) as err:
            held[each.name] = []
            notes.append(f"{each.name} unreadable ({err.__class__.__name__})")
    return held, notes


def _row(
    slug: str,
    data_set: str,
    *,
    last: str | None,
    held: dict[str, list[str]],
    notes: list[str],
    policy: BackupPolicy,
    drills: list[dict[str, Any]],
    now: datetime,
) -> StatusRow:
    """A data set's row: the sites holding its last good backup, its last drill (drills
    name their data set: "bucket", or "<engine> database <name>" like the row)."""
    at = tuple(name for name, stamps in held.items() if last is not None and last in stamps)
    if last is not None and len(at) < len(held):
        notes = [*notes, f"no copy at {', '.join(n for n in held if n not in at)}"]
    drill_set = "bucket" if data_set.startswith("bucket ") else data_set
    mine = [d for d in drills if d.get("data_set", "bucket") == drill_set]
    drill = mine[-1] if mine else None
    return StatusRow(
        slug,
        data_set,
        last,
        now - backup.parse_stamp(last) if last else None,
        policy,
        at,
        "; ".join(notes),
        (
            f"{drill['backup']} from {drill['site']}: "
            f"{'verified' if not drill['mismatches'] else 'MISMATCH'} in "
            f"{float(drill['seconds']):.1f}s"
        )
        if drill
        else None,
        now - backup.parse_stamp(drill["stamp"]) if drill else None,
        drill is not None and not drill["mismatches"],
    )


def _database_row(
    sites: Sites,
    *,
    engine: str,
    slug: str,
    policy: BackupPolicy,
    drills: list[dict[str, Any]],
    now: datetime,
) -> StatusRow:
    """The row of one of a tenant's databases: the server backups that hold it."""
    database = database_name(slug)
    held, notes = _holdings(sites, lambda each: db_backup.server_backups(each, engine))
    runs = held.get(sites.primary.name, [])
    last = runs[-1] if runs else None
    if last is not None:
        manifest = db_backup.server_manifest(sites.primary, engine, last)
        if database not in manifest["databases"]:
            notes.append(f"the last server backup {last} predates the database")
            last = None
    return _row(
        slug,
        f"{engine} database {database}",
        last=last,
        held=held,
        notes=notes,
        policy=policy,
        drills=drills,
        now=now,
    )


def _delete_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def drill(
    sites: Sites,
    fleet: Fleet,
    site: str,
    slug: str,
    *,
    from_site: str | None = None,
    progress: Progress = print,
) -> backup.DrillResult:
    """Restore the latest backup of the tenant's data into a scratch bucket, verify every
    object against the manifest, record the result and the time it took, remove the scratch."""
    (slug,) = _tenants(fleet, site, [slug])
    _, backup_spec = _specs(fleet, slug)
    source = sites.named(from_site)
    scratch = f"drill-{uuid.uuid4().hex[:12]}"
    sites.primary.s3.create_bucket(Bucket=scratch)
    try:
        result = backup.restore_bucket(source, backup_spec.name, sites.primary, scratch)
        manifest = backup.read_manifest(source, backup_spec.name, result.backup)
        started = time.monotonic()
        wrong = backup.verify_bucket(sites.primary.s3, scratch, manifest)
        result = backup.DrillResult(
            result.tenant,
            result.site,
            result.backup,
            result.objects,
            result.bytes,
            result.seconds + (time.monotonic() - started),
            tuple(sorted({*result.mismatches, *wrong})),
        )
    finally:
        _delete_bucket(sites.primary.s3, scratch)
    backup.record_drill(sites.all(), backup_spec.name, result)
    progress(
        f"{slug}: backup {result.backup} from {result.site}: {result.objects} object(s), "
        f"{result.bytes / 2**20:.1f} MiB restored and "
        f"{'verified' if result.verified else 'NOT verified: ' + ', '.join(result.mismatches)} "
        f"in {result.seconds:.2f}s (recovery time)"
    )
    return result


@dataclass(frozen=True)
class TenantDrill:
    bucket: backup.DrillResult
    databases: tuple[db_backup.DatabaseDrill, ...]

    @property
    def verified(self) -> bool:
        return self.bucket.verified and all(d.verified for d in self.databases)

    @property
    def seconds(self) -> float:
        return self.bucket.seconds + sum(d.seconds for d in self.databases)


def drill_tenant(
    sites: Sites,
    fleet: Fleet,
    site: str,
    slug: str,
    *,
    from_site: str | None = None,
    progress: Progress = print,
) -> TenantDrill:
    """Every data set of the tenant: its bucket, then each database, restored and verified."""
    bucket = drill(sites, fleet, site, slug, from_site=from_site, progress=progress)
    source = sites.named(from_site)
    _, backup_spec = _specs(fleet, slug)
    databases = []
    engines = _engines(fleet, slug)
    if "mariadb" in engines:
        databases.append(db_backup.drill_mariadb(source, database_name(slug), progress))
    if "postgresql" in engines:
        if sites.postgresql is None:
            raise DataServiceError("this site's PostgreSQL is not reachable for drills")
        repo = sites.all().index(source) + 1  # pgBackRest's repository of that site
        databases.append(
            db_backup.drill_postgresql(
                sites.postgresql, source, repo, database_name(slug), progress
            )
        )
    for result in databases:
        backup.record_document(
            sites.all(),
            backup_spec.name,
            {
                **vars(result),
                "mismatches": list(result.mismatches),
                "data_set": f"{result.engine} database {result.database}",
            },
        )
    return TenantDrill(bucket, tuple(databases))


def restore_live(
    sites: Sites,
    fleet: Fleet,
    site: str,
    slug: str,
    *,
    from_site: str | None = None,
    progress: Progress = print,
) -> TenantDrill:
    """Restore the latest backup of every data set of the tenant into its live target. What it
    replaces is kept: the bucket is versioned, so each overwritten object stays as an older
    version (objects written since are hidden by a delete marker); a database's tables move to
    `<database>_replaced_<stamp>` first."""
    (slug,) = _tenants(fleet, site, [slug])
    data, backup_spec = _specs(fleet, slug)
    source = sites.named(from_site)
    result = backup.restore_bucket(source, backup_spec.name, sites.primary, data.name)
    manifest = backup.read_manifest(source, backup_spec.name, result.backup)
    current = backup.current_keys(sites.primary.s3, data.name)
    extra = [k for k in current if k not in manifest.objects]
    for key in extra:  # written after the backup (a ransom note): a delete marker hides it
        sites.primary.s3.delete_object(Bucket=data.name, Key=key)
    progress(
        f"{slug}: {result.objects} object(s) of backup {result.backup} from {result.site} "
        f"written back to {data.name} in {result.seconds:.2f}s, {len(extra)} object(s) "
        "written since hidden; what they replaced is kept as older versions"
    )
    databases = []
    if "mariadb" in _engines(fleet, slug):
        if sites.mariadb is None:
            raise DataServiceError("this site's MariaDB server is not reachable for restores")
        databases.append(
            db_backup.restore_mariadb_live(source, database_name(slug), sites.mariadb, progress)
        )
    if "postgresql" in _engines(fleet, slug):
        if sites.postgresql is None:
            raise DataServiceError("this site's PostgreSQL server is not reachable for restores")
        repo = sites.all().index(source) + 1
        databases.append(
            db_backup.restore_postgresql_live(
                sites.postgresql, source, repo, database_name(slug), progress
            )
        )
    return TenantDrill(result, tuple(databases))


def drills_due(rows: list[StatusRow]) -> list[str]:
    """Tenants with a good backup and a data set whose last verified drill is older than its
    tier allows (or that was never drilled): what the schedule drills next."""
    return sorted(
        {
            r.tenant
            for r in rows
            if r.last_good is not None
            and (r.drill_age is None or r.drill_age > r.policy.drill_every or not r.drill_verified)
        }
    )
