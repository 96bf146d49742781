"""A site's Kubernetes clusters as code: Cluster API objects on its management cluster."""

from infra.clusters.machines import MachineBackend, MachineImage, Machines
from infra.clusters.managed import ManagedCluster, ManagedClusterArgs
from infra.clusters.site_clusters import SiteClusters, SiteClustersArgs
from infra.clusters.workload import WorkloadClusters, WorkloadClustersArgs

__all__ = [
    "MachineBackend",
    "MachineImage",
    "Machines",
    "ManagedCluster",
    "ManagedClusterArgs",
    "SiteClusters",
    "SiteClustersArgs",
    "WorkloadClusters",
    "WorkloadClustersArgs",
]
