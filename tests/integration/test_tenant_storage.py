"""Each example tenant's share of the real object store, made by the real engine through the
S3 dynamic providers: its buckets as planned, a key that reaches its own data and nothing else
(the matrix for every pair, printed), drift put right by `--refresh`, no secret in plaintext
anywhere pdn writes, and a removed tenant's data kept while its key goes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pdn.dataservices import buckets, identities, quota
from pdn.dataservices.plan import storage_of
from pdn.dataservices.s3 import Endpoint, client
from pdn.dc import object_storage
from pdn.tenants.rollout import existing_shards, shard_stack
from platform_services.object_storage.tenant_storage import user_name
from tests.integration.conftest import SITE, Onboarded, plaintext_leaks

pytestmark = pytest.mark.integration


def _shares(onboarded: Onboarded) -> dict[str, tuple[dict[str, str], str]]:
    """slug -> (its object storage output, its secret key), from the shard stacks' outputs."""
    found = {}
    for shard in existing_shards(onboarded.env, SITE):
        outputs = shard_stack(onboarded.env, SITE, shard).outputs(show_secrets=True)
        for slug, share in (outputs.get("object_storage") or {}).items():
            found[slug] = (share, outputs["object_storage_secret_keys"][slug])
    return found


def _admin(onboarded: Onboarded, service: str = "s3") -> Any:
    access = onboarded.dc.object_storage_admin()
    return client(_endpoint(onboarded), access.access_key, access.secret_key, service)


def _endpoint(onboarded: Onboarded) -> Endpoint:
    return onboarded.dc.object_storage_endpoint()


def test_every_tenant_has_its_buckets_as_planned(onboarded: Onboarded) -> None:
    fleet = onboarded.fleet()
    on_site = sorted(s for s, t in fleet.tenants.items() if SITE in t.sites)
    assert sorted(_shares(onboarded)) == on_site
    s3 = _admin(onboarded)
    for slug in on_site:
        wanted_data, wanted_backup = buckets.specs_of(storage_of(fleet.tenants[slug]))
        for wanted in (wanted_data, wanted_backup):
            quota_mib = quota.read_quota(_endpoint(onboarded), wanted.name)
            assert buckets.read_bucket(s3, wanted.name, quota_mib or 0) == wanted, slug


def _attempts(s3: Any, data: str, backup: str) -> dict[str, bool | str]:
    calls: dict[str, Callable[[], object]] = {
        "put": lambda: s3.put_object(Bucket=data, Key="probe.txt", Body=b"probe"),
        "get": lambda: s3.get_object(Bucket=data, Key="probe.txt"),
        "list": lambda: s3.list_objects_v2(Bucket=data),
        "delete bucket": lambda: s3.delete_bucket(Bucket=data),
        "versioning off": lambda: s3.put_bucket_versioning(
            Bucket=data, VersioningConfiguration={"Status": "Suspended"}
        ),
        "write backup": lambda: s3.put_object(Bucket=backup, Key="x", Body=b"x"),
    }
    allowed: dict[str, bool | str] = {}
    for name, call in calls.items():
        try:
            call()
            allowed[name] = True
        except ClientError as err:
            status = err.response["ResponseMetadata"]["HTTPStatusCode"]
            allowed[name] = False if status in (403, 409) else f"HTTP {status}: {err}"
    return allowed


def test_isolation_matrix_on_the_real_store(onboarded: Onboarded) -> None:
    shares = _shares(onboarded)
    admin = _admin(onboarded)
    for share, _ in shares.values():  # every bucket holds an object to read
        admin.put_object(Bucket=share["data_bucket"], Key="probe.txt", Body=b"probe")
    lines = []
    for a, b in itertools.product(sorted(shares), repeat=2):
        share_a, secret_a = shares[a]
        share_b, _ = shares[b]
        s3 = client(_endpoint(onboarded), share_a["access_key_id"], secret_a)
        allowed = _attempts(s3, share_b["data_bucket"], share_b["backup_bucket"])
        lines.append(
            f"{a:>24} -> {b:<24} "
            + " ".join(f"{k}={'Y' if v else '-'}" for k, v in allowed.items())
        )
        own = {"put": True, "get": True, "list": True}
        expected = {k: a == b and own.get(k, False) for k in allowed}
        assert allowed == expected, (a, b)
    print("\nS3 isolation matrix (Y: allowed):\n" + "\n".join(lines))


