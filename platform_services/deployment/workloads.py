"""The pieces every data service's workload is made of, written once: pods that pass Pod
Security `restricted`, placement on a node pool, a StatefulSet whose claims bind only the local
volumes made for its role, its Services and its disruption budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from pdn.clusters.names import POOL_LABEL

VOLUME_ROLE = "pdn.go.id/volume-role"
APP = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
PART_OF = "app.kubernetes.io/part-of"


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int  # what the pod listens on, and the Service's port


@dataclass(frozen=True)
class StatefulRole:
    """One stateful workload of a data service."""

    name: str  # e.g. seaweedfs-volume
    image: str
    args: tuple[str, ...]
    ports: tuple[ServicePort, ...]
    replicas: int
    volume_gib: int  # each replica's claim, bound to a local volume of this role
    mount_path: str
    run_as: int  # the image's unprivileged user
    pool: str = "storage"
    cpu: str = "1"
    memory: str = "2Gi"
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # Secret name → mount path
    config_maps: Mapping[str, str] = field(default_factory=dict)  # ConfigMap name → mount path
    # Binding a port under 1024 (S3 on 443) without any capability: a safe sysctl.
    low_ports: bool = False


def labels(part_of: str, role: str) -> dict[str, str]:
    return {APP: role, PART_OF: part_of, COMPONENT: role.removeprefix(f"{part_of}-")}


def restricted_container(
    name: str,
    image: str,
    args: Sequence[str],
    ports: Sequence[ServicePort],
    *,
    cpu: str,
    memory: str,
    env: Mapping[str, str],
    mounts: Sequence[k8s.core.v1.VolumeMountArgs],
    secret_env: Mapping[str, tuple[str, str]] | None = None,
    readiness: k8s.core.v1.ProbeArgs | None = None,
) -> k8s.core.v1.ContainerArgs:
    """secret_env: variable → (Secret, key), so a password is never in the pod's spec."""
    from_secrets = [
        k8s.core.v1.EnvVarArgs(
            name=variable,
            value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret, key=key)
            ),
        )
        for variable, (secret, key) in sorted((secret_env or {}).items())
    ]
    return k8s.core.v1.ContainerArgs(
        name=name,
        image=image,
        image_pull_policy="IfNotPresent",
        args=list(args),
        ports=[k8s.core.v1.ContainerPortArgs(name=p.name, container_port=p.port) for p in ports],
        env=[
            # Its stable name, for the addresses peers know it by (`$(POD_NAME)` in args).
            k8s.core.v1.EnvVarArgs(
                name="POD_NAME",
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.name")
                ),
            ),
            *(k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted(env.items())),
            *from_secrets,
        ],
        readiness_probe=readiness,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": cpu, "memory": memory}, limits={"memory": memory}
        ),
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        volume_mounts=list(mounts),
    )


def pod_security(run_as: int, *, low_ports: bool) -> k8s.core.v1.PodSecurityContextArgs:
    sysctls = (
        [k8s.core.v1.SysctlArgs(name="net.ipv4.ip_unprivileged_port_start", value="0")]
        if low_ports
        else None
    )
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=run_as,
        run_as_group=run_as,
        fs_group=run_as,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        sysctls=sysctls,
    )


def tolerations(pool: str) -> list[k8s.core.v1.TolerationArgs] | None:
    """A dedicated pool's taint, tolerated (compute has none)."""
    if pool == "compute":
        return None
    return [
        k8s.core.v1.TolerationArgs(
            key=POOL_LABEL, operator="Equal", value=pool, effect="NoSchedule"
        )
    ]


def anti_affinity(selector: Mapping[str, str]) -> k8s.core.v1.AffinityArgs:
    return k8s.core.v1.AffinityArgs(
        pod_anti_affinity=k8s.core.v1.PodAntiAffinityArgs(
            required_during_scheduling_ignored_during_execution=[
                k8s.core.v1.PodAffinityTermArgs(
                    label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
                    topology_key="kubernetes.io/hostname",
                )
            ]
        )
    )


