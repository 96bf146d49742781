"""`pdn comply run` on the session's real DC: its PDN hosts (over SSH), its clusters (asked
through their API servers), its example tenants (as their own groups, by impersonation, and in
their backup catalogs), its object stores and every TLS endpoint. Every control passes on what
onboarding made and the backups and drills the platform ran; seeded drift (Pod Security,
default deny, classification, a public bucket, stopped backups) fails exactly the seeded
controls, with evidence, and the HTML report opened in a real headless Chromium shows it
against the clean run before (its screenshot kept with the run); a rollout with refresh puts it
right; a cluster that does not answer fails each of its controls; a weak TLS server fails."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kubernetes import client as k8s

from pdn.compliance import browser
from pdn.compliance.browser import ensure_chromium
from pdn.compliance.catalog import load_catalog
from pdn.compliance.fix import apply_fixes
from pdn.compliance.html import PLATFORM
from pdn.compliance.run import Report, run
from pdn.compliance.targets import (
    ClusterTarget,
    Scope,
    TlsTarget,
    local_scope,
    pdn_host_targets,
)
from pdn.dataservices import identities, runner
from pdn.tenants import labels
from tests.integration.conftest import SITE, Onboarded
from tests.integration.test_comply_hosts import HOST_CONTROLS

pytestmark = pytest.mark.integration

DC_CONTROLS = {"PDN-API-1", "PDN-API-2", "PDN-AUDIT-1", "PDN-S3-1"}
TENANT_CONTROLS = {
    "PDN-PSA-1",
    "PDN-NETPOL-1",
    "PDN-RES-1",
    "PDN-ISO-1",
    "PDN-BACKUP-1",
    "PDN-BACKUP-2",
}


def _failed(report: Report) -> set[tuple[str, str]]:
    return {(r.control, r.target) for r in report.results if not r.outcome.ok}


@pytest.fixture
def scope(onboarded: Onboarded) -> Scope:
    """The DC's scope, every tenant backed up and drilled (as the platform's schedule does)."""
    sites, fleet = runner.local_sites(onboarded.dc), onboarded.fleet()
    runner.run(sites, fleet, SITE, progress=print)
    for slug in runner.drills_due(runner.status(sites, fleet, SITE)):
        assert runner.drill_tenant(sites, fleet, SITE, slug, progress=print).verified
    return local_scope(onboarded.dc, fleet)


def test_the_dc_as_onboarded_passes_every_control(
    onboarded: Onboarded, scope: Scope, tmp_path: Path
) -> None:
    hosts = pdn_host_targets(onboarded.dc, onboarded.fleet())  # the tenants' PDN hosts (IaaS)
    assert {h.agency for h in hosts} == {
        t.slug for t in onboarded.fleet().tenants.values() if t.hosts
    }
    report = run(hosts, load_catalog(), (), scope=scope, runs=tmp_path)
    for r in report.results:
        print(f"{r.control:<13} {r.target:<40} {r.outcome.value:<7} {r.evidence[:150]}")
    assert _failed(report) == set(), [r for r in report.results if not r.outcome.ok]
    expected = {
        (control, cluster.target)
        for cluster in scope.clusters
        for control in ("PDN-API-1", "PDN-API-2", "PDN-AUDIT-1")
    }
    expected |= {("PDN-S3-1", store.target) for store in scope.stores}
    expected |= {("PDN-TLS-1", endpoint.target) for endpoint in scope.endpoints}
    expected |= {(c, f"pdn-host/{h.name}") for h in hosts for c in HOST_CONTROLS}
    expected |= {(c, t.target) for t in scope.tenants for c in TENANT_CONTROLS}
    assert {(r.control, r.target) for r in report.results} == expected
    # A PDN host is an application host: its firewall lets in SSH and the web, nothing else.
    assert all(
        "policy drop, denies by default, tcp in 22, 80, 443" in r.evidence
        for r in report.results
        if r.control == "PDN-NET-1"
    )
    # Their packages come from the DC's mirror (served beside the DC's time server).
    mirror = {h.mirror for h in hosts}
    assert len(mirror) == 1
    assert all(
        f"each from the DC's mirror {h.mirror}, none behind it" in r.evidence
        for h in hosts
        for r in report.results
        if (r.control, r.target) == ("PDN-PKG-1", f"pdn-host/{h.name}")
    )
    assert len(scope.tenants) == len(scope.clusters) + 2  # the five examples, on three clusters
    # Each API server, each object store, each database server.
    assert len(scope.endpoints) == len(scope.clusters) + len(scope.stores) + 2


PUBLIC = "anonymous"  # SeaweedFS's identity for requests without a key


@pytest.fixture
def drifted(
    onboarded: Onboarded, scope: Scope, tmp_path: Path
) -> Iterator[tuple[Scope, dict[str, str], Path]]:
    """Changes made behind pdn's back, after a clean run: one tenant's namespace no longer
    enforces `restricted`, another lost its default-deny policy, a third is labelled `secret`
    (which its site may not hold); an operator opened a fifth tenant's bucket to anyone (read
    and list, through the store's own IAM: its `anonymous` identity); and the fourth's backups
    stopped: the run is made as of just past its tier's limit since its last backup (the other
    tenants' as of now). Put right afterwards by a rollout with refresh and the public identity
    removed, as an operator would."""
    ensure_chromium()
    runs = tmp_path / "runs"
    assert run([], load_catalog(), (), scope=scope, runs=runs).ok
    slugs = sorted(t.tenant.slug for t in scope.tenants)
    rows = scope.backups() if scope.backups else []
    stale, opened = slugs[3], slugs[4]
    bucket = next(
        r.data_set.removeprefix("bucket ")
        for r in rows
        if r.tenant == opened and r.data_set.startswith("bucket ")
    )
    store = scope.stores[0]
    seeded = {
        f"tenant/{slugs[0]}": "PDN-PSA-1",
        f"tenant/{slugs[1]}": "PDN-NETPOL-1",
        f"tenant/{slugs[2]}": "PDN-RES-1",
        f"tenant/{stale}": "PDN-BACKUP-1",
        store.target: "PDN-S3-1",
    }
    homes = {t.tenant.slug: t.cluster for t in scope.tenants}
    limit = next(r.policy.stale_after for r in rows if r.tenant == stale)
    sites, fleet = runner.local_sites(onboarded.dc), onboarded.fleet()

    def backups_stopped() -> list[runner.StatusRow]:
        later = datetime.now(UTC) + limit + timedelta(minutes=1)
        return [r for r in runner.status(sites, fleet, SITE) if r.tenant != stale] + [
            r for r in runner.status(sites, fleet, SITE, now=later) if r.tenant == stale
        ]

    def patch_namespace(slug: str, key: str, value: str) -> None:
        with homes[slug].api_client() as api:
            k8s.CoreV1Api(api).patch_namespace(slug, {"metadata": {"labels": {key: value}}})

    iam = onboarded.dc.object_storage_client(service="iam")
    try:
        patch_namespace(slugs[0], labels.POD_SECURITY_ENFORCE, "privileged")
        with homes[slugs[1]].api_client() as api:
            k8s.NetworkingV1Api(api).delete_namespaced_network_policy("tenant-isolation", slugs[1])
        patch_namespace(slugs[2], labels.CLASSIFICATION, "secret")
        iam.create_user(UserName=PUBLIC)
        identities.put_policy(iam, PUBLIC, [bucket])
        yield replace(scope, backups=backups_stopped), seeded, runs
    finally:
        identities.delete_user(iam, PUBLIC)
        changes = onboarded.roll_out([s.removeprefix("tenant/") for s in seeded][:3], refresh=True)
        print(f"put right: {changes}")


def test_drift_fails_exactly_the_seeded_controls(
    drifted: tuple[Scope, dict[str, str], Path], onboarded: Onboarded, scope: Scope
) -> None:
    drifted_scope, seeded, runs = drifted
    report = run([], load_catalog(), (), scope=drifted_scope, runs=runs)
    failed = {r.control: r for r in report.results if not r.outcome.ok}
    assert _failed(report) == {(c, target) for target, c in seeded.items()}
    assert "enforce=privileged" in failed["PDN-PSA-1"].evidence
    assert "ADMITTED" in failed["PDN-PSA-1"].evidence
    assert "default deny NONE" in failed["PDN-NETPOL-1"].evidence
    assert "'secret' data may not be held at pdn-local" in failed["PDN-RES-1"].evidence
    assert ": list" in failed["PDN-S3-1"].evidence
    assert ": read" in failed["PDN-S3-1"].evidence
    assert "tier allows" in failed["PDN-BACKUP-1"].evidence
    _the_page_shows(report, seeded)
    # An operator's fix: the public identity removed, the tenants rolled out again with
    # refresh, the backups running again (the run as of now); every control passes again.
    identities.delete_user(onboarded.dc.object_storage_client(service="iam"), PUBLIC)
    tenants = [t.removeprefix("tenant/") for t, c in seeded.items() if c in FIXED_BY_ROLLOUT]
    onboarded.roll_out(tenants, refresh=True)
    again = run([], load_catalog(), (), scope=scope, runs=runs)
    assert _failed(again) == set(), [r for r in again.results if not r.outcome.ok]
    with browser.page(again.html) as page:
        assert page.locator("#verdict").inner_text() == "COMPLIANT"
        assert f"0 new failure(s), {len(seeded)} fixed" in page.locator("#trend").inner_text()
        assert page.locator("#results tr.fixed").count() == len(seeded)


FIXED_BY_ROLLOUT = {"PDN-PSA-1", "PDN-NETPOL-1", "PDN-RES-1"}


def _the_page_shows(report: Report, seeded: dict[str, str]) -> None:
    """The HTML report, opened in a real headless Chromium, as an SRE reads it."""
    with browser.page(report.html) as page:
        assert page.locator("#verdict").inner_text() == "NOT COMPLIANT"
        # Against the clean run before it.
        assert f"{len(seeded)} new failure(s), 0 fixed" in page.locator("#trend").inner_text()
        assert page.locator("#count-failed").inner_text() == f"failed: {len(seeded)}"
        for target, control in seeded.items():
            kind, _, name = target.partition("/")
            agency = page.locator(
                f'#agencies tr[data-agency="{name if kind == "tenant" else PLATFORM}"]'
            )
            assert agency.get_attribute("data-state") == "failed"
            assert control in agency.inner_text()
            row = page.locator(f'#results tr[data-control="{control}"][data-target="{target}"]')
            assert row.get_attribute("data-outcome") == "failed"
            assert "new failure" in row.inner_text()
            assert row.is_visible()
        psa = page.locator('#results tr[data-control="PDN-PSA-1"][data-outcome="failed"]')
        assert "enforce=privileged" in psa.inner_text()  # the evidence, as found
        assert (
            page.locator('#controls tr[data-control="PDN-ISO-1"]').get_attribute("data-failing")
            == "0"
        )
    # The screenshot kept with the run.
    assert report.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.screenshot.stat().st_size > 10_000


def test_fix_puts_a_pdn_host_right(onboarded: Onboarded, tmp_path: Path) -> None:
    """A PDN host whose administrator let passwords in over SSH fails PDN-SSH-1; --fix puts it
    right through the host pool's own inventory."""
    hosts = pdn_host_targets(onboarded.dc, onboarded.fleet())
    weak, pool = hosts[0], onboarded.dc.host_pool()
    ssh = pool.ssh_argv(weak.address)
    dropins = "/etc/ssh/sshd_config.d"
    subprocess.run(
        [*ssh, f"printf 'PasswordAuthentication yes\\n' > {dropins}/00-admin.conf"],
        check=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    try:
        catalog = load_catalog()
        report = run(hosts, catalog, (), runs=tmp_path, screenshot=False)
        assert _failed(report) == {("PDN-SSH-1", f"pdn-host/{weak.name}")}
        fixes = apply_fixes(report, catalog, pool.runtime(pool.allocations()), kind="pdn-host")
        assert fixes.roles == {weak.name: ["comply_ssh"]}
        assert fixes.run is not None
        assert not fixes.run.failed
        assert fixes.run.changed.get(weak.name, 0) > 0
        assert run(hosts, catalog, (), runs=tmp_path, screenshot=False).ok
    finally:
        subprocess.run(
            [*ssh, f"rm -f {dropins}/00-admin.conf {dropins}/00-pdn-hardening.conf"],
            check=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )


def test_an_endpoint_with_old_tls_and_null_ciphers_fails(
    onboarded: Onboarded, tmp_path: Path
) -> None:
    """A server with the DC's own certificate that also takes TLS 1.1 and ciphers without
    encryption (OpenSSL's test server): the modern handshake verifies, the control fails."""
    pki = onboarded.dc.settings.pki_dir
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "s_server.log").open("w")
    server = subprocess.Popen(
        [
            "openssl", "s_server", "-accept", f"127.0.0.1:{port}",
            "-cert", str(pki / "databases.crt"), "-key", str(pki / "databases.key"),
            "-cipher", "ALL:eNULL:@SECLEVEL=0", "-min_protocol", "TLSv1", "-www",
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        weak = TlsTarget("weak", "127.0.0.1", port, pki / "ca.crt")
        report = run([], load_catalog(), (), scope=Scope(endpoints=[weak]), runs=tmp_path)
    finally:
        server.kill()
        server.wait()
        log.close()
    [result] = report.results
    assert (result.control, result.target, result.passed) == (
        "PDN-TLS-1",
        "tls-endpoint/weak",
        False,
    )
    assert "certificate verified" in result.evidence
    assert "TLS 1.1: ACCEPTED" in result.evidence
    assert "weak ciphers: ACCEPTED" in result.evidence


def test_a_cluster_that_does_not_answer_fails_each_control(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: nobody, user: {token: none}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: nobody}}]\n"
    )
    gone = ClusterTarget("gone", kubeconfig, tmp_path / "audit.log")
    report = run([], load_catalog(), (), scope=Scope(clusters=[gone]), runs=tmp_path)
    assert _failed(report) == {
        (c, "cluster/gone") for c in ("PDN-API-1", "PDN-API-2", "PDN-AUDIT-1")
    }
    assert all(r.evidence for r in report.results)
