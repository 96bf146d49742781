#!/usr/bin/python
"""Ansible module: mirror a staged directory tree into a bucket of the tenant's object storage (or,
with direction download, the bucket's objects back into the tree, as they were: a rollback),
run on the migration controller with the tenant's own key. Each file is an object under the
prefix, its path as its key; what object storage has no place for is kept as object metadata:
mode, owner and group (numbers), modification time, the content's SHA-256, and for a symlink
its target (the object is then empty). An object already equal (by that metadata) is left, so a
second run changes nothing; objects under the prefix the tree no longer has are deleted (the
bucket's versioning keeps them). Check mode counts what it would change.
"""

from __future__ import annotations

import hashlib
import os
import stat

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: object_sync
short_description: Mirror a directory tree into an S3 bucket, with POSIX metadata
options:
  source: {description: The local directory., type: str, required: true}
  direction: {description: upload (tree to bucket) or download., type: str, default: upload}
  endpoint: {description: The S3 endpoint URL., type: str, required: true}
  bucket: {description: The bucket., type: str, required: true}
  prefix: {description: Key prefix, without a trailing slash., type: str, required: true}
  access_key_id: {description: The tenant's key id., type: str, required: true}
  secret_access_key: {description: Its secret., type: str, required: true}
  ca: {description: CA bundle the endpoint's certificate is checked against., type: str}
author: pdn
"""


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def entries(source):
    """key (relative path) -> (metadata, local path or None for a symlink)."""
    found = {}
    for root, dirs, files in os.walk(source):
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode) and not stat.S_ISLNK(st.st_mode):
                continue
            meta = {
                "mode": f"{stat.S_IMODE(st.st_mode):04o}",
                "uid": str(st.st_uid),
                "gid": str(st.st_gid),
                "mtime": str(int(st.st_mtime)),
            }
            if stat.S_ISLNK(st.st_mode):
                meta["symlink"] = os.readlink(path).encode("unicode_escape").decode("ascii")
                found[os.path.relpath(path, source)] = (meta, None)
            elif stat.S_ISREG(st.st_mode):
                meta["sha256"] = _sha256(path)
                found[os.path.relpath(path, source)] = (meta, path)
    return found


def download(module, s3, *, bucket, prefix, root, present):
    """The bucket's objects under prefix as files (and symlinks) of root, with their mode,
    owner, group and time; files root has and the bucket not are removed."""
    have = entries(root) if os.path.isdir(root) else {}
    written, removed = [], []
    wanted = set()
    for key in sorted(present):
        rel = key[len(prefix) :]
        wanted.add(rel)
        meta = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
        if rel in have and have[rel][0] == meta:
            continue
        written.append(rel)
        if module.check_mode:
            continue
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        if "symlink" in meta:
            os.symlink(meta["symlink"].encode("ascii").decode("unicode_escape"), path)
        else:
            s3.download_file(bucket, key, path)
            os.chmod(path, int(meta["mode"], 8))
        os.lchown(path, int(meta["uid"]), int(meta["gid"]))
        if "symlink" not in meta:
            os.utime(path, (int(meta["mtime"]), int(meta["mtime"])))
    for rel in sorted(set(have) - wanted):
        removed.append(rel)
        if not module.check_mode:
            os.unlink(os.path.join(root, rel))
    return {"changed": bool(written or removed), "written": written[:200], "removed": removed[:200]}


def main():
    module = AnsibleModule(
        argument_spec={
            "source": {"type": "str", "required": True},
            "endpoint": {"type": "str", "required": True},
            "bucket": {"type": "str", "required": True},
            "prefix": {"type": "str", "required": True},
            "access_key_id": {"type": "str", "required": True},
            "secret_access_key": {"type": "str", "required": True, "no_log": True},
            "ca": {"type": "str"},
            "direction": {"type": "str", "default": "upload", "choices": ["upload", "download"]},
        },
        supports_check_mode=True,
    )
    import boto3  # noqa: PLC0415 (the controller's: pdn's environment)
    from botocore.config import Config  # noqa: PLC0415

    p = module.params
    s3 = boto3.client(
        "s3",
        endpoint_url=p["endpoint"],
        aws_access_key_id=p["access_key_id"],
        aws_secret_access_key=p["secret_access_key"],
        region_name="us-east-1",
        verify=p["ca"] or True,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5}),
    )
    prefix = p["prefix"].rstrip("/") + "/"
    wanted = entries(p["source"])
    present = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=p["bucket"], Prefix=prefix):
        for item in page.get("Contents", []):
            present[item["Key"]] = item
    if p["direction"] == "download":
        found = download(
            module, s3, bucket=p["bucket"], prefix=prefix, root=p["source"], present=present
        )
        module.exit_json(**found)
    put, deleted = [], []
    for rel, (meta, path) in sorted(wanted.items()):
        key = prefix + rel
        if key in present:
            head = s3.head_object(Bucket=p["bucket"], Key=key)
            if head.get("Metadata", {}) == meta:
                continue
        put.append(rel)
        if module.check_mode:
            continue
        if path is None:
            s3.put_object(Bucket=p["bucket"], Key=key, Body=b"", Metadata=meta)
        else:
            with open(path, "rb") as body:
                s3.put_object(Bucket=p["bucket"], Key=key, Body=body, Metadata=meta)
    for key in sorted(set(present) - {prefix + rel for rel in wanted}):
        deleted.append(key)
        if not module.check_mode:
            s3.delete_object(Bucket=p["bucket"], Key=key)
    module.exit_json(
        changed=bool(put or deleted), put=put[:200], deleted=deleted[:200], objects=len(wanted)
    )


if __name__ == "__main__":
    main()
