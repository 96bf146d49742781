"""Print, as JSON, the Kubernetes objects the platform program writes for a site's clusters on
bare metal (Metal3): its SiteClusters component run under Pulumi mocks. A process of its own,
so that the mocks' global runtime stays out of the test session that checks the objects.

    python -m tests.bare_metal_render SITE.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pulumi

from infra.clusters import MachineBackend, MachineImage, Machines, SiteClusters, SiteClustersArgs
from pdn.inventory import load_site

IMAGE = MachineImage("https://images.pdn.go.id/ubuntu-24.04-k8s-v1.34.4.qcow2", "ab" * 32)


class _Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[Any, Any]]:
        if args.typ.startswith("kubernetes:"):
            self.objects.append(_plain(dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], None]:
        return {}, None


# How the mocks hand over a secret value (pulumi.runtime.rpc's signature key and value).
_SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


def _plain(value: Any) -> Any:
    """As the engine sends it to the cluster: secrets unwrapped, whole numbers as integers."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG[0]) == _SECRET_SIG[1]:
            return _plain(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def render(site_file: Path) -> list[dict[str, Any]]:
    site = load_site(site_file)
    recorder = _Recorder()
    pulumi.runtime.set_mocks(recorder, project="pdn", stack="render", preview=False)

    def program() -> None:
        SiteClusters(
            site.code,
            SiteClustersArgs(
                site=site,
                kubeconfig="unused",
                machines=Machines(MachineBackend.METAL3, IMAGE),
                bmc_username="pdn-metal3",
                bmc_password="rendered-only",
            ),
        )

    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    return recorder.objects


if __name__ == "__main__":
    json.dump(render(Path(sys.argv[1])), sys.stdout)
