"""The GIS platform on the session's DC, for real: the platform stack made the PostGIS database
on the DC's PostgreSQL and loaded the national reference layer; it answers for a kabupaten with
its kecamatan; every role reads it and none writes it; a write grant given by hand shows in the
platform's preview and `up --refresh` takes it back."""

from __future__ import annotations

from typing import Any

import pytest

from pdn import regions, stacks
from pdn.dataservices.sql import POSTGRESQL
from pdn.gis import reference
from tests.integration.conftest import Onboarded

pytestmark = pytest.mark.integration


def _admin(onboarded: Onboarded) -> reference.GisAdmin:
    access = onboarded.dc.database_admin(POSTGRESQL)
    return reference.GisAdmin(access.server, access.user, access.password)


def _query(onboarded: Onboarded, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with _admin(onboarded).connect() as conn:
        return list(conn.execute(sql, params).fetchall())


def test_the_reference_layer_answers_for_a_kabupaten_with_its_kecamatan(
    onboarded: Onboarded,
) -> None:
    outputs = stacks.Stack(onboarded.env, onboarded.platform).outputs()
    assert outputs["gis"]["database"] == "pdn_gis"
    assert outputs["gis"]["reference"]["rows"] == 91599
    (postgis,) = _query(onboarded, "SELECT postgis_lib_version()")
    assert postgis[0].startswith("3.3")
    kecamatan = _query(
        onboarded,
        "SELECT code, name FROM reference.regions WHERE parent = %s ORDER BY code",
        "32.16",
    )
    assert [(c, n) for c, n in kecamatan] == [(r.code, r.name) for r in regions.children("32.16")]
    assert len(kecamatan) == 23
    assert kecamatan[0] == ("32.16.01", "Tarumajaya")
    ((name, level, parent),) = _query(
        onboarded, "SELECT name, level, parent FROM reference.regions WHERE code = %s", "32.16"
    )
    assert (name, level, parent) == ("Kabupaten Bekasi", 2, "32")


def test_a_write_grant_by_hand_shows_in_preview_and_up_takes_it_back(
    onboarded: Onboarded,
) -> None:
    admin = _admin(onboarded)
    with admin.connect() as conn:
        conn.execute("GRANT INSERT ON reference.regions TO PUBLIC")
    platform = stacks.Stack(onboarded.env, onboarded.platform)
    shown = platform.preview(refresh=True, diff=True)
    assert "public_write: True -> False" in shown, shown
    platform.up(refresh=True)
    assert reference.differences(reference.observe(admin)) == []
    platform.preview(expect_no_changes=True, refresh=True)
