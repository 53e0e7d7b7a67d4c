"""People of a tenant: staff users and the portal users of suppliers and customers."""
