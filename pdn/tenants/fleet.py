"""The fleet: every tenant file checked against the others, the region list and the sites.

`load_fleet` reads every file, collects every problem (per file, then across files) and raises
one TenantError listing them all, or returns the fleet. Bad input changes nothing: this runs
before any stack is touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pdn import regions
from pdn.documents import MAX_BYTES, Located
from pdn.inventory import ServerRole, Site
from pdn.tenants.errors import Problem, TenantError
from pdn.tenants.loader import field_name, load_tenant
from pdn.tenants.model import Classification, Tenant, TenantFlow, TenantKind
from pdn.tenants.parsed import ParsedFiles

TENANTS_DIR = Path(__file__).resolve().parent.parent.parent / "tenants"

# The highest classification a site may hold, by its tier (PDN baseline).
SITE_TIER_MAX = {
    "tier-4": Classification.SECRET,
    "tier-3": Classification.CONFIDENTIAL,
    "local": Classification.CONFIDENTIAL,
}
# Quotas may promise more CPU than a site has (not all tenants peak together); memory and
# storage are promised only as far as they exist.
CPU_OVERCOMMIT = 4
MAX_PODS_PER_NODE = 110

_At = Callable[[Path, Located, tuple[str | int, ...], str], None]


def _chain(slug: str, by_slug: Mapping[str, Tenant]) -> list[str]:
    """slug, its parent, its parent's parent, … (stopping at an unknown slug or a repeat)."""
    chain: list[str] = []
    cursor = by_slug.get(slug)
    while cursor is not None and cursor.slug not in chain:
        chain.append(cursor.slug)
        cursor = by_slug.get(cursor.parent) if cursor.parent else None
    return chain


@dataclass(frozen=True)
class Fleet:
    tenants: dict[str, Tenant]  # by slug, sorted

    def units(self, slug: str) -> list[str]:
        """Every tenant below slug (units, their units, …)."""
        below = [t.slug for t in self.tenants.values() if t.parent == slug]
        return below + [u for child in below for u in self.units(child)]

    def ancestors(self, slug: str) -> list[str]:
        parent = self.tenants[slug].parent
        return _chain(parent, self.tenants) if parent else []


