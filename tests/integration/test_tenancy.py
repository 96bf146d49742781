"""The example tenants onboarded on the real local DC, through the real engine, shard stacks and
a stack reference to a real platform stack: isolation proven with impersonated users on the
real API server, network isolation on the policies the cluster holds, idempotence, removal of
exactly one tenant, and a broken file that changes nothing."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from pdn import pulumi_env, stacks
from pdn.cli.main import main
from pdn.clusters.placement import placements
from pdn.tenants import labels
from pdn.tenants.access import attempts
from pdn.tenants.reachability import Endpoint, can_connect
from pdn.tenants.render import sso_group
from pdn.tenants.rollout import POLICY_PACK, existing_shards, shard_stack
from tests.integration.conftest import SITE, Onboarded

pytestmark = pytest.mark.integration


def _impersonated(onboarded: Onboarded, target: str, group: str) -> k8s.ApiClient:
    """A client of the cluster tenant target lives on that acts as a user of group, by
    impersonation (as kubectl --as/--as-group)."""
    api = onboarded.api_client(target)
    api.set_default_header("Impersonate-User", f"it-user-of-{group}")
    api.set_default_header("Impersonate-Group", sso_group(group))
    return api


def test_every_tenant_is_on_the_cluster_as_its_file_says(onboarded: Onboarded) -> None:
    """Each on the workload cluster of its data class, and on no other cluster."""
    for slug, tenant in onboarded.fleet().tenants.items():
        with onboarded.api_client(slug) as api:
            core = k8s.CoreV1Api(api)
            namespace = core.read_namespace(slug)
            assert namespace.metadata.labels[labels.REGION_CODE] == tenant.region_code
            assert namespace.metadata.labels[labels.POD_SECURITY_ENFORCE] == "restricted"
            quota = core.read_namespaced_resource_quota("tenant-quota", slug)
            assert quota.spec.hard["pods"] == str(tenant.effective_quota.pods)
        home = placements(onboarded.dc.site, [tenant])[slug]
        assert home == ("restricted" if tenant.classification.rank >= 2 else "general")
        for elsewhere in (None, *(c for c in onboarded.dc.workload_planes if c != home)):
            with onboarded.dc.api_client(cluster=elsewhere) as api:
                with pytest.raises(ApiException) as absent:
                    k8s.CoreV1Api(api).read_namespace(slug)
                assert absent.value.status == 404, (slug, elsewhere)


def test_isolation_matrix_with_impersonated_users(onboarded: Onboarded) -> None:
    """For every pair of tenants: an admin of one does nothing in the other's namespace; a
    parent's readers read its units (never secrets), and a unit never sees its parent."""
    fleet = onboarded.fleet()
    lines = []
    for actor, target in itertools.product(sorted(fleet.tenants), repeat=2):
        admins = fleet.tenants[actor].groups.admins[0]
        with _impersonated(onboarded, target, admins) as api:
            done = attempts(api, target, "it-probe")
        expected = actor == target
        assert done == dict.fromkeys(done, expected), (actor, target, done)
        lines.append(f"admin of {actor:<24} in {target:<24} {'ALL' if expected else 'none'}")
        for readers in fleet.tenants[actor].groups.readers:
            with _impersonated(onboarded, target, readers) as api:
                done = attempts(api, target, "it-probe")
            reads = target == actor or target in fleet.units(actor)
            assert done == {
                "list secrets": False,
                "list pods": reads,
                "read configmaps": reads,
                "write configmap": False,
            }, (readers, target, done)
            lines.append(f"reader of {actor:<23} in {target:<24} {'read' if reads else 'none'}")
    print("\n".join(lines))  # the matrix, in the test log


def test_network_isolation_on_the_policies_the_clusters_hold(onboarded: Onboarded) -> None:
    """Tenants on one cluster reach each other only as their files say; tenants on two
    clusters share no network at all."""
    clients = onboarded.workload_api_clients()
    policies, namespaces, home = [], {}, {}
    for api in clients:
        with api:
            held = [
                api.sanitize_for_serialization(p)
                for p in k8s.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items
            ]
            policies.append(held)
            for n in k8s.CoreV1Api(api).list_namespace().items:
                if labels.TENANT in (n.metadata.labels or {}):
                    namespaces[n.metadata.name] = n.metadata.labels
                    home[n.metadata.name] = len(policies) - 1
    slugs = sorted(onboarded.fleet().tenants)
    for source, target in itertools.permutations(slugs, 2):
        allowed = home[source] == home[target] and can_connect(
            policies[home[target]],
            Endpoint(source, namespaces[source], {"app": "web"}),
            Endpoint(target, namespaces[target], {"app": "web"}),
            443,
        )
        print(f"{source:<24} -> {target:<24} {'allowed' if allowed else 'denied'}")
        assert allowed == ((source, target) == ("kab-bekasi-disdukcapil", "kemendagri"))


def test_a_second_rollout_changes_nothing(onboarded: Onboarded) -> None:
    for stack, changes in onboarded.roll_out().items():
        assert set(changes) == {"same"}, (stack, changes)


def test_the_plain_cli_program_is_the_inline_one(onboarded: Onboarded) -> None:
    """pdn runs each shard's program inline; `pulumi preview` on a shard stack runs
    tenancy/__main__.py instead, and must find nothing to change."""
    for shard in sorted(existing_shards(onboarded.env, SITE)):
        shown = shard_stack(onboarded.env, SITE, shard).preview(expect_no_changes=True)
        assert "unchanged" in shown


