"""Database: SQLModel tables (`models`), engine and sessions (`session`), Alembic migrations."""
