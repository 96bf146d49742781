"""A tenant's share of the object store under Pulumi mocks, and the providers' decisions (what
is replaced, what is updated, what counts as drift) without a store."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from pdn.dataservices import identities
from pdn.dataservices.buckets import BucketSpec, specs_of
from pdn.dataservices.plan import DataServiceError, storage_of
from pdn.dataservices.s3 import Endpoint
from pdn.inventory import all_sites
from pdn.tenants.fleet import load_fleet, tenant_files
from platform_services.object_storage.providers import BucketProvider, S3UserProvider
from platform_services.object_storage.tenant_storage import TenantStorage, TenantStorageArgs
from tests.unit.conftest import RecordingMocks, run_program

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
ENDPOINT = {"url": "https://127.0.0.1:18334", "ca_pem": CA, "master": "", "filer": ""}
FLEET = load_fleet(tenant_files(), all_sites())


def _connection() -> dict[str, Any]:
    return {
        "endpoint": ENDPOINT,
        "admin_access_key": pulumi.Output.secret("AKADMIN"),
        "admin_secret_key": pulumi.Output.secret("admin-secret"),
    }


def test_a_tenant_gets_two_buckets_and_a_key_for_its_data_bucket_only(
    pulumi_mocks: RecordingMocks,
) -> None:
    tenant = FLEET.tenants["kemendagri"]
    plan = storage_of(tenant)

    def program() -> dict[str, Any]:
        share = TenantStorage(
            "kemendagri-storage", TenantStorageArgs("kemendagri", plan, _connection())
        )
        return {"data": share.data_bucket, "backup": share.backup_bucket}

    out = run_program(program)
    assert out == {"data": "kemendagri-data", "backup": "kemendagri-backup"}
    made = {r.name: r for r in pulumi_mocks.resources}
    data = made["kemendagri-storage-data"].inputs
    backup = made["kemendagri-storage-backup"].inputs
    user = made["kemendagri-storage-s3-user"].inputs
    assert made["kemendagri-storage-data"].typ == "pulumi-python:dynamic/pdn-object-storage:Bucket"
    assert (data["object_lock"], backup["object_lock"]) == (True, True)
    assert data["lock_mode"] == plan.backup.lock_mode.value
    assert data["lock_days"] == plan.backup.lock_days
    assert data["quota_mib"] == tenant.effective_quota.object_storage_gib * 1024
    assert backup["lock_mode"] == plan.backup.lock_mode.value
    assert backup["lock_days"] == plan.backup.lock_days
    assert data["noncurrent_days"] == plan.backup.keep_days
    assert user["name"] == "tenant-kemendagri"
    assert user["buckets"] == ["kemendagri-data"]  # not the backup bucket


def _bucket(**changes: Any) -> dict[str, Any]:
    spec = BucketSpec("kab-bekasi-data", object_lock=False, noncurrent_days=30, quota_mib=1024)
    return {"endpoint": ENDPOINT, "admin_access_key": "a", "admin_secret_key": "s"} | {
        **spec.as_dict(),
        **changes,
    }


def test_a_bucket_is_replaced_only_for_its_name_or_object_lock_turned_off() -> None:
    provider = BucketProvider()
    assert not provider.diff("b", _bucket(), _bucket()).changes
    quota = provider.diff("b", _bucket(), _bucket(quota_mib=2048))
    assert quota.changes
    assert not quota.replaces
    # Numbers come back from Pulumi's wire as floats: not a change.
    assert not provider.diff("b", _bucket(noncurrent_days=30.0), _bucket()).changes
    locked = _bucket(object_lock=True, lock_mode="COMPLIANCE", lock_days=14)
    assert provider.diff("b", _bucket(), locked).changes  # turned on in place
    assert not provider.diff("b", _bucket(), locked).replaces
    assert provider.diff("b", locked, _bucket()).replaces == ["object_lock"]
    assert provider.diff("b", _bucket(), _bucket(name="other-data")).replaces == ["name"]


def test_a_bad_bucket_name_fails_its_check() -> None:
    result = BucketProvider().check({}, _bucket(name="Kab_Bekasi.data"))
    assert [f.property for f in result.failures] == ["name"]


def test_a_key_removed_behind_pulumis_back_is_a_change() -> None:
    provider = S3UserProvider()
    olds = {"name": "tenant-a", "buckets": ["a-data"], "access_key_id": "AK1"}
    assert not provider.diff("u", olds, {**olds}).changes
    assert provider.diff("u", {**olds, "access_key_id": ""}, olds).changes
    assert provider.diff("u", olds, {**olds, "buckets": ["a-data", "b-data"]}).changes


def test_the_policy_reaches_only_the_named_buckets_objects() -> None:
    document = identities.policy_document(["a-data"])
    (statement,) = document["Statement"]
    assert statement["Resource"] == ["arn:aws:s3:::a-data", "arn:aws:s3:::a-data/*"]
    assert not any("Bucket" in a and "List" not in a for a in statement["Action"])
    assert "s3:*" not in statement["Action"]
    assert identities.buckets_of(document) == ("a-data",)
    # A policy widened by hand (any action, or a Deny) reads as no bucket: drift.
    widened = {**document, "Statement": [{**statement, "Action": ["s3:*"]}]}
    assert identities.buckets_of(widened) == ()


def test_the_store_is_reached_over_tls_with_a_pem_ca_only() -> None:
    with pytest.raises(DataServiceError, match="only https"):
        Endpoint("http://127.0.0.1:18333", CA)
    with pytest.raises(DataServiceError, match="not a PEM"):
        Endpoint("https://127.0.0.1:18334", "/etc/ssl/ca.crt")


def test_every_tier_plans_both_buckets() -> None:
    for tenant in FLEET.tenants.values():
        data, backup = specs_of(storage_of(tenant))
        assert data.versioning
        assert backup.versioning
        assert backup.object_lock
        assert backup.lock_days > 0


def test_database_names_come_from_the_slug_and_are_checked() -> None:
    from pdn.dataservices.databases import database_name, owner_name  # noqa: PLC0415

    assert database_name("kab-bekasi-rsud") == "kab_bekasi_rsud"
    assert owner_name("postgresql", "kab_bekasi_rsud") == "kab_bekasi_rsud_owner"
    assert owner_name("mariadb", "kab_bekasi_rsud") == "kab_bekasi_rsud"
    with pytest.raises(DataServiceError, match="database name"):
        database_name("9-kota")


def test_a_password_never_reaches_the_server_in_plaintext() -> None:
    from pdn.dataservices.databases import native_password_hash, scram_verifier  # noqa: PLC0415

    verifier = scram_verifier("rahasia-negara")
    assert verifier.startswith("SCRAM-SHA-256$4096:")
    assert "rahasia" not in verifier
    assert scram_verifier("rahasia-negara") != verifier  # salted
    # MySQL's documented example: PASSWORD('mypass').
    assert native_password_hash("mypass") == "*6C8989366EAF75BB670AD8EA7A7FC1176A95CEF4"


def test_a_database_changed_by_hand_is_a_change_and_a_new_engine_replaces() -> None:
    from platform_services.databases.providers import DatabaseProvider  # noqa: PLC0415

    server = {"engine": "postgresql", "host": "127.0.0.1", "port": 15432, "ca_pem": CA}
    olds = {"server": server, "admin_user": "a", "admin_password": "p", "database": "x"}
    provider = DatabaseProvider()
    assert not provider.diff("x", {**olds, "in_sync": True}, olds).changes
    drifted = provider.diff("x", {**olds, "in_sync": False}, olds)
    assert drifted.changes
    assert not drifted.replaces
    moved = provider.diff("x", olds, {**olds, "server": {**server, "engine": "mariadb"}})
    assert moved.replaces == ["database"]
