"""The pinned components of the air-gapped toolchain.

Each component is built from Go modules committed under ``toolchain/``; the pins live in those
go.mod/go.sum files, and the versions here only stamp and check the binaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pdn.toolchain.errors import ToolchainError

PULUMI_VERSION = "v3.274.1"
LANGUAGE_HOST_SDK_VERSION = "v3.68.0"
PULUMI_KUBERNETES_VERSION = "4.25.0"
PULUMI_KUBERNETES_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4"
PULUMI_KUBERNETES_PSEUDO_VERSION = "v4.0.0-20260115033456-f47bc2d6f199"
KUBERNETES_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
KWOK_STAGES_DIR = "share/kwok/stages"
CLUSTER_API_VERSION = "v1.14.2"
# pdn's own feature front of the GIS service (toolchain/pdn-features): raise with its source.
FEATURES_VERSION = "0.1.0"
CLUSTER_API_DIR = "share/cluster-api"  # each provider's CRDs, RBAC role and webhooks
_CAPI = "sigs.k8s.io/cluster-api"
# (binary, main package, module holding its config, config dir inside that module)
# CAPD's in-memory workload servers with their ports from the environment and bound to POD_IP
# (v1.14.2 fixes them, on every address): see toolchain/cluster-api/overlay/.
_INMEMORY_MUX = "infrastructure/inmemory/pkg/server/mux.go"
CAPD_OVERLAYS = ((f"{_CAPI}/test", _INMEMORY_MUX, f"overlay/{_INMEMORY_MUX}"),)
# Every controller's cluster cache with its wait before connecting again to a workload cluster
# from the environment (a new cluster's first connection is refused for seconds, and the fixed
# 30 s wait made every cluster that much slower to make): see toolchain/cluster-api/overlay/.
_CLUSTER_CACHE = "controllers/clustercache/cluster_cache.go"
CAPI_OVERLAYS = ((_CAPI, _CLUSTER_CACHE, f"overlay/{_CLUSTER_CACHE}"),)
CLUSTER_API_PROVIDERS = (
    ("capi-controller", f"{_CAPI}/core", _CAPI, "core/config"),
    ("capi-kubeadm-bootstrap", f"{_CAPI}/bootstrap/kubeadm", _CAPI, "bootstrap/kubeadm/config"),
    (
        "capi-kubeadm-control-plane",
        f"{_CAPI}/controlplane/kubeadm",
        _CAPI,
        "controlplane/kubeadm/config",
    ),
    (
        "capd-controller",
        f"{_CAPI}/test/infrastructure/docker",
        f"{_CAPI}/test",
        "infrastructure/docker/config",
    ),
)


@dataclass(frozen=True)
class Binary:
    """One executable the toolchain provides and how to ask it its version."""

    name: str
    # How to ask it its version: run it with these arguments; () means read the module versions
    # Go embedded in it (`go version -m`), for binaries without a version flag.
    version_args: tuple[str, ...]
    expected_version: str  # substring of the version output; "" for a plain script
    # A Pulumi resource plugin: start it and ask over gRPC (GetPluginInfo), as the engine does.
    plugin: bool = False


@dataclass(frozen=True)
class GoBuild:
    """One `go build` of packages from a committed module directory into the component's bin/."""

    module_dir: str  # under toolchain/
    packages: tuple[str, ...]
    output: str | None = None  # a file name when one package is built under another name
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Set when the module's own source must be copied out of the module cache and built in place
    # (its zip lacks files that a generator writes): (module path, version).
    copy_source: tuple[str, str] | None = None
    generate_env: tuple[tuple[str, str], ...] = ()
    # Source files replaced for this build (`go build -overlay`): (module path, file inside the
    # module, the committed replacement relative to module_dir).
    overlays: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Component:
    name: str
    origin: str  # the module@version a user would recognise
    builds: tuple[GoBuild, ...]
    binaries: tuple[Binary, ...]
    # Plain files taken from a module in the cache: (module dir whose go.mod pins it, module path,
    # file inside the module, destination relative to the component dir).
    module_files: tuple[tuple[str, str, str, str], ...] = field(default=())


_PULUMI_VERSION_PKG = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
_K8S_VERSION_PKG = "k8s.io/component-base/version"
_K8S_MAJOR, _K8S_MINOR = KUBERNETES_VERSION.lstrip("v").split(".")[:2]

