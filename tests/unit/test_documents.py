"""pdn.documents.read_located: libyaml where it is safe, the pure-Python loader otherwise, with
the same document and the same locations either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdn import documents

TEXT = """\
slug: dinas-a
name: "Dinas Kependudukan"
groups:
  admins:
    - a-admins
  readers: []
"""


class BrokenFileError(Exception):
    pass


def _both(path: Path) -> tuple[documents.Located, documents.Located]:
    fast = documents.read_located(path, BrokenFileError)
    saved = documents._CLoader
    documents._CLoader = None
    try:
        slow = documents.read_located(path, BrokenFileError)
    finally:
        documents._CLoader = saved
    return fast, slow


def test_libyaml_and_python_agree(tmp_path: Path) -> None:
    assert documents._CLoader is not None  # the wheel pinned here ships libyaml
    path = tmp_path / "t.yaml"
    path.write_text(TEXT)
    fast, slow = _both(path)
    assert fast == slow
    assert fast.where(("groups", "admins", 0)) == (5, 7)


def test_an_ampersand_in_a_name_is_not_an_anchor(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(TEXT.replace("Kependudukan", "Kependudukan & Catatan Sipil"))
    name = documents.read_located(path, BrokenFileError).document["name"]
    assert name.endswith("& Catatan Sipil")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [1]\nb: *x\n", "1:4: not valid YAML: YAML anchors (&name) are not allowed"),
        ("a: 1\na: 2\n", "2:1: 'a' is given twice (first on line 1): keep one"),
        ("a: [1\n", "not valid YAML"),
        ("a: 1\n---\nb: 2\n", "not valid YAML"),
    ],
)
def test_refusals_are_located(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(BrokenFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        documents.read_located(path, BrokenFileError)
