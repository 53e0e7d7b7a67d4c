"""The tenancy control plane: who the tenant is, and the walls that keep tenants and parties apart."""
