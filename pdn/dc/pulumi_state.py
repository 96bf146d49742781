"""The platform's Pulumi state in the site's own object store, not on one operator's disk.

One bucket, versioned (every checkpoint Pulumi overwrites stays readable for STATE_KEEP_DAYS:
a state broken by hand or by a bug is put back from its last good version), and one identity
that reaches that bucket and nothing else, its key in an AWS credentials file that only the
DC's owner reads. Made once by `pdn dc up`; the credentials file says it is done.
"""

from __future__ import annotations

import configparser
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pdn.dc.errors import DCError
from pdn.dc.object_storage import ports_of
from pdn.dc.settings import DCSettings
from pdn.files import private_dir, write_private
from pdn.state.backends import S3State

BUCKET = "pdn-pulumi-state"
USER = "pdn-pulumi-state"
PROFILE = "pdn-pulumi-state"
STATE_KEEP_DAYS = 30


def credentials_file(settings: DCSettings) -> Path:
    return settings.root / "secrets" / "pulumi-state.credentials"


def ensure(settings: DCSettings, s3: Callable[[], Any], iam: Callable[[], Any]) -> bool:
    """Make the bucket and the identity unless done; returns whether it made them. Clients
    are made only when there is work (boto3 is slow to start)."""
    from pdn.dataservices.buckets import BucketSpec, ensure_bucket  # noqa: PLC0415
    from pdn.dataservices.identities import create_user  # noqa: PLC0415

    path = credentials_file(settings)
    if path.is_file():
        return False
    ensure_bucket(s3(), BucketSpec(BUCKET, object_lock=False, noncurrent_days=STATE_KEEP_DAYS))
    key_id, secret = create_user(iam(), USER, [BUCKET])
    parser = configparser.ConfigParser()
    parser[PROFILE] = {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
    text = io.StringIO()
    parser.write(text)
    private_dir(path.parent)
    write_private(path, text.getvalue())
    return True


def backend(settings: DCSettings, ca: Path, *, made: bool = True) -> S3State:
    """The state backend of the site's local DC (made by `pdn dc up`; made=False: where it
    will be, for `pdn env` before the DC's first start)."""
    path = credentials_file(settings)
    if made and not path.is_file():
        raise DCError(
            f"the local DC {settings.site_code} has no Pulumi state bucket yet ({path} is "
            "missing): run `pdn dc up` first (or set PDN_STATE_BACKEND=file to keep the state "
            "on this machine's disk)"
        )
    return S3State(
        BUCKET,
        f"https://{settings.listen_host}:{ports_of(settings).s3_https}",
        ca_file=ca,
        credentials_file=path,
        profile=PROFILE,
    )
