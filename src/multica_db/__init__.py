"""multica-db: typed PostgreSQL query functions generated from annotated SQL, and analytics."""

from multica_db.migrate import migrate

__all__ = ["migrate"]
__version__ = "0.1.0"
