"""Throughput benchmark of the API against a bare Litestar + asyncpg baseline (see bench/README.md)."""
