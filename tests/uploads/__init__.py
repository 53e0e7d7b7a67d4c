"""Tests of the upload gate (backend.uploads)."""
