"""Persistent data (SQLite, or PostgreSQL for several processes) and conversation state (memory or Redis)."""