def mounted(
    secrets: Mapping[str, str], config_maps: Mapping[str, str]
) -> tuple[list[k8s.core.v1.VolumeMountArgs], list[k8s.core.v1.VolumeArgs]]:
    """A pod's scratch /tmp (its root filesystem is read-only), and each Secret and ConfigMap
    (name → mount path) read-only: the mounts and the volumes."""
    mounts = [k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")]  # noqa: S108  (the pod's own)
    volumes = [k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())]
    sources = [
        (
            f"secret-{index}",
            path,
            {"secret": k8s.core.v1.SecretVolumeSourceArgs(secret_name=name, default_mode=0o440)},
        )
        for index, (name, path) in enumerate(sorted(secrets.items()))
    ] + [
        (f"config-{index}", path, {"config_map": k8s.core.v1.ConfigMapVolumeSourceArgs(name=name)})
        for index, (name, path) in enumerate(sorted(config_maps.items()))
    ]
    for volume, path, source in sources:
        mounts.append(k8s.core.v1.VolumeMountArgs(name=volume, mount_path=path, read_only=True))
        volumes.append(k8s.core.v1.VolumeArgs(name=volume, **source))
    return mounts, volumes


def pod_template(
    selector: Mapping[str, str],
    container: k8s.core.v1.ContainerArgs,
    volumes: Sequence[k8s.core.v1.VolumeArgs],
    *,
    run_as: int,
    pool: str,
    low_ports: bool = False,
    sidecars: Sequence[k8s.core.v1.ContainerArgs] = (),
) -> k8s.core.v1.PodTemplateSpecArgs:
    """A data service's pod: restricted, no API token, platform priority, one per server of
    its pool; sidecars run beside the container (the pod's loopback between them)."""
    return k8s.core.v1.PodTemplateSpecArgs(
        metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(selector)),
        spec=k8s.core.v1.PodSpecArgs(
            automount_service_account_token=False,
            enable_service_links=False,
            priority_class_name="pdn-platform-critical",
            security_context=pod_security(run_as, low_ports=low_ports),
            affinity=anti_affinity(selector),
            node_selector={POOL_LABEL: pool},
            tolerations=tolerations(pool),
            containers=[container, *sidecars],
            volumes=list(volumes),
        ),
    )


def stateful(
    resource: str,
    role: StatefulRole,
    *,
    namespace: str,
    part_of: str,
    storage_class: str,
    opts: pulumi.ResourceOptions,
) -> k8s.apps.v1.StatefulSet:
    """The role's headless Service, StatefulSet and disruption budget."""
    selector = labels(part_of, role.name)
    service_ports = [
        k8s.core.v1.ServicePortArgs(name=p.name, port=p.port, target_port=p.port)
        for p in role.ports
    ]
    headless = k8s.core.v1.Service(
        f"{resource}-peers",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{role.name}-peers", namespace=namespace, labels=selector
        ),
        spec=k8s.core.v1.ServiceSpecArgs(
            cluster_ip="None",
            publish_not_ready_addresses=True,  # peers find each other before they are ready
            selector=selector,
            ports=service_ports,
        ),
        opts=opts,
    )
    mounts, volumes = mounted(role.secrets, role.config_maps)
    mounts.insert(0, k8s.core.v1.VolumeMountArgs(name="data", mount_path=role.mount_path))
    container = restricted_container(
        role.name,
        role.image,
        role.args,
        role.ports,
        cpu=role.cpu,
        memory=role.memory,
        env=role.env,
        mounts=mounts,
    )
    statefulset = k8s.apps.v1.StatefulSet(
        resource,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=role.name, namespace=namespace, labels=selector),
        spec=k8s.apps.v1.StatefulSetSpecArgs(
            service_name=f"{role.name}-peers",
            replicas=role.replicas,
            pod_management_policy="Parallel",
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            template=pod_template(
                selector,
                container,
                volumes,
                run_as=role.run_as,
                pool=role.pool,
                low_ports=role.low_ports,
            ),
            volume_claim_templates=[
                k8s.core.v1.PersistentVolumeClaimArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(name="data"),
                    spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"],
                        storage_class_name=storage_class,
                        # Only a local volume made for this role: a database never lands on
                        # the object store's disk because it happened to be large enough.
                        selector=k8s.meta.v1.LabelSelectorArgs(
                            match_labels={VOLUME_ROLE: role.name}
                        ),
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                            requests={"storage": f"{role.volume_gib}Gi"}
                        ),
                    ),
                )
            ],
            # Government data is not deleted with its workload.
            persistent_volume_claim_retention_policy=k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                when_deleted="Retain", when_scaled="Retain"
            ),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[headless])),
    )
    budget(
        resource,
        role.name,
        namespace=namespace,
        selector=selector,
        replicas=role.replicas,
        opts=opts,
    )
    return statefulset


