"""A site's Kubernetes clusters: where tenants live on them (placement) and what Cluster API
reports for them on the management cluster (status, which imports the Kubernetes client)."""

from pdn.clusters.errors import ClusterError

__all__ = ["ClusterError"]
