"""A tenant's S3 identity, through the store's IAM API: one user per tenant and site, one access
key, and one inline policy that reaches its own buckets' objects and nothing else.

The policy names object and listing actions only: a tenant cannot create, delete or re-policy
buckets, turn versioning off, shorten an Object Lock or touch another tenant's bucket (each is
403, checked on the real store), so its credentials, leaked or held by ransomware, can neither
widen their reach nor remove the platform's protections.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

POLICY_NAME = "pdn-tenant-buckets"
# What an application does with its data: objects, their versions, listings, multipart uploads.
TENANT_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:AbortMultipartUpload",
)


@dataclass(frozen=True)
class UserState:
    """What the store holds for a user: its policy's buckets and its access key ids."""

    name: str
    buckets: tuple[str, ...]
    access_key_ids: tuple[str, ...]


def policy_document(buckets: Sequence[str]) -> dict[str, Any]:
    resources = [arn for b in buckets for arn in (f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*")]
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(TENANT_ACTIONS), "Resource": resources}],
    }


def buckets_of(document: dict[str, Any]) -> tuple[str, ...]:
    """The buckets a policy document reaches, as policy_document wrote them (sorted); anything
    else in it (another action set, a Deny) reads as no bucket, so that it shows as drift."""
    found: set[str] = set()
    for statement in document.get("Statement", []):
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or sorted(actions or []) != sorted(TENANT_ACTIONS):
            return ()
        resources = statement.get("Resource")
        resources = [resources] if isinstance(resources, str) else resources or []
        found.update(r.removeprefix("arn:aws:s3:::").removesuffix("/*") for r in resources)
    return tuple(sorted(found))


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def create_user(iam: Any, name: str, buckets: Sequence[str]) -> tuple[str, str]:
    """Make the user with its policy and one access key; returns (key id, secret). A user of
    that name already there is taken over (a run killed after making it, before the state was
    saved, is run again): its policy is rewritten and its keys replaced by a new one, as no
    one can know a key's secret but whoever made it."""
    try:
        iam.create_user(UserName=name)
    except ClientError as err:
        if _code(err) != "EntityAlreadyExists":
            raise
        for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    put_policy(iam, name, buckets)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def put_policy(iam: Any, name: str, buckets: Sequence[str]) -> None:
    iam.put_user_policy(
        UserName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy_document(buckets))
    )


def read_user(iam: Any, name: str) -> UserState | None:
    """The user as the store has it, or None if it is gone."""
    try:
        iam.get_user(UserName=name)
    except ClientError as err:
        if _code(err) in ("NoSuchEntity", "NoSuchEntityException"):
            return None
        raise
    try:
        raw = iam.get_user_policy(UserName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
        document = json.loads(raw) if isinstance(raw, str) else raw
        buckets = buckets_of(document)
    except ClientError as err:
        if _code(err) not in ("NoSuchEntity", "NoSuchEntityException"):
            raise
        buckets = ()
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    return UserState(name, buckets, tuple(sorted(k["AccessKeyId"] for k in keys)))


def delete_user(iam: Any, name: str) -> None:
    """Remove the user's keys, policy and the user; a user already gone is not an error."""
    state = read_user(iam, name)
    if state is None:
        return
    for key_id in state.access_key_ids:
        iam.delete_access_key(UserName=name, AccessKeyId=key_id)
    try:
        iam.delete_user_policy(UserName=name, PolicyName=POLICY_NAME)
    except ClientError as err:
        if _code(err) not in ("NoSuchEntity", "NoSuchEntityException"):
            raise
    iam.delete_user(UserName=name)
