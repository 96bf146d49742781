"""The national DC's single sign-on (Keycloak): its realms and each tenant's groups, roles and
clients, as pdn configures them through Keycloak's admin REST API."""
