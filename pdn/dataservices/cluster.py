"""The data services' names inside a site's cluster, where production runs them: what their
serving certificate carries, and what the tenants would be given there."""

from __future__ import annotations

STORAGE_NAMESPACE = "pdn-storage"
DATABASES_NAMESPACE = "pdn-databases"
S3_SERVICE = "seaweedfs-s3"


def service_names() -> tuple[str, ...]:
    """Each service by its namespaced and its cluster-qualified DNS name."""
    short = (
        f"{S3_SERVICE}.{STORAGE_NAMESPACE}.svc",
        f"postgresql.{DATABASES_NAMESPACE}.svc",
        f"mariadb.{DATABASES_NAMESPACE}.svc",
    )
    return (*short, *(f"{name}.cluster.local" for name in short))
