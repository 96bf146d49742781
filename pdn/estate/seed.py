"""The synthetic data an estate's hosts are seeded with: what agency systems really hold, without
a real person in it.

Citizen master data (NIK: the six digits of a real kabupaten/kota + kecamatan of the region list,
a DDMMYY birth date with 40 added to the day for women, a serial), region codes written the
ways agencies write them (Kemendagri `32.16.01`, BPS `3216010`), staff records, uploads with
names as people give them. Deterministic: the same estate is seeded the same way every time.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from pdn import regions
from pdn.estate.model import ServiceKind

SEED = 20240620  # the day PDNS-2 went down
HOME_REGENCY = "32.16"  # Kab. Bekasi


@dataclass(frozen=True)
class SeededDatabase:
    name: str
    engine: ServiceKind
    rows: int  # of its main table


DATABASES = {
    d.name: d
    for d in (
        SeededDatabase("simpeg", ServiceKind.MARIADB, 240),  # staff (BKPSDM)
        SeededDatabase("portal", ServiceKind.MARIADB, 60),  # news of a provincial portal
        SeededDatabase("layanan", ServiceKind.POSTGRESQL, 320),  # civil registry requests
        SeededDatabase("satudata", ServiceKind.POSTGRESQL, 90),  # population by region
    )
}
_GIVEN = ("Agus", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gita", "Hadi", "Indah", "Joko")
_FAMILY = ("Santoso", "Wibowo", "Lestari", "Saputra", "Hidayat", "Rahmawati", "Nugroho")


def _districts() -> list[regions.Region]:
    return regions.children(HOME_REGENCY)


def _villages(rng: random.Random, count: int) -> list[regions.Region]:
    found: list[regions.Region] = []
    for district in _districts():
        found.extend(regions.children(district.code))
    return rng.sample(found, min(count, len(found)))


def nik(district: str, born: datetime.date, female: bool, serial: int) -> str:
    """A NIK as Dukcapil writes it: PPKKCC, DDMMYY (day + 40 for women), a 4-digit serial."""
    day = born.day + (40 if female else 0)
    return f"{district.replace('.', '')}{day:02d}{born:%m%y}{serial:04d}"


def _person(rng: random.Random, serial: int) -> tuple[str, str, str, datetime.date]:
    district = rng.choice(_districts()).code
    female = rng.random() < 0.5
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 45))
    name = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
    return nik(district, born, female, serial), name, "P" if female else "L", born


def _quote(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _inserts(table: str, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    values = ",\n".join("(" + ", ".join(_quote(v) for v in row) + ")" for row in rows)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES\n{values};\n"


def schema_sql(database: str) -> str:
    """The database's tables and rows, in SQL both MariaDB and PostgreSQL take."""
    rng = random.Random(f"{SEED}-{database}")  # noqa: S311 (reproducible, not secret)
    rows = DATABASES[database].rows
    if database == "simpeg":
        people = [_person(rng, i + 1) for i in range(rows)]
        return (
            "CREATE TABLE unit_kerja (id INT PRIMARY KEY, nama VARCHAR(120) NOT NULL);\n"
            + _inserts(
                "unit_kerja",
                ("id", "nama"),
                [(1, "Sekretariat Daerah"), (2, "Dinas Pendidikan"), (3, "Dinas Kesehatan")],
            )
            + "CREATE TABLE pegawai (id INT PRIMARY KEY, nip CHAR(18) NOT NULL, "
            "nik CHAR(16) NOT NULL, nama VARCHAR(120) NOT NULL, jenis_kelamin CHAR(1), "
            "tanggal_lahir DATE, kode_wilayah VARCHAR(10), unit_kerja_id INT);\n"
            + _inserts(
                "pegawai",
                (
                    "id",
                    "nip",
                    "nik",
                    "nama",
                    "jenis_kelamin",
                    "tanggal_lahir",
                    "kode_wilayah",
                    "unit_kerja_id",
                ),
                [
                    (
                        i + 1,
                        f"{born:%Y%m%d}2010{rng.randrange(1, 3)}1{i + 1:03d}",
                        n,
                        name,
                        sex,
                        born.isoformat(),
                        "3216",  # BPS's code for Kab. Bekasi, not Kemendagri's 32.16
                        rng.randrange(1, 4),
                    )
                    for i, (n, name, sex, born) in enumerate(people)
                ],
            )
        )
    if database == "layanan":
        villages = _villages(rng, 40)
        people = [_person(rng, i + 1) for i in range(rows)]
        kinds = ("KTP-el", "Kartu Keluarga", "Akta Kelahiran", "Pindah Datang")
        return (
            "CREATE TABLE permohonan (id INT PRIMARY KEY, nik CHAR(16) NOT NULL, "
            "nama VARCHAR(120) NOT NULL, jenis VARCHAR(40) NOT NULL, kode_desa VARCHAR(13), "
            "status VARCHAR(20) NOT NULL, berkas VARCHAR(200));\n"
            + _inserts(
                "permohonan",
                ("id", "nik", "nama", "jenis", "kode_desa", "status", "berkas"),
                [
                    (
                        i + 1,
                        n,
                        name,
                        rng.choice(kinds),
                        rng.choice(villages).code,
                        rng.choice(("diajukan", "diproses", "selesai")),
                        f"uploads/permohonan {i + 1}.pdf",
                    )
                    for i, (n, name, _sex, _born) in enumerate(people)
                ],
            )
        )
    if database == "portal":
        return (
            "CREATE TABLE berita (id INT PRIMARY KEY, judul VARCHAR(200) NOT NULL, "
            "isi TEXT NOT NULL, terbit DATE NOT NULL);\n"
            + _inserts(
                "berita",
                ("id", "judul", "isi", "terbit"),
                [
                    (
                        i + 1,
                        f"Pengumuman layanan publik nomor {i + 1}",
                        "Layanan tetap dibuka selama pemindahan ke Pusat Data Nasional. " * 3,
                        (datetime.date(2024, 1, 1) + datetime.timedelta(days=5 * i)).isoformat(),
                    )
                    for i in range(rows)
                ],
            )
        )
    if database == "satudata":
        villages = _villages(rng, rows)
        return (
            "CREATE TABLE penduduk_desa (kode_wilayah VARCHAR(13) PRIMARY KEY, "
            "nama VARCHAR(120) NOT NULL, laki_laki INT NOT NULL, perempuan INT NOT NULL);\n"
            + _inserts(
                "penduduk_desa",
                ("kode_wilayah", "nama", "laki_laki", "perempuan"),
                [
                    (
                        # Half as Kemendagri writes them, half as BPS's 10 digits (no dots).
                        v.code if i % 2 == 0 else v.code.replace(".", ""),
                        v.name,
                        rng.randrange(1500, 9000),
                        rng.randrange(1500, 9000),
                    )
                    for i, v in enumerate(villages)
                ],
            )
        )
    raise KeyError(database)


def uploads(app: str) -> dict[str, bytes]:
    """The files an application's users uploaded: names as people give them."""
    rng = random.Random(f"{SEED}-{app}-uploads")  # noqa: S311 (reproducible, not secret)
    names = [f"surat keputusan {i}.pdf" for i in range(1, 6)] + [
        # An en dash, as word processors write it.
        "daftar hadir Januari\u2013Maret.xlsx",
        "foto kegiatan (1).jpg",
        "SK Bupati No. 12 Tahun 2024.pdf",
    ]
    return {name: rng.randbytes(2048 + 512 * i) for i, name in enumerate(names)}


def share_documents(share: str) -> dict[str, bytes]:
    """An agency file share's documents, in folders."""
    rng = random.Random(f"{SEED}-{share}-share")  # noqa: S311 (reproducible, not secret)
    return {
        f"{folder}/{name}": rng.randbytes(4096)
        for folder in ("arsip 2023", "arsip 2024", "naskah dinas")
        for name in ("nota dinas.pdf", "undangan rapat.docx", "laporan triwulan.xlsx")
    }
