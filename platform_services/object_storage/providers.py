"""Pulumi dynamic providers for a site's object store (SeaweedFS in the local DC, the same S3 and
IAM APIs as Ceph RGW): buckets and tenant identities as resources with create, read (so
`pulumi preview --refresh` shows a change made behind Pulumi's back), update and delete.

Written as dynamic providers because no Pulumi provider for an on-premises S3 store builds from
the registries here. They run in Pulumi's `pulumi-resource-pulumi-python` process, which
imports this module from the project's venv (the provider is pickled by reference).

The platform's admin key reaches them as secret inputs, so it is encrypted in the state; a
tenant's generated secret key is a secret output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from pdn.dataservices import buckets, identities, quota
from pdn.dataservices.plan import DataServiceError, check_bucket_name
from pdn.dataservices.s3 import Endpoint, client, unreachable

# Inputs every resource of the store carries: where it is and the platform's key (secret).
CONNECTION = ("endpoint", "admin_access_key", "admin_secret_key")
BUCKET_FIELDS = tuple(buckets.BucketSpec.__dataclass_fields__)


def _endpoint(props: dict[str, Any]) -> Endpoint:
    e = props["endpoint"]
    return Endpoint(e["url"], e["ca_pem"], e.get("master", ""), e.get("filer", ""))


def _client(props: dict[str, Any], service: str = "s3") -> Any:
    return client(_endpoint(props), props["admin_access_key"], props["admin_secret_key"], service)


def _guarded(action: str, props: dict[str, Any], call: Any) -> Any:
    """call(), with a store that does not answer (or not over TLS) reported in one line."""
    from botocore.exceptions import ConnectionError as BotoConnectionError  # noqa: PLC0415

    try:
        return call()
    except BotoConnectionError as err:
        problem = unreachable(f"object storage {_endpoint(props).url}", err)
        raise DataServiceError(f"{problem}: is it running (`pdn dc status`)?") from err
    except DataServiceError:
        raise
    except Exception as err:
        raise DataServiceError(f"{action}: {err}") from err


def _spec(props: dict[str, Any]) -> buckets.BucketSpec:
    # Numbers cross Pulumi's wire as floats: back to the spec's types.
    return buckets.BucketSpec(
        name=str(props["name"]),
        object_lock=bool(props["object_lock"]),
        versioning=bool(props["versioning"]),
        noncurrent_days=int(props["noncurrent_days"]),
        lock_mode=str(props["lock_mode"]),
        lock_days=int(props["lock_days"]),
        quota_mib=int(props["quota_mib"]),
    )


class BucketProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        try:
            check_bucket_name(str(news.get("name", "")))
        except DataServiceError as err:
            failures.append(CheckFailure("name", str(err)))
        if news.get("object_lock") and news.get("lock_mode") not in ("COMPLIANCE", "GOVERNANCE"):
            failures.append(CheckFailure("lock_mode", "COMPLIANCE or GOVERNANCE"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in (*BUCKET_FIELDS, *CONNECTION) if olds.get(k) != news.get(k)]
        # A bucket cannot be renamed, and Object Lock cannot be turned off (it is turned on
        # in place: an update).
        replaces = [k for k in changed if k == "name"]
        if olds.get("object_lock") and not news.get("object_lock"):
            replaces.append("object_lock")
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def _apply(self, props: dict[str, Any]) -> None:
        spec = _spec(props)
        _guarded(f"bucket {spec.name}", props, lambda: buckets.ensure_bucket(_client(props), spec))
        if quota.read_quota(_endpoint(props), spec.name) != spec.quota_mib:
            quota.set_quota(_endpoint(props), spec.name, spec.quota_mib)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._apply(props)
        return CreateResult(props["name"], props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._apply(news)
        return UpdateResult(news)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        quota_mib = quota.read_quota(_endpoint(props), id_)
        found = _guarded(
            f"bucket {id_}",
            props,
            lambda: buckets.read_bucket(_client(props), id_, quota_mib or 0),
        )
        if found is None:
            return ReadResult("", {})  # gone: the next up makes it again
        return ReadResult(id_, {**props, **found.as_dict()})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # Tenants' buckets are retained by their component and never reach this; a bucket that
        # does and holds data is kept with an error: deleting agency data is never implicit.
        if not _guarded(
            f"bucket {id_}", props, lambda: buckets.delete_empty_bucket(_client(props), id_)
        ):
            raise DataServiceError(
                f"bucket {id_} holds data and is kept: copy or remove its objects first "
                "(deleting agency data is never implicit)"
            )


class S3UserProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("name", "buckets", *CONNECTION) if olds.get(k) != news.get(k)]
        if not olds.get("access_key_id"):  # the key was removed behind Pulumi's back
            changed.append("access_key_id")
        return DiffResult(
            changes=bool(changed),
            replaces=[k for k in changed if k == "name"],
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        name, wanted = props["name"], sorted(props["buckets"])
        key_id, secret = _guarded(
            f"S3 user {name}",
            props,
            lambda: identities.create_user(_client(props, "iam"), name, wanted),
        )
        return CreateResult(name, {**props, "access_key_id": key_id, "secret_access_key": secret})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        iam = _client(news, "iam")
        name = news["name"]
        outs = {
            **news,
            "access_key_id": olds.get("access_key_id", ""),
            "secret_access_key": olds.get("secret_access_key", ""),
        }

        def converge() -> None:
            state = identities.read_user(iam, name)
            if state is None:
                key_id, secret = identities.create_user(iam, name, sorted(news["buckets"]))
                outs.update(access_key_id=key_id, secret_access_key=secret)
                return
            if state.buckets != tuple(sorted(news["buckets"])):
                identities.put_policy(iam, name, sorted(news["buckets"]))
            if outs["access_key_id"] not in state.access_key_ids:
                key = iam.create_access_key(UserName=name)["AccessKey"]
                outs.update(
                    access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
                )

        _guarded(f"S3 user {name}", news, converge)
        return UpdateResult(outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        state = _guarded(
            f"S3 user {id_}", props, lambda: identities.read_user(_client(props, "iam"), id_)
        )
        if state is None:
            return ReadResult("", {})
        key = props.get("access_key_id", "")
        return ReadResult(
            id_,
            {
                **props,
                "buckets": list(state.buckets),
                "access_key_id": key if key in state.access_key_ids else "",
            },
        )

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        iam = _client(props, "iam")
        _guarded(f"S3 user {id_}", props, lambda: identities.delete_user(iam, id_))


class Bucket(Resource, module="pdn-object-storage", name="Bucket"):
    """A bucket on a site's object store (pdn.dataservices.buckets.BucketSpec's fields)."""

    name: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        connection: Mapping[str, pulumi.Input[Any]],
        spec: buckets.BucketSpec,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(BucketProvider(), resource_name, {**connection, **spec.as_dict()}, opts)


class S3User(Resource, module="pdn-object-storage", name="User"):
    """An identity on a site's object store whose key reaches only `buckets`' objects."""

    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        connection: Mapping[str, pulumi.Input[Any]],
        user: str,
        bucket_names: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            S3UserProvider(),
            resource_name,
            {
                **connection,
                "name": user,
                "buckets": sorted(bucket_names),
                "access_key_id": None,
                "secret_access_key": None,
            },
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["secret_access_key"])
            ),
        )
