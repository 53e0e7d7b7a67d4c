"""Identities, passwords, sessions, login tickets, throttling and API tokens."""
