"""Items the tenant buys and sells."""
