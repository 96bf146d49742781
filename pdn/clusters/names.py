"""Names the platform program writes a site's clusters with and `pdn clusters status` reads."""

NAMESPACE = "pdn-clusters"  # on the management cluster: every other cluster's objects
CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"  # Cluster API's own
CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane"  # Cluster API's own
POOL_LABEL = "pdn.go.id/pool"  # a machine's (and its node's) pool
SERVER_LABEL = "pdn.go.id/server"  # the inventory server a machine stands on
# Cluster API's own: a machine so marked is the one a smaller pool deletes first.
DELETE_MACHINE_ANNOTATION = "cluster.x-k8s.io/delete-machine"
