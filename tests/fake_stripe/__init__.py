"""Tests of the fake Stripe server (backend/dev/fake_stripe)."""
