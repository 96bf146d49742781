"""`pdn gis load` reads real files with GDAL (pyogrio) and refuses, before writing anything, a
file that is not one, a missing CRS, a geometry that is missing, invalid or outside Indonesia,
and a region code that is not in the Kemendagri list; each problem with its feature number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely

from pdn.gis.errors import GisError
from pdn.gis.load import read

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "gis"


def _geojson(path: Path, features: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": p, "geometry": g} for p, g in features
                ],
            }
        )
    )
    return path


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def test_the_examples_read_as_they_are() -> None:
    points = read(EXAMPLES / "kab-bekasi-fasilitas-kesehatan.geojson")
    assert (points.driver, points.crs, points.geometry_type) == ("GeoJSON", "EPSG:4326", "Point")
    assert len(points.rows) == 23
    assert ("kode_wilayah", "text") in points.columns
    assert ("tempat_tidur", "bigint") in points.columns
    parcels = read(EXAMPLES / "kab-bekasi-bidang-tanah.geojson")
    assert parcels.geometry_type == "Polygon"


def test_a_projected_file_is_reprojected_to_wgs84(tmp_path: Path) -> None:
    # Bekasi in UTM zone 48S (EPSG:32748), as a GeoPackage.
    path = tmp_path / "aset.gpkg"
    utm = shapely.points([[725000.0, 9300000.0]])
    pyogrio.raw.write(
        path,
        shapely.to_wkb(utm),
        [np.array(["32.16.01"], dtype=object)],
        ["kode_wilayah"],
        driver="GPKG",
        geometry_type="Point",
        crs="EPSG:32748",
    )
    found = read(path)
    assert found.driver == "GeoPackage"
    assert found.crs == "EPSG:32748"
    lon, lat = shapely.get_coordinates(shapely.from_wkb(found.wkb[0]))[0]
    assert 107.0 < lon < 107.1
    assert -6.4 < lat < -6.3


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[107, -6], [107.1, -6.1], [107.1, -6], [107, -6.1], [107, -6]]],
    }
    path = _geojson(
        tmp_path / "bad.geojson",
        [
            ({"kode_wilayah": "32.16.01"}, _point(107.1, -6.2)),
            ({"kode_wilayah": "32.16.99"}, _point(107.1, -6.2)),  # no such kecamatan
            ({"kode_wilayah": "32.16.01"}, None),
            ({"kode_wilayah": "32.16.01"}, bowtie),
            ({"kode_wilayah": "32.16.01"}, _point(-6.2, 107.1)),  # axes swapped
        ],
    )
    with pytest.raises(GisError) as err:
        read(path)
    text = str(err.value)
    assert "4 problem(s), nothing loaded" in text
    assert "feature 2: kode_wilayah: '32.16.99' is not in the Kemendagri list" in text
    assert "feature 3: no geometry" in text
    assert "feature 4: invalid geometry (Self-intersection" in text
    assert "feature 5: lies at (-6.2000, 107.1000) in WGS 84, outside Indonesia" in text


def test_a_region_field_of_another_name(tmp_path: Path) -> None:
    path = _geojson(tmp_path / "x.geojson", [({"kode": "32.16.01"}, _point(107.1, -6.2))])
    found = read(path, region_field="kode")
    assert found.columns == [("kode_wilayah", "text")]
    with pytest.raises(GisError, match="region_field 'kd': no such attribute"):
        read(path, region_field="kd")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [', "GDAL can read"),
        ("empty.gpkg", b"", "GDAL can read"),
        ("binary.shp", b"\x00\x01\x02" * 50, "GDAL can read"),
        ("table.csv", b"a,b\n1,2\n", "load a GeoPackage, GeoJSON or shapefile"),
    ],
)
def test_a_file_that_is_not_a_layer_is_refused(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(GisError, match=expected):
        read(path)


def test_a_shapefile_without_its_prj_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "faskes.shp"
    pyogrio.raw.write(
        path,
        shapely.to_wkb(shapely.points([[107.1, -6.2]])),
        [np.array(["32.16.01"], dtype=object)],
        ["kode"],
        driver="ESRI Shapefile",
        geometry_type="Point",
        crs="EPSG:4326",
    )
    assert read(path).driver == "shapefile"
    path.with_suffix(".prj").unlink()
    with pytest.raises(GisError, match=r"no coordinate reference system \(a shapefile needs"):
        read(path)


def test_a_file_of_several_layers_needs_one_named(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    for layer in ("jalan", "jembatan"):
        pyogrio.raw.write(
            path,
            shapely.to_wkb(shapely.points([[107.1, -6.2]])),
            [],
            [],
            driver="GPKG",
            layer=layer,
            geometry_type="Point",
            crs="EPSG:4326",
            append=path.exists(),
        )
    with pytest.raises(GisError, match=r"holds 2 layers \(jalan, jembatan\): name one"):
        read(path)
    assert len(read(path, source_layer="jembatan").wkb) == 1


def test_an_attribute_that_cannot_be_a_column_is_refused(tmp_path: Path) -> None:
    path = _geojson(tmp_path / "x.geojson", [({"fid": 1, "nama jalan": "x"}, _point(107.1, -6.2))])
    with pytest.raises(GisError) as err:
        read(path)
    assert "attribute 'fid': not usable as a column" in str(err.value)
    assert "attribute 'nama jalan': not usable as a column" in str(err.value)
