"""The supplier portal: what a supplier's own people see of the tenant they serve."""
