"""The staff app: the tenant's own people (purchasing, sales, service, warehouse, finance)."""