def test_one_tenant_rolls_out_alone(onboarded: Onboarded) -> None:
    changes = onboarded.roll_out(["kemendagri"])
    # kemendagri and the unit that flows to it: their shards only, nothing else touched.
    assert len(changes) <= 2
    assert all(set(c) == {"same"} for c in changes.values())


def test_removing_a_file_removes_exactly_that_tenant(onboarded: Onboarded) -> None:
    homes = placements(onboarded.dc.site, onboarded.fleet().tenants.values())
    before = {}
    for name, home in homes.items():
        with onboarded.dc.api_client(cluster=home) as api:
            before[name] = k8s.CoreV1Api(api).read_namespace(name).metadata.uid
    removed = onboarded.tenants_dir / "kab-bekasi-rsud.yaml"
    kept = removed.read_bytes()
    removed.unlink()
    try:
        onboarded.roll_out()
        for name, uid in before.items():
            with onboarded.dc.api_client(cluster=homes[name]) as api:
                core = k8s.CoreV1Api(api)
                if name == "kab-bekasi-rsud":
                    assert _gone_or_going(core, name)
                else:
                    assert core.read_namespace(name).metadata.uid == uid, name
    finally:
        removed.write_bytes(kept)
        _wait_gone(onboarded, "kab-bekasi-rsud")
        onboarded.roll_out()


def _gone_or_going(core: k8s.CoreV1Api, namespace: str) -> bool:
    try:
        found = core.read_namespace(namespace)
    except ApiException as err:
        if err.status == 404:
            return True
        raise
    return found.metadata.deletion_timestamp is not None


def _wait_gone(onboarded: Onboarded, namespace: str) -> None:
    import time  # noqa: PLC0415

    deadline = time.monotonic() + 60
    with onboarded.api_client(namespace) as api:
        while time.monotonic() < deadline:
            try:
                k8s.CoreV1Api(api).read_namespace(namespace)
            except ApiException as err:
                if err.status == 404:
                    return
                raise
            time.sleep(0.5)


def test_a_broken_file_changes_nothing(
    onboarded: Onboarded, capsys: pytest.CaptureFixture[str]
) -> None:
    history = _updates(onboarded)
    broken = onboarded.tenants_dir / "kab-bekasi.yaml"
    kept = broken.read_text()
    broken.write_text(kept.replace('region_code: "32.16"', 'region_code: "32.99"'))
    try:
        code = main(["tenant", "up", "--all", "--dir", str(onboarded.tenants_dir)])
    finally:
        broken.write_text(kept)
    err = capsys.readouterr().err
    assert code == 1
    assert "kab-bekasi.yaml:7:1: region_code: '32.99' is not in the Kemendagri list" in err
    assert "Traceback" not in err
    assert _updates(onboarded) == history  # no stack was updated


def _updates(onboarded: Onboarded) -> dict[int, int]:
    """How many updates each shard stack has had."""
    counts = {}
    for shard in existing_shards(onboarded.env, SITE):
        stack = shard_stack(onboarded.env, SITE, shard)
        counts[shard] = len(json.loads(stack._run(["stack", "history", "--json"], config=False)))
    return counts


ROGUE_PROGRAM = """
import pulumi
import pulumi_kubernetes as k8s

cluster = k8s.Provider("cluster", kubeconfig=pulumi.Config("pdn").require_secret("kubeconfig"))
opts = pulumi.ResourceOptions(provider=cluster)
namespace = {"pdn.go.id/tenant": "rogue", "pdn.go.id/site": "pdn-local",
             "pdn.go.id/classification": "secret", "pdn.go.id/region-code": "32.16"}
k8s.core.v1.Namespace("rogue", metadata={"name": "rogue", "labels": namespace}, opts=opts)
k8s.rbac.v1.RoleBinding(
    "rogue-admins",
    metadata={"name": "everyone", "namespace": "rogue"},
    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
              "name": "cluster-admin"},
    subjects=[{"kind": "ServiceAccount", "name": "default", "namespace": "kemendagri"}],
    opts=opts,
)
"""


def test_the_policy_pack_stops_a_bad_change_in_the_real_engine(
    onboarded: Onboarded, tmp_path: Path
) -> None:
    """A program that skips pdn's validation and writes a tenant namespace by hand."""
    project = tmp_path / "rogue"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: rogue\nruntime: python\n")
    (project / "__main__.py").write_text(ROGUE_PROGRAM)
    stack = stacks.Stack(onboarded.env, "it-rogue", project, policy_packs=(POLICY_PACK,))
    stack.ensure()
    try:
        stack.set_config("pdn:kubeconfig", onboarded.dc.kubeconfig.read_text(), secret=True)
        with pytest.raises(pulumi_env.PulumiEnvError) as err:
            stack.preview()
        message = str(err.value)
        print(message)
        for policy in (
            "pdn-tenant-namespace-labels",
            "pdn-classification-at-site",
            "pdn-tenant-default-deny",
            "pdn-tenant-quota",
            "pdn-rolebinding-within-tenant",
        ):
            assert policy in message, policy
    finally:
        stack.remove()
    with onboarded.dc.api_client() as api, pytest.raises(ApiException) as missing:
        k8s.CoreV1Api(api).read_namespace("rogue")
    assert missing.value.status == 404  # a preview: nothing was made
