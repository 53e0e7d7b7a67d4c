"""Signup: a company's workspace and its first owner (see service.py)."""
