"""Runnable examples of using multica-db from a backend service."""