def test_drift_shows_in_preview_and_refresh_puts_it_right(onboarded: Onboarded) -> None:
    iam = _admin(onboarded, "iam")
    identities.delete_user(iam, user_name("kemendagri"))
    admin = _admin(onboarded)
    # A locked bucket's versioning cannot be suspended, not even with the platform's key.
    with pytest.raises(ClientError, match="InvalidBucketState"):
        admin.put_bucket_versioning(
            Bucket="kab-bekasi-data", VersioningConfiguration={"Status": "Suspended"}
        )
    # Its old versions' retention shortened by hand, behind Pulumi's back.
    kept = buckets.read_bucket(admin, "kab-bekasi-data")
    assert kept is not None
    admin.put_bucket_lifecycle_configuration(
        Bucket="kab-bekasi-data", LifecycleConfiguration={"Rules": buckets._lifecycle(1)}
    )
    shown = "\n".join(
        shard_stack(onboarded.env, SITE, shard).preview(refresh=True)
        for shard in sorted(existing_shards(onboarded.env, SITE))
    )
    assert "kemendagri-storage-s3-user create" in shown
    assert "kab-bekasi-storage-data update" in shown
    onboarded.roll_out(refresh=True)
    assert identities.read_user(iam, user_name("kemendagri")) is not None
    found = buckets.read_bucket(admin, "kab-bekasi-data")
    assert found is not None
    assert found.noncurrent_days == kept.noncurrent_days  # put right
    share, secret = _shares(onboarded)["kemendagri"]  # its new key works
    s3 = client(_endpoint(onboarded), share["access_key_id"], secret)
    s3.put_object(Bucket="kemendagri-data", Key="after-drift.txt", Body=b"ok")
    assert all(set(c) == {"same"} for c in onboarded.roll_out().values())


def test_no_generated_secret_is_in_plaintext_anywhere(onboarded: Onboarded) -> None:
    """The admin key and every tenant's key: not in the state (its backups and history), the
    stack config, the repo, nor the DC's logs."""
    secrets = [onboarded.dc.object_storage_admin().secret_key]
    secrets += [secret for _, secret in _shares(onboarded).values()]
    assert len(secrets) > 1
    identities_files = {
        object_storage.file_paths(onboarded.dc.settings, store)[1]
        for store in object_storage.STORES
    }
    # Each store's own key file (owner-only) is its home.
    leaks, searched = plaintext_leaks(onboarded, secrets, homes=identities_files)
    print(f"\nsearched {searched} files for {len(secrets)} secrets")
    assert leaks == []


def test_removing_a_tenant_keeps_its_data_and_removes_its_key(
    onboarded: Onboarded, capsys: pytest.CaptureFixture[str]
) -> None:
    share, secret = _shares(onboarded)["kab-bekasi-rsud"]
    s3 = client(_endpoint(onboarded), share["access_key_id"], secret)
    s3.put_object(Bucket="kab-bekasi-rsud-data", Key="rekam-medis.csv", Body=b"pasien;1\n")
    removed = onboarded.tenants_dir / "kab-bekasi-rsud.yaml"
    kept = removed.read_bytes()
    removed.unlink()
    try:
        onboarded.roll_out()
        said = capsys.readouterr().out
        assert "kab-bekasi-rsud removed" in said
        assert "kab-bekasi-rsud-data" in said
        assert identities.read_user(_admin(onboarded, "iam"), user_name("kab-bekasi-rsud")) is None
        got = _admin(onboarded).get_object(Bucket="kab-bekasi-rsud-data", Key="rekam-medis.csv")
        assert got["Body"].read() == b"pasien;1\n"
        with pytest.raises(ClientError):
            s3.get_object(Bucket="kab-bekasi-rsud-data", Key="rekam-medis.csv")
    finally:
        removed.write_bytes(kept)
        onboarded.roll_out()
    share, secret = _shares(onboarded)["kab-bekasi-rsud"]  # back, with a new key, same data
    again = client(_endpoint(onboarded), share["access_key_id"], secret)
    body = again.get_object(Bucket="kab-bekasi-rsud-data", Key="rekam-medis.csv")["Body"].read()
    assert body == b"pasien;1\n"
