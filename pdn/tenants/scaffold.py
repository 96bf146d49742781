"""`pdn tenant new`: a valid tenant file from a few answers, the region looked up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pdn import regions
from pdn.tenants.model import TenantKind

_PREFIX = {
    TenantKind.PROVINCE: "prov-",
    TenantKind.KABUPATEN: "kab-",
    TenantKind.KOTA: "kota-",
}
_LEVEL = {
    TenantKind.PROVINCE: regions.Level.PROVINCE,
    TenantKind.KABUPATEN: regions.Level.REGENCY,
    TenantKind.KOTA: regions.Level.REGENCY,
}


@dataclass(frozen=True)
class NewTenant:
    kind: TenantKind
    region_code: str
    owner_email: str
    agency_code: str
    slug: str | None = None
    name: str | None = None
    parent: str | None = None
    tier: str = "standard"
    classification: str = "internal"
    site: str = "pdn-local"
    owner_name: str | None = None


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].rstrip("-")


def default_slug(kind: TenantKind, region: regions.Region) -> str | None:
    prefix = _PREFIX.get(kind)
    if prefix is None:
        return None
    bare = re.sub(r"^(Kabupaten|Kota Administrasi|Kota)\s+", "", region.name)
    return slugify(prefix + bare)


def default_name(kind: TenantKind, region: regions.Region) -> str | None:
    if kind is TenantKind.PROVINCE:
        return f"Pemerintah Provinsi {region.name}"
    if kind in (TenantKind.KABUPATEN, TenantKind.KOTA):
        return f"Pemerintah {region.name}"
    return None


def render(answers: NewTenant) -> tuple[str, str]:
    """(slug, YAML text) of a new tenant file; raises RegionCodeError or ValueError."""
    region = regions.require(answers.region_code, _LEVEL.get(answers.kind))
    slug = answers.slug or default_slug(answers.kind, region)
    name = answers.name or default_name(answers.kind, region)
    if slug is None or name is None:
        raise ValueError(f"a {answers.kind.value} needs --slug and --name (they cannot be derived)")
    document = {
        "schema_version": 1,
        "slug": slug,
        "name": name,
        "kind": answers.kind.value,
        "agency_code": answers.agency_code,
        "region_code": region.code,
        **({"parent": answers.parent} if answers.parent else {}),
        "contacts": [
            {
                "name": answers.owner_name or f"Pengelola TI {name}",
                "email": answers.owner_email,
                "role": "owner",
            }
        ],
        "tier": answers.tier,
        "classification": answers.classification,
        "sites": [answers.site],
        "groups": {"admins": [f"{slug}-admins"], "readers": [f"{slug}-readers"]},
        "flows": [{"platform": "sso"}],
    }
    header = f"# {name} ({region.code} {region.path}); written by `pdn tenant new`.\n"
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    # Region codes stay strings in YAML, always.
    body = body.replace(f"region_code: '{region.code}'", f'region_code: "{region.code}"')
    return slug, header + body


def target(directory: Path, slug: str) -> Path:
    return directory / f"{slug}.yaml"
