"""The code path of `pdn up` / `pdn down`: the pinned CLI with pdn's environment, the kubeconfig
passed as a secret through stdin, idempotent config, the stack bound to its site and local DC,
against the real local DC."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pdn import paths, pulumi_env, stacks
from pdn.dc.lifecycle import LocalDC
from pdn.inventory import LOCAL_SITE, load_site
from tests.integration.dc_fixtures import site_without_clusters

pytestmark = pytest.mark.integration
CIKARANG = LOCAL_SITE.parent / "cikarang.yaml"


@pytest.fixture
def stack(engine: pulumi_env.PulumiEnvironment) -> Iterator[stacks.Stack]:
    created = stacks.Stack(engine, f"it-cli-{uuid.uuid4().hex[:8]}")
    try:
        yield created
    finally:
        created.remove()


def test_up_twice_keeps_config_and_changes_nothing(
    engine: pulumi_env.PulumiEnvironment, local_dc: LocalDC, stack: stacks.Stack, tmp_path: Path
) -> None:
    # The DC's own cluster (the clusters' second up is test_clusters').
    inventory = site_without_clusters(tmp_path)
    before = set(paths.REPO_ROOT.glob("Pulumi.*.yaml"))

    def up() -> dict[str, int]:
        return stacks.up_on_local_dc(
            engine,
            stack.name,
            load_site(inventory),
            inventory,
            local_dc.kubeconfig,
            workload_kubeconfigs=local_dc.workload_kubeconfigs(),
        )

    first = up()
    assert first == {"create": 63}
    config = stack.config_file.read_text()
    assert stack.config_file.parent == paths.state_dir() / "stacks"
    assert "pdn:kubeconfig:\n    secure: v1:" in config
    assert "pdn:clusterKubeconfigs:\n    secure: v1:" in config  # the workload clusters'
    assert "client-key-data" not in config  # the kubeconfigs are stored encrypted only
    assert "pdn:site: pdn-local" in config
    assert "pdn:cluster: local-dc" in config
    assert set(paths.REPO_ROOT.glob("Pulumi.*.yaml")) == before  # nothing in the working tree

    second = up()
    assert second == {"same": 63}
    assert stack.config_file.read_text() == config  # unchanged secret: not re-encrypted
    assert "63 unchanged" in stack.preview(expect_no_changes=True)


def test_a_stack_of_one_site_refuses_another_sites_inventory(
    engine: pulumi_env.PulumiEnvironment, local_dc: LocalDC, stack: stacks.Stack
) -> None:
    stack.ensure()
    stacks.bind_to_local_dc(stack, local_dc.site, LOCAL_SITE)
    with pytest.raises(stacks.StackError) as err:
        stacks.up_on_local_dc(
            engine, stack.name, load_site(CIKARANG), CIKARANG, local_dc.kubeconfig
        )
    assert f"stack {stack.name!r} is bound to site 'pdn-local'" in str(err.value)
    assert "is site 'pdn-cikarang'" in str(err.value)
    assert stack.get_config(stacks.SITE_KEY) == "pdn-local"  # not rebound

    # Changing the inventory behind pdn's back: the program itself refuses.
    stack.set_config(stacks.INVENTORY_KEY, "infra/inventory/cikarang.yaml")
    with pytest.raises(pulumi_env.PulumiEnvError, match="this stack is bound to site 'pdn-local'"):
        stack.preview()


def test_a_stack_of_an_external_cluster_is_not_pointed_at_the_local_dc(
    engine: pulumi_env.PulumiEnvironment, local_dc: LocalDC, stack: stacks.Stack
) -> None:
    stack.ensure()
    stack.set_config(stacks.CLUSTER_KEY, "cikarang-mgmt")
    with pytest.raises(stacks.StackError, match="targets the cluster 'cikarang-mgmt'"):
        stacks.up_on_local_dc(engine, stack.name, local_dc.site, LOCAL_SITE, local_dc.kubeconfig)
    assert stack.get_config(stacks.KUBECONFIG_KEY) is None


def test_a_failing_pulumi_command_is_one_clear_error(
    engine: pulumi_env.PulumiEnvironment,
) -> None:
    with pytest.raises(pulumi_env.PulumiEnvError, match=r"`pulumi stack select no-such-stack`"):
        pulumi_env.run_pulumi(engine, ["stack", "select", "no-such-stack"], capture=True)
