"""Supplier onboarding: registration, review, qualification documents, change requests."""
