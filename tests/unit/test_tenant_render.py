"""A tenant's objects, rendered from the example fleet: labels, quota, RBAC, and which
connections its network policies let through (evaluated on the objects)."""

from __future__ import annotations

import itertools

import pytest

from pdn.inventory import all_sites
from pdn.tenants import labels
from pdn.tenants.fleet import Fleet, load_fleet, tenant_files
from pdn.tenants.reachability import Endpoint, can_connect
from pdn.tenants.render import render

FLEET: Fleet = load_fleet(tenant_files(), all_sites())
SLUGS = sorted(FLEET.tenants)
POLICIES = [render(FLEET, s, "pdn-local").isolation for s in SLUGS]


def _pod(namespace: str, pod_labels: dict[str, str] | None = None) -> Endpoint:
    ns_labels = {labels.NAMESPACE_NAME: namespace}
    if namespace in FLEET.tenants:
        ns_labels.update(render(FLEET, namespace, "pdn-local").namespace["metadata"]["labels"])
    return Endpoint(namespace, ns_labels, pod_labels or {"app": "web"})


def test_the_namespace_carries_the_label_vocabulary() -> None:
    meta = render(FLEET, "kab-bekasi-rsud", "pdn-local").namespace["metadata"]
    assert meta["labels"] == {
        labels.MANAGED_BY: "pdn",
        labels.TENANT: "kab-bekasi-rsud",
        labels.PARENT: "kab-bekasi",
        labels.AGENCY_CODE: "KAB-3216-RSUD",
        labels.REGION_CODE: "32.16.06",
        labels.CLASSIFICATION: "confidential",
        labels.SITE: "pdn-local",
        labels.TIER: "vital",
        labels.POD_SECURITY_ENFORCE: "restricted",
        labels.POD_SECURITY_AUDIT: "restricted",
        labels.POD_SECURITY_WARN: "restricted",
    }


def test_quota_comes_from_the_tier_unless_the_file_sets_one() -> None:
    tier = render(FLEET, "kemendagri", "pdn-local").quota["spec"]["hard"]
    own = render(FLEET, "kab-bekasi-disdukcapil", "pdn-local").quota["spec"]["hard"]
    assert (tier["requests.cpu"], tier["pods"]) == ("32", "100")
    assert (own["requests.cpu"], own["requests.memory"]) == ("16", "64Gi")
    assert tier["services.loadbalancers"] == "0"


def test_units_bind_their_ancestors_readers_and_never_the_reverse() -> None:
    def readers(slug: str) -> set[str]:
        binding = render(FLEET, slug, "pdn-local").bindings[1]
        return {s["name"] for s in binding["subjects"]}

    # As the API servers see the SSO's groups: with its prefix.
    assert readers("kab-bekasi-rsud") == {"oidc:bekasi-inspektorat", "oidc:jabar-inspektorat"}
    assert readers("kab-bekasi") == {"oidc:bekasi-inspektorat", "oidc:jabar-inspektorat"}
    assert readers("prov-jawa-barat") == {"oidc:jabar-inspektorat"}  # not its units'
    assert readers("kemendagri") == {"oidc:kemendagri-auditors"}


@pytest.mark.parametrize(("source", "target"), list(itertools.permutations(SLUGS, 2)))
def test_tenants_reach_each_other_only_by_a_declared_and_accepted_flow(
    source: str, target: str
) -> None:
    allowed = can_connect(POLICIES, _pod(source), _pod(target), 443)
    assert allowed == ((source, target) == ("kab-bekasi-disdukcapil", "kemendagri"))


def test_a_tenant_reaches_dns_its_platform_services_and_itself() -> None:
    dns = Endpoint("kube-system", {labels.NAMESPACE_NAME: "kube-system"}, {"k8s-app": "kube-dns"})
    sso = Endpoint("pdn-identity", {labels.NAMESPACE_NAME: "pdn-identity"}, {"app": "keycloak"})
    gis = Endpoint("pdn-gis", {labels.NAMESPACE_NAME: "pdn-gis"}, {"app": "pygeoapi"})
    bekasi = _pod("kab-bekasi")
    assert can_connect(POLICIES, bekasi, dns, 53, "UDP")
    assert can_connect(POLICIES, bekasi, sso, 443)
    assert not can_connect(POLICIES, bekasi, gis, 443)  # kab-bekasi declared no gis flow
    assert can_connect(POLICIES, _pod("prov-jawa-barat"), gis, 443)
    assert can_connect(POLICIES, bekasi, _pod("kab-bekasi", {"app": "db"}), 5432)
    assert not can_connect(POLICIES, _pod("kab-bekasi-disdukcapil"), _pod("kemendagri"), 5432)