def rolling(
    resource: str,
    name: str,
    *,
    namespace: str,
    selector: Mapping[str, str],
    pod: k8s.core.v1.PodTemplateSpecArgs,
    replicas: int,
    https: int,
    service_resource: str,
    opts: pulumi.ResourceOptions,
    depends_on: Sequence[pulumi.Resource] = (),
) -> None:
    """A replicated HTTPS service: its Deployment, replaced one pod at a time (the others keep
    answering), its disruption budget, and its Service on the HTTPS port."""
    k8s.apps.v1.Deployment(
        resource,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=dict(selector)),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=replicas,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                    max_unavailable=1, max_surge=0
                ),
            ),
            template=pod,
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends_on)),
    )
    client_service(
        service_resource,
        name,
        namespace=namespace,
        selector=selector,
        ports=(ServicePort("https", https),),
        opts=opts,
    )
    budget(resource, name, namespace=namespace, selector=selector, replicas=replicas, opts=opts)


def budget(
    resource: str,
    name: str,
    *,
    namespace: str,
    selector: Mapping[str, str],
    replicas: int,
    opts: pulumi.ResourceOptions,
) -> None:
    """A drain takes one replica at a time; a single replica is never evicted by a drain."""
    k8s.policy.v1.PodDisruptionBudget(
        f"{resource}-budget",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1 if replicas > 1 else 0,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
        ),
        opts=opts,
    )


def client_service(
    resource: str,
    name: str,
    *,
    namespace: str,
    selector: Mapping[str, str],
    ports: Sequence[ServicePort],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Service:
    return k8s.core.v1.Service(
        resource,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
        spec=k8s.core.v1.ServiceSpecArgs(
            selector=dict(selector),
            ports=[
                k8s.core.v1.ServicePortArgs(name=p.name, port=p.port, target_port=p.port)
                for p in ports
            ],
        ),
        opts=opts,
    )


def allow_ingress(
    resource: str,
    name: str,
    *,
    namespace: str,
    selector: Mapping[str, str],
    ports: Sequence[int],
    peers: Sequence[k8s.networking.v1.NetworkPolicyPeerArgs],
    opts: pulumi.ResourceOptions,
) -> None:
    """Open the pods' ports to peers (the namespace denies everything else)."""
    k8s.networking.v1.NetworkPolicy(
        resource,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
            policy_types=["Ingress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=list(peers),
                    ports=[
                        k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p)
                        for p in ports
                    ],
                )
            ],
        ),
        opts=opts,
    )


def namespace_peer(name: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_labels={"kubernetes.io/metadata.name": name}
        )
    )


def tenants_peer() -> k8s.networking.v1.NetworkPolicyPeerArgs:
    """Every tenant namespace (each tenant's own egress policy decides whether it may)."""
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_expressions=[
                k8s.meta.v1.LabelSelectorRequirementArgs(key="pdn.go.id/tenant", operator="Exists")
            ]
        )
    )


def same_service_peer(part_of: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={PART_OF: part_of})
    )


def local_volume(
    resource: str,
    server: str,
    role: str,
    *,
    gib: int,
    storage_class: str,
    opts: pulumi.ResourceOptions,
) -> str:
    """A local PersistentVolume of role on server's disk (`/srv/pdn/<role>`, prepared when the
    server is installed), labelled with the role; its name."""
    name = f"{server}-{role}"
    k8s.core.v1.PersistentVolume(
        f"{resource}-{name}",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={VOLUME_ROLE: role}),
        spec=k8s.core.v1.PersistentVolumeSpecArgs(
            capacity={"storage": f"{gib}Gi"},
            access_modes=["ReadWriteOnce"],
            persistent_volume_reclaim_policy="Retain",
            storage_class_name=storage_class,
            volume_mode="Filesystem",
            local=k8s.core.v1.LocalVolumeSourceArgs(path=f"/srv/pdn/{role}"),
            node_affinity=k8s.core.v1.VolumeNodeAffinityArgs(
                required=k8s.core.v1.NodeSelectorArgs(
                    node_selector_terms=[
                        k8s.core.v1.NodeSelectorTermArgs(
                            match_expressions=[
                                k8s.core.v1.NodeSelectorRequirementArgs(
                                    key="kubernetes.io/hostname", operator="In", values=[server]
                                )
                            ]
                        )
                    ]
                )
            ),
        ),
        opts=opts,
    )
    return name
