"""`pdn tenant …` as a user runs it: exit codes, one line per problem, no traceback, and an
invalid file never left in tenants/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pdn.cli.main import main
from pdn.tenants.fleet import tenant_files

CORPUS = Path(__file__).parent / "tenant_corpus"


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tenants"
    directory.mkdir()
    for example in tenant_files():
        shutil.copy(example, directory / example.name)
    return directory


def test_validate_the_committed_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tenant", "validate"]) == 0
    assert "5 tenant(s) valid" in capsys.readouterr().out


def test_validate_reports_every_problem_and_changes_nothing(
    fleet_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = fleet_dir / "kab-bogor.yaml"
    shutil.copy(CORPUS / "16-classification-above-site.yaml", broken)
    shutil.copy(CORPUS / "19-flow-not-accepted.yaml", fleet_dir / "kab-bogor-2.yaml")
    before = sorted(p.read_bytes() for p in fleet_dir.iterdir())
    assert main(["tenant", "validate", "--dir", str(fleet_dir)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{broken}:12:1: classification: 'secret' data may not be held at pdn-local" in err
    assert "kab-bogor-2.yaml:3:1: slug: the file must be named kab-bogor.yaml" in err
    assert err.splitlines()[-1].startswith("pdn: ")
    assert "nothing was changed" in err
    assert sorted(p.read_bytes() for p in fleet_dir.iterdir()) == before


def test_new_writes_a_valid_file_with_the_region_looked_up(
    fleet_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["tenant", "new", "--kind", "kota", "--region", "32.73", "--agency-code", "KOTA-3273"]
    argv += ["--owner-email", "diskominfo@bandung.go.id", "--parent", "prov-jawa-barat"]
    assert main([*argv, "--tier", "batch", "--dir", str(fleet_dir)]) == 0
    written = fleet_dir / "kota-bandung.yaml"
    assert "name: Pemerintah Kota Bandung" in written.read_text()
    assert 'region_code: "32.73"' in written.read_text()
    assert main(["tenant", "validate", "--dir", str(fleet_dir)]) == 0
    assert "6 tenant(s) valid" in capsys.readouterr().out


def test_new_refuses_a_wrong_region_and_writes_nothing(
    fleet_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in fleet_dir.iterdir())
    argv = ["tenant", "new", "--kind", "kabupaten", "--region", "32.99", "--agency-code", "X"]
    assert main([*argv, "--owner-email", "a@b.go.id", "--dir", str(fleet_dir)]) == 1
    err = capsys.readouterr().err
    assert "closest valid: 32.79 Kota Banjar" in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in fleet_dir.iterdir()) == before


def test_new_refuses_what_the_fleet_would_reject_and_removes_it(
    fleet_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A kabupaten whose parent is a ministry: valid alone, not in the fleet.
    argv = [
        "tenant",
        "new",
        "--kind",
        "kabupaten",
        "--region",
        "32.01",
        "--agency-code",
        "KAB-3201",
    ]
    argv += ["--owner-email", "a@bogorkab.go.id", "--parent", "kemendagri", "--tier", "batch"]
    assert main([*argv, "--dir", str(fleet_dir)]) == 1
    assert "the parent of a kabupaten is its province's tenant" in capsys.readouterr().err
    assert not (fleet_dir / "kab-bogor.yaml").exists()


def test_list_shows_the_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tenant", "list"]) == 0
    out = capsys.readouterr().out
    assert "kab-bekasi-rsud" in out
    assert "32.16.06 Tambun Selatan" in out


def test_a_missing_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "validate", "--dir", str(tmp_path / "nope")]) == 1
    assert "is not a directory: create it or pass --dir" in capsys.readouterr().err
