"""The DC's single sign-on server: Keycloak, run by `pdn dc up` the way a production site runs it
(`start`, not `start-dev`): HTTPS only, with a certificate from the DC's CA; its data in the DC's
PostgreSQL (a database and a login of its own, over TLS verified against the DC's CA); health on
its management port.

Keycloak comes from Maven Central (`org.keycloak:keycloak-quarkus-dist`), pinned by version and
SHA-256, downloaded once into pdn's cache and built there once for PostgreSQL (`kc.sh build`);
it runs on the newest JDK here (Keycloak 26 needs Java 21 or newer). pdn starts Java itself,
with the arguments kc.sh would give it: kc.sh keeps Java as a child, and pdn stops by PID.

The platform admin's bootstrap login and the database password are made once and kept owner-only
in the DC's state; they reach Keycloak through its environment, never its command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pdn import paths
from pdn.dc import passwords, pki
from pdn.dc.errors import DCError
from pdn.dc.processes import ProcessSpec
from pdn.dc.settings import DCSettings
from pdn.files import private_dir

NAME = "keycloak"
VERSION = "26.7.3"
ARTIFACT = "org.keycloak:keycloak-quarkus-dist"
URL = (
    "https://repo.maven.apache.org/maven2/org/keycloak/keycloak-quarkus-dist/"
    f"{VERSION}/keycloak-quarkus-dist-{VERSION}.zip"
)
SHA256 = "27a6535553c3cdcd083872ba40629efafb3475e3b758e0c6f691395561dd0f1f"
# What the distribution is built for once (`kc.sh build`); changing it builds a new one.
BUILD_OPTIONS = ("--db=postgres", "--health-enabled=true")
JAVA_MINIMUM = 21
JVM_DIR = Path("/usr/lib/jvm")
DATABASE = "keycloak"
ADMIN = "pdn-admin"
CERT_FILE = "sso"
HEAP = "-Xms128m -Xmx768m"
BUILD_TIMEOUT = 600
START_TIMEOUT = 240.0
DOWNLOAD_TIMEOUT = 900
Progress = Callable[[str], None]


# The distribution.
def _cache() -> Path:
    return paths.cache_dir() / "keycloak"


def home() -> Path:
    """Where the built distribution is (kc.home.dir)."""
    key = hashlib.sha256(json.dumps([VERSION, SHA256, BUILD_OPTIONS]).encode()).hexdigest()[:12]
    return _cache() / f"keycloak-{VERSION}-{key}"


def java() -> Path:
    """The newest JDK or JRE here of at least JAVA_MINIMUM (its `release` file says which)."""
    found = []
    for release in JVM_DIR.glob("*/release"):
        match = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.M)
        binary = release.parent / "bin/java"
        if match and int(match.group(1)) >= JAVA_MINIMUM and os.access(binary, os.X_OK):
            found.append((int(match.group(1)), binary))
    if not found:
        raise DCError(
            f"Keycloak {VERSION} needs Java {JAVA_MINIMUM} or newer, and {JVM_DIR} has none: "
            "install one (a Temurin or OpenJDK 21+ package) and run `pdn dc up` again"
        )
    return max(found)[1]


def _download(target: Path, progress: Progress) -> None:
    progress(f"downloading {ARTIFACT}:{VERSION} from Maven Central (177 MB, once)")
    scratch = target.with_name(f"{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(URL, timeout=60) as answer,  # noqa: S310 (a fixed https URL)
            scratch.open("wb") as out,
        ):
            while chunk := answer.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as err:
        scratch.unlink(missing_ok=True)
        raise DCError(f"cannot download {URL}: {getattr(err, 'reason', err)}") from err
    if digest.hexdigest() != SHA256:
        scratch.unlink(missing_ok=True)
        raise DCError(
            f"{URL} is not the pinned Keycloak {VERSION}: sha256 {digest.hexdigest()}, "
            f"expected {SHA256}"
        )
    scratch.rename(target)


def ensure_distribution(progress: Progress = print) -> Path:
    """Keycloak's home, downloaded (checked against its pinned digest) and built for
    PostgreSQL once, then reused."""
    built = home()
    if (built / ".pdn-built").is_file():
        return built
    _cache().mkdir(parents=True, exist_ok=True)
    archive = _cache() / f"keycloak-quarkus-dist-{VERSION}.zip"
    if not archive.is_file():
        _download(archive, progress)
    scratch = built.with_name(f"{built.name}.{os.getpid()}.building")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        progress(f"building Keycloak {VERSION} for PostgreSQL (kc.sh build, once)")
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(scratch)
        inner = scratch / f"keycloak-{VERSION}"
        for script in (inner / "bin").glob("*.sh"):
            script.chmod(0o755)
        done = subprocess.run(
            [str(inner / "bin/kc.sh"), "build", *BUILD_OPTIONS],
            capture_output=True,
            text=True,
            check=False,
            timeout=BUILD_TIMEOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "JAVA_HOME": str(java().parent.parent)},
        )
        if done.returncode != 0:
            said = (done.stdout + done.stderr).strip().splitlines()[-5:]
            raise DCError(f"kc.sh build failed ({done.returncode}): {' / '.join(said)}")
        (inner / ".pdn-built").write_text(f"{VERSION} {' '.join(BUILD_OPTIONS)}\n")
        if not built.exists():  # else another pdn built it meanwhile: keep theirs
            inner.rename(built)
    except subprocess.TimeoutExpired as err:
        raise DCError(f"kc.sh build did not finish within {BUILD_TIMEOUT} s") from err
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return built


# Its credentials and certificate.
@dataclass(frozen=True)
class Credentials:
    admin_user: str
    admin_password: str
    database_password: str


def _credentials_file(settings: DCSettings) -> Path:
    return settings.root / "sso" / "credentials.json"


def credentials(settings: DCSettings) -> Credentials:
    """The bootstrap admin's and the database login's passwords, made once, owner-only."""
    path = _credentials_file(settings)
    private_dir(path.parent)
    found = passwords.kept(path, ("admin_password", "database_password"))
    return Credentials(ADMIN, found["admin_password"], found["database_password"])


@dataclass(frozen=True)
class AdminAccess:
    """Keycloak as the platform stack is bound to it: its URL and CA, and its admin."""

    url: str
    ca_pem: str
    user: str
    password: str
    # Its login on the DC's PostgreSQL: for the production deployment's manifests.
    database_password: str = ""

    def __repr__(self) -> str:  # never a password
        return f"AdminAccess({self.url!r}, {self.user!r})"


def admin_access(settings: DCSettings, ca: Path) -> AdminAccess:
    found = credentials(settings)
    return AdminAccess(
        url(settings),
        ca.read_text(),
        found.admin_user,
        found.admin_password,
        found.database_password,
    )


def url(settings: DCSettings) -> str:
    """Keycloak's public URL (its hostname setting): issuers are <url>/realms/<realm>."""
    return f"https://{settings.listen_host}:{settings.ports.sso}"


