"""The customer portal: what a customer's own people see of the tenant they buy from."""
