"""The DC's single sign-on and e-signature service under concurrent load, on one scratch DC, in
one run.

The realms and an example tenant's access are made as `pdn up` makes them (pdn.sso), 40 civil
servants are imported into a readers' group; then, each for a fixed time with C concurrent
clients on keep-alive connections over TLS:
- password logins (the `kubernetes` client's direct grant: Keycloak hashes the password each
  time) — Keycloak's sizing guide plans 15 per vCPU; goal here: at least 25 per second;
- client-credentials grants of a tenant's service client — planned 120 per vCPU; goal: 200;
- PDF signatures through the signing service (a tenant's token checked, PAdES B-T with the
  site's TSA) — goal: at least 20 per second;
- the baselines of the same run: the realm's OIDC discovery document (no credential checked, no
  token signed), so the ratios say what a login and a grant cost on this machine; and pyHanko
  signing the same PDF with the same keys in one process (no HTTP, no token), so the ratio says
  what the service adds.

    python benchmarks/sso.py [--write-readme] [--seconds 20] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable

import urllib3
from common import REPO, quiet, scratch_dc, write_readme_section

from pdn.dc import tte
from pdn.dc.lifecycle import LocalDC
from pdn.inventory import LOCAL_SITE
from pdn.sso import realms, tenants
from pdn.sso.admin import Admin, AdminLogin, Server
from pdn.tte import profiles, signing
from tests.unit.tte_fixtures import blank_pdf

USERS = 40
TENANT = "kemendagri"
SERVICE = tenants.Application("bench-sync", "service")


def _setup(dc: LocalDC) -> tuple[Server, list[tuple[str, str]], str]:
    access = dc.sso_admin()
    server = Server(access.url, access.ca_pem)
    admin = Admin(AdminLogin(server, access.user, access.password))
    for realm in realms.REALMS:
        realms.ensure(admin, realm)
    spec = tenants.TenantAccessSpec(
        realms.CIVIL_SERVANTS, TENANT, ("bench-admins",), ("bench-readers",), (SERVICE,)
    )
    secret = tenants.ensure(admin, spec)[spec.client_id(SERVICE)]
    people = [(f"bench-{i:03d}", f"Bench!{secrets.token_urlsafe(12)}9a") for i in range(USERS)]
    admin.call(
        "POST",
        f"/{realms.CIVIL_SERVANTS}/partialImport",
        {
            "ifResourceExists": "OVERWRITE",
            "users": [
                {
                    "username": name,
                    "enabled": True,
                    "email": f"{name}@kemendagri.go.id",
                    "emailVerified": True,
                    "firstName": "Bench",
                    "lastName": name,
                    "groups": ["/bench-readers"],
                    "credentials": [{"type": "password", "value": password, "temporary": False}],
                }
                for name, password in people
            ],
        },
    )
    return server, people, secret


def _load(
    server: Server, seconds: float, clients: int, request: Callable[[urllib3.PoolManager, int], int]
) -> tuple[float, float, float, int]:
    """(requests per second, p50 ms, p99 ms, errors) of `clients` threads for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        http = urllib3.PoolManager(
            ssl_context=ssl.create_default_context(cadata=server.ca_pem), retries=False
        )
        mine, bad, i = [], 0, n
        while time.monotonic() < stop:
            started = time.perf_counter()
            status = request(http, i)
            mine.append(time.perf_counter() - started)
            bad += status != 200
            i += clients
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return len(latencies) / elapsed, p50, p99, errors[0]


