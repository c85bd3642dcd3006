"""A test-only app whose models exercise reusable model fields against the real database."""
