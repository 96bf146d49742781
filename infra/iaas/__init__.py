"""PDN hosts (IaaS) as Pulumi resources: a tenant's VMs from its tenant file."""
