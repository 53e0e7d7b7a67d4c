"""Roles, permissions and the route guards (404 for the wrong audience before 403 for a missing right)."""
