"""Each tenant's share of the object store and its backup policy, from its tenant file."""

from __future__ import annotations

import pytest

from pdn.dataservices import plan
from pdn.inventory import all_sites
from pdn.tenants.fleet import load_fleet, tenant_files
from pdn.tenants.model import Tier


def test_every_tier_is_backed_up_off_site_and_immutably() -> None:
    for tier in Tier:
        policy = plan.backup_policy(tier)
        assert policy.second_site, tier
        assert 0 < policy.lock_days <= policy.keep_days, tier
        assert policy.stale_after > policy.every, tier


def test_a_tier_without_a_backup_policy_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "TIER_BACKUP", {Tier.VITAL: plan.TIER_BACKUP[Tier.VITAL]})
    with pytest.raises(plan.DataServiceError, match="tier 'batch' has no backup policy"):
        plan.backup_policy(Tier.BATCH)


def test_every_example_tenant_gets_its_own_valid_buckets() -> None:
    fleet = load_fleet(tenant_files(), all_sites())
    shares = {slug: plan.storage_of(tenant) for slug, tenant in fleet.tenants.items()}
    names = [b for s in shares.values() for b in (s.data_bucket, s.backup_bucket)]
    assert len(names) == len(set(names)) == 2 * len(fleet.tenants)
    vital = shares["kab-bekasi-rsud"]  # the regency hospital
    assert vital.backup == plan.TIER_BACKUP[Tier.VITAL]
    assert vital.backup.lock_mode is plan.LockMode.COMPLIANCE
    assert vital.quota_gib == fleet.tenants["kab-bekasi-rsud"].effective_quota.object_storage_gib


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("ab", "3-63"),
        ("Dinas-Data", "lowercase"),
        ("-data", "each end"),
        ("data_set", "hyphens"),
        ("x" * 64, "3-63"),
        ("192.168.10.1", "no dots"),
        ("xn--pdn-data", "reserves"),
        ("pdn-data-s3alias", "reserves"),
    ],
)
def test_a_bucket_name_that_breaks_the_rules_says_which(name: str, says: str) -> None:
    with pytest.raises(plan.DataServiceError, match=says):
        plan.check_bucket_name(name)
