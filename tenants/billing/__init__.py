"""What a tenant is entitled to (plans, limits, modules) and whether it may change anything now
(access from its subscription's state). Stripe itself is spoken to by backend/billing."""