def tenant_files(directory: Path = TENANTS_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_fleet(
    paths: Iterable[Path], sites: Mapping[str, Site], *, parsed: ParsedFiles | None = None
) -> Fleet:
    """Every tenant, or TenantError listing every problem in every file. Files parsed cleanly
    before with the same bytes are taken from `parsed` (default: pdn's cache of them); the
    checks across files always run."""
    problems: list[Problem] = []
    loaded: list[tuple[Path, Tenant, Located]] = []
    kept = ParsedFiles() if parsed is None else parsed
    for path in paths:
        raw = _bytes(path)
        hit = kept.get(raw) if raw is not None else None
        if hit is not None:
            loaded.append((path, *hit))
            continue
        tenant, located, found = load_tenant(path)
        problems += found
        if tenant is not None and located is not None:
            loaded.append((path, tenant, located))
            if raw is not None and not found:
                kept.put(raw, (tenant, located))
    kept.save()
    problems += _across(loaded, sites)
    if problems:
        raise TenantError(problems)
    ordered = sorted(loaded, key=lambda item: item[1].slug)
    return Fleet({t.slug: t for _, t, _ in ordered})


def _bytes(path: Path) -> bytes | None:
    """The file's bytes, if it is one a tenant file can be (else the loader says why)."""
    try:
        return path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except OSError:
        return None


def _across(loaded: list[tuple[Path, Tenant, Located]], sites: Mapping[str, Site]) -> list[Problem]:
    problems: list[Problem] = []
    by_slug: dict[str, Tenant] = {}

    def at(path: Path, located: Located, where: tuple[str | int, ...], message: str) -> None:
        line, column = located.where(where)
        problems.append(Problem(path, line, column, field_name(where), message))

    agency_codes = Counter(t.agency_code for _, t, _ in loaded)
    files_of: dict[str, list[Path]] = {}
    for path, tenant, _ in loaded:
        files_of.setdefault(tenant.slug, []).append(path)
    for path, tenant, located in loaded:
        if path.name != f"{tenant.slug}.yaml":
            at(
                path,
                located,
                ("slug",),
                f"the file must be named {tenant.slug}.yaml (the slug is stable)",
            )
        others = [p.name for p in files_of[tenant.slug] if p != path]
        if others:
            at(path, located, ("slug",), f"{tenant.slug!r} is also the slug of {', '.join(others)}")
        by_slug.setdefault(tenant.slug, tenant)
        if agency_codes[tenant.agency_code] > 1:
            at(
                path,
                located,
                ("agency_code",),
                f"{tenant.agency_code!r} is the agency code of another tenant too",
            )
        _check_region(tenant, path, located, at)
        for index, site in enumerate(tenant.sites):
            if site not in sites:
                at(
                    path,
                    located,
                    ("sites", index),
                    f"no site {site!r}; known sites: {', '.join(sorted(sites))}",
                )
                continue
            allowed = SITE_TIER_MAX[sites[site].tier]
            if tenant.classification.rank > allowed.rank:
                at(
                    path,
                    located,
                    ("classification",),
                    f"{tenant.classification.value!r} data may not be held at {site} "
                    f"({sites[site].tier}: at most {allowed.value!r}); choose another site",
                )
    _check_groups(loaded, at)
    for path, tenant, located in loaded:
        if by_slug.get(tenant.slug) is not tenant:
            continue
        _check_hierarchy(tenant, by_slug, path, located, at)
        _check_flows(tenant, by_slug, path, located, at)
    problems += _check_capacity(loaded, by_slug, sites)
    return problems


def _check_groups(loaded: list[tuple[Path, Tenant, Located]], at: _At) -> None:
    """An SSO group administers or reads one tenant: shared, its members would hold another
    tenant's rights (a parent's readers read its units through the hierarchy, not by name)."""
    owners: dict[str, list[str]] = {}
    for _, tenant, _ in loaded:
        for group in {*tenant.groups.admins, *tenant.groups.readers}:
            owners.setdefault(group, []).append(tenant.slug)
    for path, tenant, located in loaded:
        for kind in ("admins", "readers"):
            for index, group in enumerate(getattr(tenant.groups, kind)):
                others = sorted(set(owners[group]) - {tenant.slug})
                if others:
                    at(
                        path,
                        located,
                        ("groups", kind, index),
                        f"{group!r} is a group of {', '.join(others)} too: a group belongs to "
                        "one tenant; name one of this tenant's own",
                    )


def _check_region(tenant: Tenant, path: Path, located: Located, at: _At) -> None:
    expected = {
        TenantKind.PROVINCE: regions.Level.PROVINCE,
        TenantKind.KABUPATEN: regions.Level.REGENCY,
        TenantKind.KOTA: regions.Level.REGENCY,
    }.get(tenant.kind)
    try:
        region = regions.require(tenant.region_code, expected)
    except regions.RegionCodeError as err:
        at(path, located, ("region_code",), str(err))
        return
    is_kota = region.name.startswith("Kota")
    if tenant.kind is TenantKind.KABUPATEN and is_kota:
        at(path, located, ("kind",), f"{region} is a kota: write kind: kota")
    if tenant.kind is TenantKind.KOTA and not is_kota:
        at(path, located, ("kind",), f"{region} is a kabupaten: write kind: kabupaten")


def _check_hierarchy(
    tenant: Tenant, by_slug: dict[str, Tenant], path: Path, located: Located, at: _At
) -> None:
    if tenant.parent is None:
        return
    parent = by_slug.get(tenant.parent)
    if parent is None:
        at(path, located, ("parent",), f"no tenant {tenant.parent!r}: onboard the parent first")
        return
    chain = _chain(tenant.parent, by_slug)
    if tenant.slug in chain:
        cycle = [tenant.slug, *chain[: chain.index(tenant.slug) + 1]]
        at(path, located, ("parent",), f"parent cycle: {' -> '.join(cycle)}: break it")
        return
    if tenant.kind in (TenantKind.PROVINCE, TenantKind.MINISTRY):
        at(path, located, ("parent",), f"a {tenant.kind.value} has no parent tenant")
    elif tenant.kind in (TenantKind.KABUPATEN, TenantKind.KOTA):
        if parent.kind is not TenantKind.PROVINCE or not tenant.region_code.startswith(
            parent.region_code + "."
        ):
            at(
                path,
                located,
                ("parent",),
                f"the parent of a {tenant.kind.value} is its province's tenant",
            )
    elif parent.kind in (TenantKind.PROVINCE, TenantKind.KABUPATEN, TenantKind.KOTA) and not (
        tenant.region_code == parent.region_code
        or tenant.region_code.startswith(parent.region_code + ".")
    ):
        at(
            path,
            located,
            ("region_code",),
            f"{tenant.region_code} lies outside the region {parent.region_code} of its parent "
            f"{parent.slug}",
        )


def _check_flows(
    tenant: Tenant, by_slug: dict[str, Tenant], path: Path, located: Located, at: _At
) -> None:
    for index, flow in enumerate(tenant.flows):
        if not isinstance(flow, TenantFlow):
            continue
        target = by_slug.get(flow.tenant)
        if target is None:
            at(path, located, ("flows", index, "tenant"), f"no tenant {flow.tenant!r}")
        elif tenant.slug not in target.accept_from:
            at(
                path,
                located,
                ("flows", index, "tenant"),
                f"{flow.tenant} does not accept traffic from {tenant.slug}: its file must list "
                f"{tenant.slug} under accept_from",
            )
    for index, slug in enumerate(tenant.accept_from):
        if slug not in by_slug:
            at(path, located, ("accept_from", index), f"no tenant {slug!r}")


def _check_capacity(
    loaded: list[tuple[Path, Tenant, Located]],
    by_slug: dict[str, Tenant],
    sites: Mapping[str, Site],
) -> list[Problem]:
    problems: list[Problem] = []
    for code, site in sorted(sites.items()):
        placed = [
            (p, t, loc) for p, t, loc in loaded if code in t.sites and by_slug.get(t.slug) is t
        ]
        if not placed:
            continue
        compute = [s for _, s in site.servers() if s.role in (ServerRole.COMPUTE, ServerRole.GPU)]
        storage = [s for _, s in site.servers() if s.role is ServerRole.STORAGE]
        limits = {
            "cpu_cores": sum(s.cpu_cores for s in compute) * CPU_OVERCOMMIT,
            "memory_gib": sum(s.memory_gib for s in compute),
            "storage_gib": sum(s.disk_gib for s in storage),
            "pods": len(compute) * MAX_PODS_PER_NODE,
        }
        for resource, limit in limits.items():
            total = sum(getattr(t.effective_quota, resource) for _, t, _ in placed)
            if total > limit:
                path, tenant, located = max(
                    placed, key=lambda x: getattr(x[1].effective_quota, resource)
                )
                line, column = located.where(("quota", resource) if tenant.quota else ("tier",))
                problems.append(
                    Problem(
                        path,
                        line,
                        column,
                        f"quota.{resource}",
                        f"the tenants at {code} would be promised {total} {resource} but the site "
                        f"offers {limit}: lower this tenant's quota (the largest) or add servers",
                    )
                )
    return problems
