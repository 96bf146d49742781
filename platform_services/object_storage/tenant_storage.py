"""`pdn:dataservices:TenantStorage`: one tenant's share of a site's object store, from its plan
(pdn.dataservices.plan): its data and backup buckets and its own S3 identity.

The buckets are retained when the tenant is removed (its grants and key go, its data stays:
deleting agency data is never implicit); the identity reaches only the data bucket's objects.
The backup bucket is written by the platform's backup jobs, not with the tenant's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from pdn.dataservices.buckets import specs_of
from pdn.dataservices.plan import TenantStorage as StoragePlan
from platform_services.object_storage.providers import Bucket, S3User

TYPE = "pdn:dataservices:TenantStorage"


@dataclass(frozen=True)
class TenantStorageArgs:
    tenant: str  # its slug
    plan: StoragePlan
    # The store's endpoint (url, ca_pem, master, filer) and the platform's admin key (secret
    # inputs): admin_access_key, admin_secret_key.
    connection: Mapping[str, pulumi.Input[Any]]


def user_name(tenant: str) -> str:
    return f"tenant-{tenant}"


class TenantStorage(pulumi.ComponentResource):
    data_bucket: pulumi.Output[str]
    backup_bucket: pulumi.Output[str]
    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]

    def __init__(
        self, name: str, args: TenantStorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        data_spec, backup_spec = specs_of(args.plan)
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        data = Bucket(f"{name}-data", args.connection, data_spec, kept)
        backup = Bucket(f"{name}-backup", args.connection, backup_spec, kept)
        user = S3User(
            f"{name}-s3-user",
            args.connection,
            user_name(args.tenant),
            [data_spec.name],
            pulumi.ResourceOptions(parent=self, depends_on=[data]),
        )
        self.data_bucket = data.name
        self.backup_bucket = backup.name
        self.access_key_id = user.access_key_id
        self.secret_access_key = pulumi.Output.secret(user.secret_access_key)
        self.register_outputs(
            {
                "data_bucket": self.data_bucket,
                "backup_bucket": self.backup_bucket,
                "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
            }
        )