def ensure_certificate(settings: DCSettings, ca: pki.KeyPair) -> pki.KeyPair:
    return pki.ensure_service_cert(
        settings.pki_dir, ca, CERT_FILE, "pdn single sign-on", settings.listen_host
    )


# The process.
def java_arguments(settings: DCSettings, keycloak: Path, cert: pki.KeyPair, ca: Path) -> list[str]:
    """Java's command line as kc.sh gives it (its JAVA_OPTS, heap, opens, locale, server
    options), then Keycloak's own: production start of the built distribution."""
    return [
        str(java()),
        *["-XX:MetaspaceSize=96M", "-XX:MaxMetaspaceSize=256m", "-Dfile.encoding=UTF-8"],
        *["-Dsun.stdout.encoding=UTF-8", "-Dsun.err.encoding=UTF-8", "-Dstdout.encoding=UTF-8"],
        *["-Dstderr.encoding=UTF-8", "-XX:+ExitOnOutOfMemoryError"],
        *["-Djava.security.egd=file:/dev/urandom", "-XX:+UseG1GC"],
        "-XX:FlightRecorderOptions=stackdepth=512",
        "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
        *HEAP.split(),
        "--add-opens=java.base/java.util=ALL-UNNAMED",
        "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
        "--add-opens=java.base/java.security=ALL-UNNAMED",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "--enable-native-access=ALL-UNNAMED",
        "-Duser.language=en",
        "-Duser.country=US",
        "-Djava.util.concurrent.ForkJoinPool.common.threadFactory="
        "io.quarkus.bootstrap.forkjoin.QuarkusForkJoinWorkerThreadFactory",
        f"-Dkc.home.dir={keycloak}",
        f"-Djboss.server.config.dir={keycloak / 'conf'}",
        "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
        "-Dpicocli.disable.closures=true",
        "-Dquarkus-log-max-startup-records=10000",
        "-cp",
        str(keycloak / "lib/quarkus-run.jar"),
        "io.quarkus.bootstrap.runner.QuarkusEntryPoint",
        "start",
        "--optimized",
        # One node: a local cache. The default (a cluster) opens JGroups ports on every address.
        "--cache=local",
        f"--hostname={url(settings)}",
        f"--https-port={settings.ports.sso}",
        f"--http-host={settings.listen_host}",
        "--http-enabled=false",
        f"--https-certificate-file={cert.cert}",
        f"--https-certificate-key-file={cert.key}",
        f"--http-management-port={settings.ports.sso_management}",
        f"--db-url=jdbc:postgresql://{settings.listen_host}:{settings.ports.postgresql}/"
        f"{DATABASE}?sslmode=verify-full&sslrootcert={ca}",
        f"--db-username={DATABASE}",
    ]


