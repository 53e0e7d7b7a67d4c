"""Signup and subscription billing with Stripe: checkout, the webhook inbox, the subscription's
state on the tenant, plan changes and cancellation. Plans and access rules are tenants/billing."""