COMPONENTS: tuple[Component, ...] = (
    Component(
        name="pulumi",
        origin=f"github.com/pulumi/pulumi/pkg/v3@{PULUMI_VERSION} "
        f"+ sdk/v3@{LANGUAGE_HOST_SDK_VERSION} (python language host)",
        builds=(
            GoBuild(
                module_dir="pulumi",
                packages=("github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",),
                ldflags=(f"-X {_PULUMI_VERSION_PKG}={PULUMI_VERSION}",),
                tags=("osusergo", "grpcnotrace"),
            ),
            GoBuild(
                module_dir="pulumi-language-python",
                packages=("github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python",),
                ldflags=(f"-X {_PULUMI_VERSION_PKG}={LANGUAGE_HOST_SDK_VERSION}",),
            ),
        ),
        binaries=(
            Binary("pulumi", ("version",), PULUMI_VERSION),
            Binary("pulumi-language-python", (), LANGUAGE_HOST_SDK_VERSION),
            Binary("pulumi-language-python-exec", (), ""),
            # Runs Python dynamic providers (`python -m pulumi.dynamic`), e.g. pdn's tenants.
            Binary("pulumi-resource-pulumi-python", (), ""),
        ),
        module_files=(
            (
                "pulumi",
                "github.com/pulumi/pulumi/sdk/v3",
                "python/cmd/pulumi-language-python-exec",
                "bin/pulumi-language-python-exec",
            ),
            (
                "pulumi",
                "github.com/pulumi/pulumi/sdk/v3",
                "python/dist/pulumi-resource-pulumi-python",
                "bin/pulumi-resource-pulumi-python",
            ),
        ),
    ),
    Component(
        name="pulumi-kubernetes",
        origin=f"{PULUMI_KUBERNETES_MODULE}@{PULUMI_KUBERNETES_PSEUDO_VERSION} "
        f"(release {PULUMI_KUBERNETES_VERSION})",
        builds=(
            GoBuild(
                module_dir="pulumi-kubernetes",
                packages=("./cmd/pulumi-resource-kubernetes",),
                ldflags=(
                    "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version="
                    + PULUMI_KUBERNETES_VERSION,
                ),
                copy_source=(PULUMI_KUBERNETES_MODULE, PULUMI_KUBERNETES_PSEUDO_VERSION),
                generate_env=(("VERSION", PULUMI_KUBERNETES_VERSION),),
            ),
        ),
        binaries=(
            Binary("pulumi-resource-kubernetes", (), PULUMI_KUBERNETES_VERSION, plugin=True),
        ),
    ),
    Component(
        name="kubernetes",
        origin=f"k8s.io/kubernetes@{KUBERNETES_VERSION}",
        builds=(
            GoBuild(
                module_dir="kubernetes",
                packages=tuple(
                    f"k8s.io/kubernetes/cmd/{cmd}"
                    for cmd in (
                        "kube-apiserver",
                        "kube-controller-manager",
                        "kube-scheduler",
                        "kubectl",
                    )
                ),
                ldflags=(
                    f"-X {_K8S_VERSION_PKG}.gitVersion={KUBERNETES_VERSION}",
                    f"-X {_K8S_VERSION_PKG}.gitMajor={_K8S_MAJOR}",
                    f"-X {_K8S_VERSION_PKG}.gitMinor={_K8S_MINOR}",
                    f"-X {_K8S_VERSION_PKG}.gitTreeState=clean",
                ),
            ),
        ),
        binaries=(
            Binary("kube-apiserver", ("--version",), KUBERNETES_VERSION),
            Binary("kube-controller-manager", ("--version",), KUBERNETES_VERSION),
            Binary("kube-scheduler", ("--version",), KUBERNETES_VERSION),
            Binary("kubectl", ("version", "--client"), KUBERNETES_VERSION),
        ),
    ),
    Component(
        name="etcd",
        origin=f"go.etcd.io/etcd/server/v3@{ETCD_VERSION}",
        builds=(
            GoBuild(
                module_dir="etcd",
                packages=("go.etcd.io/etcd/server/v3",),
                output="etcd",
            ),
        ),
        binaries=(Binary("etcd", ("--version",), ETCD_VERSION.lstrip("v")),),
    ),
    Component(
        name="kwok",
        origin=f"sigs.k8s.io/kwok@{KWOK_VERSION}",
        builds=(
            GoBuild(
                module_dir="kwok",
                packages=("sigs.k8s.io/kwok/cmd/kwok",),
            ),
        ),
        binaries=(Binary("kwok", ("--version",), KWOK_VERSION),),
        # The stages that drive fake nodes and pods through their lifecycle (kwok exits without).
        module_files=tuple(
            (
                "kwok",
                "sigs.k8s.io/kwok",
                f"kustomize/stage/{kind}/fast/{stage}.yaml",
                f"{KWOK_STAGES_DIR}/{stage}.yaml",
            )
            for kind, stage in (
                ("node", "node-initialize"),
                ("pod", "pod-ready"),
                ("pod", "pod-complete"),
                ("pod", "pod-delete"),
            )
        ),
    ),
    Component(
        name="cluster-api",
        origin=f"{_CAPI}@{CLUSTER_API_VERSION} (core, kubeadm bootstrap and control plane, "
        "CAPD with its in-memory backend)",
        builds=tuple(
            GoBuild(
                module_dir="cluster-api",
                packages=(package,),
                output=binary,
                ldflags=("-s", "-w", f"-X {_CAPI}/version.gitVersion={CLUSTER_API_VERSION}"),
                overlays=CAPI_OVERLAYS + (CAPD_OVERLAYS if binary == "capd-controller" else ()),
            )
            for binary, package, _, _ in CLUSTER_API_PROVIDERS
        ),
        binaries=tuple(
            Binary(binary, (), CLUSTER_API_VERSION) for binary, _, _, _ in CLUSTER_API_PROVIDERS
        ),
        # Directories: what the local DC loads into its management cluster.
        module_files=tuple(
            ("cluster-api", module, f"{config}/{part}", f"{CLUSTER_API_DIR}/{binary}/{part}")
            for binary, _, module, config in CLUSTER_API_PROVIDERS
            for part in ("crd/bases", "rbac/role.yaml", "webhook/manifests.yaml")
        ),
    ),
    Component(
        name="pdn-features",
        origin="pdn's own source (toolchain/pdn-features) with github.com/jackc/pgx/v5@v5.13.0 "
        "and github.com/golang-jwt/jwt/v5@v5.3.1",
        builds=(
            GoBuild(
                module_dir="pdn-features",
                packages=(".",),
                output="pdn-features",
                ldflags=("-s", "-w", f"-X main.Version={FEATURES_VERSION}"),
            ),
        ),
        binaries=(Binary("pdn-features", ("--version",), f"pdn-features {FEATURES_VERSION}"),),
    ),
)


def component(name: str) -> Component:
    for candidate in COMPONENTS:
        if candidate.name == name:
            return candidate
    known = ", ".join(c.name for c in COMPONENTS)
    raise ToolchainError(f"unknown component {name!r}; known components: {known}")