def process_spec(settings: DCSettings, ca: pki.KeyPair) -> ProcessSpec:
    """Keycloak as the DC runs it; healthy when its management port says it is ready."""
    cert = pki.KeyPair(settings.pki_dir / f"{CERT_FILE}.crt", settings.pki_dir / f"{CERT_FILE}.key")
    found = credentials(settings)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "KC_DB_PASSWORD": found.database_password,
        "KC_BOOTSTRAP_ADMIN_USERNAME": found.admin_user,
        "KC_BOOTSTRAP_ADMIN_PASSWORD": found.admin_password,
    }

    def problem() -> str | None:
        return ready_problem(settings, ca.cert)

    return ProcessSpec(
        NAME,
        tuple(java_arguments(settings, home(), cert, ca.cert)),
        (settings.ports.sso, settings.ports.sso_management),
        problem,
        cwd=home(),
        env=env,
        # Its first start makes its schema in PostgreSQL: ~1 min alone on 2 cores.
        start_timeout=START_TIMEOUT,
    )


def ready_problem(settings: DCSettings, ca: Path) -> str | None:
    """None when Keycloak's management port says ready over TLS the DC's CA verifies."""
    where = f"https://{settings.listen_host}:{settings.ports.sso_management}/health/ready"
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(where, timeout=3, context=context) as answer:
            body = json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError) as err:
        return f"not ready at {where}: {getattr(err, 'reason', err)}"
    return None if body.get("status") == "UP" else f"{where}: {body}"


def ensure_database(settings: DCSettings, ca: Path) -> None:
    """Keycloak's own database and login in the DC's PostgreSQL (its password kept in step with
    the credentials file), closed to every other login."""
    from psycopg import sql as pgsql  # noqa: PLC0415

    from pdn.dataservices import sql  # noqa: PLC0415
    from pdn.dataservices.errors import DataServiceError  # noqa: PLC0415
    from pdn.dc import databases  # noqa: PLC0415

    access = databases.admin_access(settings, sql.POSTGRESQL, ca)
    password = credentials(settings).database_password
    role, database = pgsql.Identifier(DATABASE), pgsql.Identifier(DATABASE)
    try:
        with sql.connect(access.server, access.user, access.password) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DATABASE,))
            verb = "ALTER" if exists.fetchone() else "CREATE"
            conn.execute(
                pgsql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(role, pgsql.Literal(password))
            )
            made = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if made.fetchone() is None:
                conn.execute(pgsql.SQL("CREATE DATABASE {} OWNER {}").format(database, role))
            conn.execute(
                pgsql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(database)
            )
    except DataServiceError as err:
        raise DCError(f"cannot make Keycloak's database: {err}") from err
