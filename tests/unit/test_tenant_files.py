"""Tenant files: the examples load, and every broken file of the corpus yields its own located
problems (file, line, column, field, message), all at once, with no traceback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pdn.inventory import LOCAL_SITE, Site, load_site
from pdn.tenants import fleet as fleet_module
from pdn.tenants import loader
from pdn.tenants.errors import TenantError
from pdn.tenants.fleet import Fleet, load_fleet, tenant_files
from pdn.tenants.model import Classification, Tier
from pdn.tenants.parsed import ParsedFiles

CORPUS = Path(__file__).parent / "tenant_corpus"
SITES: dict[str, Site] = {
    s.code: s for s in (load_site(p) for p in sorted(LOCAL_SITE.parent.glob("*.yaml")))
}


def _examples() -> Fleet:
    return load_fleet(tenant_files(), SITES)


def test_the_example_tenants_load_with_their_hierarchy() -> None:
    fleet = _examples()
    assert sorted(fleet.tenants) == [
        "kab-bekasi",
        "kab-bekasi-disdukcapil",
        "kab-bekasi-rsud",
        "kemendagri",
        "prov-jawa-barat",
    ]
    assert fleet.units("prov-jawa-barat") == [
        "kab-bekasi",
        "kab-bekasi-disdukcapil",
        "kab-bekasi-rsud",
    ]
    assert fleet.ancestors("kab-bekasi-rsud") == ["kab-bekasi", "prov-jawa-barat"]
    assert fleet.units("kemendagri") == []
    dukcapil = fleet.tenants["kab-bekasi-disdukcapil"]
    assert dukcapil.classification is Classification.CONFIDENTIAL
    assert dukcapil.effective_quota.cpu_cores == 16  # its own quota, not the tier's
    assert fleet.tenants["kab-bekasi"].tier is Tier.STANDARD


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.yaml"))


def test_the_corpus_has_at_least_25_distinct_mistakes() -> None:
    assert len(_corpus()) >= 25
    firsts = [p.read_bytes().split(b"\n", 1)[0] for p in _corpus()]
    assert len(set(firsts)) == len(firsts)


@pytest.mark.parametrize("broken", _corpus(), ids=lambda p: p.stem)
def test_each_broken_file_yields_its_own_located_problems(broken: Path, tmp_path: Path) -> None:
    raw = broken.read_bytes()
    expected = [
        line.removeprefix(b"# expect: ").decode()
        for line in raw.splitlines()
        if line.startswith(b"# expect: ")
    ]
    assert expected, f"{broken.name} lists no expected problem"
    first = raw.split(b"\n", 1)[0].decode()
    slug = re.search(rb"^slug: (\S+)$", raw, re.MULTILINE)
    name = (
        first[5:].split(":")[0]
        if first.startswith("# as ")
        else (slug.group(1).decode() + ".yaml" if slug else broken.name)
    )
    for example in tenant_files():
        shutil.copy(example, tmp_path / example.name)
    (tmp_path / name).write_bytes(raw)

    with pytest.raises(TenantError) as err:
        load_fleet(sorted(tmp_path.glob("*.yaml")), SITES)
    shown = [str(p).replace(f"{tmp_path}/", "") for p in err.value.problems]
    assert shown == expected
    assert "Traceback" not in str(err.value)


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    huge = tmp_path / "kab-bogor.yaml"
    huge.write_text("slug: kab-bogor\n" + "# padding\n" * 40_000)
    with pytest.raises(TenantError, match=r"kab-bogor\.yaml:1:1: \d+ bytes, more than the 262144"):
        load_fleet([huge], SITES)


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    for index, broken in enumerate(("02-number-as-string", "16-classification-above-site")):
        text = (CORPUS / f"{broken}.yaml").read_text().replace("kab-bogor", f"kab-bogor-{index}")
        text = text.replace("KAB-3201", f"KAB-320{index}")
        (tmp_path / f"kab-bogor-{index}.yaml").write_text(text)
    for example in tenant_files():
        shutil.copy(example, tmp_path / example.name)
    with pytest.raises(TenantError) as err:
        load_fleet(sorted(tmp_path.glob("*.yaml")), SITES)
    files = {p.file.name for p in err.value.problems}
    assert files == {"kab-bogor-0.yaml", "kab-bogor-1.yaml"}


def _record_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files load_fleet parses from now on (not taken from the cache)."""
    parsed: list[str] = []
    real_load = loader.load_tenant

    def parse(path: Path) -> object:
        parsed.append(path.name)
        return real_load(path)

    monkeypatch.setattr(fleet_module, "load_tenant", parse)
    return parsed


def test_files_parsed_before_are_taken_from_the_cache_by_their_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_dir = tmp_path / "tenants"
    shutil.copytree(tenant_files()[0].parent, fleet_dir)
    cached = tmp_path / "cache"
    first = load_fleet(tenant_files(fleet_dir), SITES, parsed=ParsedFiles(cached))
    assert list(cached.glob("*.pickle"))

    parsed = _record_parses(monkeypatch)
    assert load_fleet(tenant_files(fleet_dir), SITES, parsed=ParsedFiles(cached)) == first
    assert parsed == []  # nothing parsed again

    changed = fleet_dir / "kemendagri.yaml"
    changed.write_text(changed.read_text().replace("tier: ", "tier: vital\nold_tier: ", 1))
    with pytest.raises(TenantError, match="old_tier"):  # a broken file: parsed, never kept
        load_fleet(tenant_files(fleet_dir), SITES, parsed=ParsedFiles(cached))
    with pytest.raises(TenantError, match="old_tier"):
        load_fleet(tenant_files(fleet_dir), SITES, parsed=ParsedFiles(cached))
    assert parsed == ["kemendagri.yaml", "kemendagri.yaml"]

    text = changed.read_text()
    changed.write_text(re.sub(r"tier: vital\nold_tier: \w+", "tier: batch", text))
    again = load_fleet(tenant_files(fleet_dir), SITES, parsed=ParsedFiles(cached))
    assert again.tenants["kemendagri"].tier is Tier.BATCH  # the new bytes, parsed
    assert parsed[-1] == "kemendagri.yaml"


def test_an_unreadable_cache_is_parsed_again(tmp_path: Path) -> None:
    cached = tmp_path / "cache"
    kept = ParsedFiles(cached)
    kept.path.parent.mkdir(parents=True)
    kept.path.write_bytes(b"not a pickle")
    assert load_fleet(tenant_files(), SITES, parsed=ParsedFiles(cached)) == _examples()


def test_two_fleets_read_in_turn_both_stay_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    shutil.copytree(tenant_files()[0].parent, other)
    changed = other / "kemendagri.yaml"
    changed.write_text(changed.read_text().replace("tier: vital", "tier: batch"))
    cached = tmp_path / "cache"
    load_fleet(tenant_files(), SITES, parsed=ParsedFiles(cached))
    load_fleet(tenant_files(other), SITES, parsed=ParsedFiles(cached))
    parsed = _record_parses(monkeypatch)
    load_fleet(tenant_files(), SITES, parsed=ParsedFiles(cached))
    load_fleet(tenant_files(other), SITES, parsed=ParsedFiles(cached))
    assert parsed == []
