"""Who is asking (the Principal) and what they may do: roles, permissions and the route guards
(404 for the wrong audience before 403 for a missing right), and the workspace guard (what the
plan and the subscription allow). Authentication (backend/auth) builds on it, never the reverse."""
