"""Development helpers: demo data for `make run` and the test suite; never used in production."""
