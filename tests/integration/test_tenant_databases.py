"""Each example tenant's databases on the real PostgreSQL and MariaDB of the local DC, made by
the real engine through the database dynamic provider: least privilege (the matrix of every
pair, printed), TLS only, drift shown and put right, no password in plaintext anywhere pdn
writes, and a removed tenant's data kept while its login goes."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from pdn.dataservices import databases
from pdn.dataservices.plan import DataServiceError
from pdn.dataservices.sql import MARIADB, POSTGRESQL, connect
from pdn.tenants.rollout import existing_shards, shard_stack
from tests.integration.conftest import SITE, Onboarded, plaintext_leaks

pytestmark = pytest.mark.integration


def _logins(onboarded: Onboarded) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
    """(slug, engine) -> (its database output, its password), from the shard stacks."""
    found = {}
    for shard in existing_shards(onboarded.env, SITE):
        outputs = shard_stack(onboarded.env, SITE, shard).outputs(show_secrets=True)
        for slug, engines in (outputs.get("databases") or {}).items():
            for engine, info in engines.items():
                found[(slug, engine)] = (info, outputs["database_passwords"][slug][engine])
    return found


def _admin(onboarded: Onboarded, engine: str) -> databases.Admin:
    access = onboarded.dc.database_admin(engine)
    return databases.Admin(access.server, access.user, access.password)


def test_every_tenant_has_the_databases_its_file_lists(onboarded: Onboarded) -> None:
    fleet = onboarded.fleet()
    wanted = {
        (slug, engine.value)
        for slug, tenant in fleet.tenants.items()
        if SITE in tenant.sites
        for engine in tenant.databases
    }
    assert set(_logins(onboarded)) == wanted
    assert {engine for _, engine in wanted} == {POSTGRESQL, MARIADB}
    for slug, engine in wanted:
        state = databases.read(_admin(onboarded, engine), databases.database_name(slug))
        assert state == databases.DatabaseState(True, True, True, False, True), (slug, engine)


def test_isolation_matrix_on_the_real_servers(onboarded: Onboarded) -> None:
    logins = _logins(onboarded)
    lines = []
    for (a, engine), (b, other) in itertools.product(sorted(logins), repeat=2):
        if engine != other:
            continue
        info, password = logins[(a, engine)]
        target = logins[(b, engine)][0]["database"]
        server = onboarded.dc.database_admin(engine).server
        try:
            with connect(server, info["user"], password, target) as conn, conn.cursor() as cur:
                cur.execute("CREATE TABLE probe (id int)")
                cur.execute("DROP TABLE probe")
            allowed, why = True, ""
        except DataServiceError as err:
            allowed, why = False, str(err)
        lines.append(f"{engine:>10} {a:>24} -> {b:<24} {'CONNECT' if allowed else '-'}")
        assert allowed == (a == b), (engine, a, b, why)
        # Refused for want of a privilege, not for any other failure.
        assert allowed or "denied" in why or "privilege" in why, why
    print("\ndatabase isolation matrix:\n" + "\n".join(lines))


def test_a_login_without_tls_is_refused(onboarded: Onboarded) -> None:
    import psycopg  # noqa: PLC0415
    import pymysql  # noqa: PLC0415

    logins = _logins(onboarded)
    pg_info, pg_password = logins[("kemendagri", POSTGRESQL)]
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(
            host=pg_info["host"],
            port=int(pg_info["port"]),
            user=pg_info["user"],
            password=pg_password,
            dbname=pg_info["database"],
            sslmode="disable",
        )
    my_info, my_password = logins[("kab-bekasi", MARIADB)]
    server = onboarded.dc.database_admin(MARIADB).server
    # A client that does not ask for TLS: its user REQUIRE SSL and the server's transport rule.
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(
            host=server.host,
            port=server.port,
            user=my_info["user"],
            password=my_password,
            database=my_info["database"],
            ssl_disabled=True,
        )


def test_drift_shows_in_preview_and_refresh_puts_it_right(onboarded: Onboarded) -> None:
    with _admin(onboarded, POSTGRESQL).connect() as conn:
        conn.execute("GRANT CONNECT ON DATABASE kemendagri TO PUBLIC")
    with _admin(onboarded, MARIADB).connect() as conn, conn.cursor() as cur:
        cur.execute("DROP USER 'kab_bekasi'@'127.0.0.1'")
    shown = "\n".join(
        shard_stack(onboarded.env, SITE, shard).preview(refresh=True)
        for shard in sorted(existing_shards(onboarded.env, SITE))
    )
    assert "kemendagri-databases-postgresql update" in shown
    assert "kab-bekasi-databases-mariadb update" in shown
    onboarded.roll_out(refresh=True)
    pg = databases.read(_admin(onboarded, POSTGRESQL), "kemendagri")
    assert not pg.public_can_connect
    info, password = _logins(onboarded)[("kab-bekasi", MARIADB)]
    server = onboarded.dc.database_admin(MARIADB).server
    with connect(server, info["user"], password, info["database"]):
        pass
    assert all(set(c) == {"same"} for c in onboarded.roll_out().values())


def test_no_database_password_is_in_plaintext_anywhere(onboarded: Onboarded) -> None:
    secrets = [password for _, password in _logins(onboarded).values()]
    secrets += [onboarded.dc.database_admin(e).password for e in (POSTGRESQL, MARIADB)]
    admins_file = onboarded.dc.settings.root / "databases" / "admins.json"
    server_logs = [p for p in onboarded.dc.settings.database_dir.rglob("*.log") if p.is_file()]
    leaks, searched = plaintext_leaks(onboarded, secrets, homes={admins_file}, logs=server_logs)
    print(f"\nsearched {searched} files for {len(secrets)} database passwords")
    assert leaks == []


def test_removing_a_tenant_keeps_its_database_and_drops_its_login(
    onboarded: Onboarded, capsys: pytest.CaptureFixture[str]
) -> None:
    info, password = _logins(onboarded)[("kab-bekasi-rsud", MARIADB)]
    server = onboarded.dc.database_admin(MARIADB).server
    with connect(server, info["user"], password, info["database"]) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE rawat_inap (id int primary key, nama varchar(50))")
        cur.execute("INSERT INTO rawat_inap VALUES (1, 'Siti')")
    removed = onboarded.tenants_dir / "kab-bekasi-rsud.yaml"
    kept = removed.read_bytes()
    removed.unlink()
    try:
        onboarded.roll_out()
        said = capsys.readouterr().out
        assert "mariadb database kab_bekasi_rsud" in said
        with pytest.raises(DataServiceError, match="denied"):
            connect(server, info["user"], password, info["database"])
        with _admin(onboarded, MARIADB).connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT nama FROM kab_bekasi_rsud.rawat_inap")
            assert cur.fetchall() == (("Siti",),)
    finally:
        removed.write_bytes(kept)
        onboarded.roll_out()
    info, password = _logins(onboarded)[("kab-bekasi-rsud", MARIADB)]
    with connect(server, info["user"], password, info["database"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT nama FROM rawat_inap")
        assert cur.fetchall() == (("Siti",),)
