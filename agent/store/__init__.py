"""Persistent data (SQLite) and conversation state (memory or Redis)."""
