"""PDN hosts: the virtual machines tenants rehost their workloads on (IaaS)."""