def _in_process(dc: LocalDC, pdf: bytes, seconds: float) -> tuple[float, float, float, int]:
    """pyHanko signing the same PDF with the same keys, one process, no HTTP, no token."""
    authority = tte.authority(dc.settings)
    signer = authority.current(profiles.Role.SIGNER, tenant=TENANT)
    stamper = authority.current(profiles.Role.TSA)
    if signer is None or stamper is None:
        raise SystemExit(f"{TENANT} has no signing certificate or the site no TSA: dc up first")
    took: list[float] = []
    stop = time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < stop:
        began = time.perf_counter()
        signing.sign(authority, signer.serial, stamper.serial, pdf, reason="r", location="l")
        took.append(time.perf_counter() - began)
    took.sort()
    rate = len(took) / (time.monotonic() - started)
    return rate, took[len(took) // 2] * 1000, took[int(len(took) * 0.99)] * 1000, 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    figures: dict[str, tuple[float, float, float, int]] = {}
    with scratch_dc(LOCAL_SITE, slot=5) as (dc, _):
        dc.up(progress=quiet)
        server, people, secret = _setup(dc)
        issuer = server.issuer(realms.CIVIL_SERVANTS)
        token_url = f"{issuer}/protocol/openid-connect/token"
        form = {"Content-Type": "application/x-www-form-urlencoded"}

        def discovery(http: urllib3.PoolManager, _: int) -> int:
            return http.request("GET", f"{issuer}/.well-known/openid-configuration").status

        def login(http: urllib3.PoolManager, i: int) -> int:
            name, password = people[i % len(people)]
            body = urllib.parse.urlencode(
                {
                    "grant_type": "password",
                    "client_id": realms.KUBERNETES_CLIENT,
                    "username": name,
                    "password": password,
                    "scope": "openid",
                }
            )
            return http.request("POST", token_url, body=body, headers=form).status

        def grant(http: urllib3.PoolManager, _: int) -> int:
            body = urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": f"{TENANT}-{SERVICE.name}",
                    "client_secret": secret,
                }
            )
            return http.request("POST", token_url, body=body, headers=form).status

        ca = urllib3.PoolManager(ssl_context=ssl.create_default_context(cadata=server.ca_pem))
        answer = ca.request(
            "POST",
            token_url,
            body=urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": f"{TENANT}-{SERVICE.name}",
                    "client_secret": secret,
                }
            ),
            headers=form,
        )
        token = json.loads(answer.data)["access_token"]
        tte.issue_for_tenant(dc.settings, TENANT, "Kementerian Dalam Negeri")
        pdf = blank_pdf()
        sign_url = f"{tte.url(dc.settings)}/v1/sign"
        bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"}

        def sign(http: urllib3.PoolManager, _: int) -> int:
            return http.request("POST", sign_url, body=pdf, headers=bearer).status

        for name, call in (
            ("discovery", discovery),
            ("login", login),
            ("grant", grant),
            ("sign", sign),
        ):
            _load(server, 3.0, args.clients, call)  # warm: JIT, connections, caches
            figures[name] = _load(server, args.seconds, args.clients, call)
            print(name, json.dumps(figures[name]))
        figures["sign in process"] = _in_process(dc, pdf, args.seconds)
    table = render(figures, args.clients, args.seconds)
    print(table)
    if args.write_readme:
        write_readme_section("sso-bench", table)
        print(f"written to {REPO / 'README.md'}")
    return 0


def render(f: dict[str, tuple[float, float, float, int]], clients: int, seconds: float) -> str:
    base = f["discovery"][0]
    rows = [
        ("password logins (direct grant, hashed password, ID + access token)", "login", 25),
        ("client-credentials grants (a tenant's service client)", "grant", 200),
    ]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (Keycloak and the "
        f"load on the same cores); {clients} concurrent clients, {seconds:.0f} s each, on a "
        "scratch local DC.",
        "",
        "| what | per second | goal | p50 | p99 | errors | vs the discovery document |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, key, goal in rows:
        rate, p50, p99, errors = f[key]
        lines.append(
            f"| {label} | {rate:.0f} | ≥ {goal} | {p50:.0f} ms | {p99:.0f} ms | {errors} | "
            f"{rate / base:.3f}x |"
        )
    rate, p50, p99, errors = f["discovery"]
    lines.append(
        f"| baseline: the realm's discovery document (GET) | {rate:.0f} | — | {p50:.0f} ms | "
        f"{p99:.0f} ms | {errors} | 1x |"
    )
    rate, p50, p99, errors = f["sign"]
    alone = f["sign in process"]
    lines += [
        "",
        "| what | per second | goal | p50 | p99 | errors | vs pyHanko in one process |",
        "|---|---|---|---|---|---|---|",
        f"| PDF signatures through the service (token checked, PAdES B-T, the site's TSA) | "
        f"{rate:.0f} | ≥ 20 | {p50:.0f} ms | {p99:.0f} ms | {errors} | {rate / alone[0]:.2f}x |",
        f"| baseline: pyHanko signing the same PDF with the same keys, one process, no HTTP | "
        f"{alone[0]:.0f} | — | {alone[1]:.0f} ms | {alone[2]:.0f} ms | 0 | 1x |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
