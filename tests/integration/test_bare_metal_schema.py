"""The production path's objects, checked by a real API server against the CRDs of the pinned
versions: Cluster API v1.14.2's (the management cluster's own) and the BareMetalHost of
baremetal-operator v0.11.0 (generated, infra/clusters/crds). Every object Pulumi would write for
PDN Cikarang on bare metal is created with dry run and strict field validation, so an unknown
or misspelt field, a wrong type or a value outside an enum is refused, and Cluster API's own
webhooks see them too. CAPM3's Metal3Cluster and Metal3MachineTemplate are not checked: its
modules are not on the module proxy, so there is no CRD of it to generate here."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from pdn import paths
from pdn.dc.lifecycle import LocalDC
from pdn.inventory import INVENTORY_DIR

pytestmark = pytest.mark.integration

CRD_FILE = paths.REPO_ROOT / "infra" / "clusters" / "crds" / "metal3.io_baremetalhosts.yaml"
UNCHECKED = {"Metal3Cluster", "Metal3MachineTemplate"}  # no CAPM3 CRD to check against


def _rendered() -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bare_metal_render", str(INVENTORY_DIR / "cikarang.yaml")],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    objects: list[dict[str, Any]] = json.loads(done.stdout)
    return [o for o in objects if o["kind"] != "Namespace"]


@pytest.fixture
def bare_metal_api(local_dc: LocalDC) -> Iterator[tuple[k8s.ApiClient, str]]:
    """The session DC with the BareMetalHost CRD and a namespace of its own; both removed."""
    namespace = f"it-bare-metal-{uuid.uuid4().hex[:6]}"
    crd = yaml.safe_load(CRD_FILE.read_text())
    with local_dc.api_client() as api:
        extensions = k8s.ApiextensionsV1Api(api)
        core = k8s.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": namespace}})
        extensions.create_custom_resource_definition(crd)
        try:
            deadline = time.monotonic() + 60
            while not any(
                c.type == "Established" and c.status == "True"
                for c in extensions.read_custom_resource_definition(
                    crd["metadata"]["name"]
                ).status.conditions
                or []
            ):
                assert time.monotonic() < deadline, "the BareMetalHost CRD was never established"
                time.sleep(0.5)
            yield api, namespace
        finally:
            extensions.delete_custom_resource_definition(crd["metadata"]["name"])
            core.delete_namespace(namespace)


def _dry_run_create(api: k8s.ApiClient, namespace: str, obj: dict[str, Any]) -> None:
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = namespace
    if obj["kind"] == "Secret":
        k8s.CoreV1Api(api).create_namespaced_secret(
            namespace, obj, dry_run="All", field_validation="Strict"
        )
        return
    group, version = obj["apiVersion"].split("/")
    plural = f"{obj['kind'].lower()}s"
    k8s.CustomObjectsApi(api).create_namespaced_custom_object(
        group, version, namespace, plural, obj, dry_run="All", field_validation="Strict"
    )


def _refusal(api: k8s.ApiClient, namespace: str, obj: dict[str, Any]) -> str:
    with pytest.raises(k8s.ApiException) as refused:
        _dry_run_create(api, namespace, obj)
    return str(json.loads(refused.value.body)["message"])


def test_every_bare_metal_object_passes_the_pinned_crds(
    bare_metal_api: tuple[k8s.ApiClient, str],
) -> None:
    api, namespace = bare_metal_api
    objects = _rendered()
    kinds = {o["kind"] for o in objects}
    assert kinds - UNCHECKED == {
        "BareMetalHost",
        "Secret",
        "Cluster",
        "KubeadmControlPlane",
        "MachineDeployment",
        "KubeadmConfigTemplate",
    }
    checked = 0
    for obj in objects:
        if obj["kind"] not in UNCHECKED:
            _dry_run_create(api, namespace, obj)
            checked += 1
    assert checked == 331  # 312 hosts, the BMC Secret; 3 clusters, 3 control planes, 6 pools x2

    # The check can fail: what a typo, a wrong type or a value outside an enum would meet.
    host = next(o for o in objects if o["kind"] == "BareMetalHost")
    misspelt = copy.deepcopy(host)
    misspelt["spec"]["bootMacAddress"] = misspelt["spec"].pop("bootMACAddress")
    assert 'unknown field "spec.bootMacAddress"' in _refusal(api, namespace, misspelt)
    bad_mode = copy.deepcopy(host)
    bad_mode["spec"]["bootMode"] = "BIOS"
    assert "spec.bootMode" in _refusal(api, namespace, bad_mode)
    deployment = copy.deepcopy(next(o for o in objects if o["kind"] == "MachineDeployment"))
    deployment["spec"]["replicas"] = "twelve"
    assert "spec.replicas" in _refusal(api, namespace, deployment)
