"""What a tenant gets from the object store, and how its data is backed up, from its tenant file.

Pure data, checked when it is made: the Pulumi components, `pdn backup` and `pdn restore` read
it. Every tier keeps a copy at a second PDN site and an immutable (object-locked) copy: in June
2024 only ~2% of PDNS-2's data had a copy anywhere else, and ransomware encrypts what it can
reach, so a backup an agency's own credentials could delete is not one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pdn.dataservices.errors import DataServiceError
from pdn.tenants.model import Tenant, Tier

__all__ = ["DataServiceError"]


class LockMode(StrEnum):
    # COMPLIANCE: no one, not even the platform, shortens it; GOVERNANCE: a bypass can.
    COMPLIANCE = "COMPLIANCE"
    GOVERNANCE = "GOVERNANCE"


@dataclass(frozen=True)
class BackupPolicy:
    every: timedelta  # how often a backup is taken
    keep_days: int  # how long backups are kept
    lock_mode: LockMode
    lock_days: int  # each backup object is undeletable this long
    second_site: bool  # a copy at another PDN site
    drill_every: timedelta  # a restore drill at least this often (compliance PDN-BACKUP-2)

    @property
    def stale_after(self) -> timedelta:
        """A last good backup older than this is reported overdue (one missed run allowed)."""
        return self.every * 2


TIER_BACKUP: dict[Tier, BackupPolicy] = {
    Tier.VITAL: BackupPolicy(
        timedelta(hours=1), 35, LockMode.COMPLIANCE, 35, True, drill_every=timedelta(days=7)
    ),
    Tier.STANDARD: BackupPolicy(
        timedelta(hours=6), 30, LockMode.COMPLIANCE, 14, True, drill_every=timedelta(days=30)
    ),
    Tier.BATCH: BackupPolicy(
        timedelta(days=1), 14, LockMode.GOVERNANCE, 7, True, drill_every=timedelta(days=90)
    ),
}

# S3 bucket names (the rules AWS, Ceph RGW and SeaweedFS share), without dots (a dotted name
# breaks virtual-hosted TLS, and so an IP-like name cannot occur): 3-63 lowercase letters,
# digits and hyphens, a letter or digit at each end, not the prefixes and suffixes S3 reserves.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_RESERVED = (("xn--", "sthree-"), ("-s3alias", "--ol-s3"))


def check_bucket_name(name: str) -> str:
    """name, or DataServiceError saying which rule it breaks."""
    if not _BUCKET.match(name):
        raise DataServiceError(
            f"bucket name {name!r}: 3-63 lowercase letters, digits and hyphens (no dots), a "
            "letter or digit at each end"
        )
    prefixes, suffixes = _RESERVED
    if name.startswith(prefixes) or name.endswith(suffixes):
        raise DataServiceError(f"bucket name {name!r} uses a prefix or suffix S3 reserves")
    return name


@dataclass(frozen=True)
class TenantStorage:
    """A tenant's share of one site's object store."""

    data_bucket: str  # versioned; old versions expire after the tier's keep_days
    backup_bucket: str  # object-locked from creation (it cannot be enabled later)
    quota_gib: int
    backup: BackupPolicy


def backup_policy(tier: Tier) -> BackupPolicy:
    try:
        return TIER_BACKUP[tier]
    except KeyError:
        raise DataServiceError(
            f"tier {tier.value!r} has no backup policy: add it to TIER_BACKUP in "
            "pdn/dataservices/plan.py (every tier's data is backed up)"
        ) from None


def storage_of(tenant: Tenant) -> TenantStorage:
    return TenantStorage(
        data_bucket=check_bucket_name(f"{tenant.slug}-data"),
        backup_bucket=check_bucket_name(f"{tenant.slug}-backup"),
        quota_gib=tenant.effective_quota.object_storage_gib,
        backup=backup_policy(tenant.tier),
    )
