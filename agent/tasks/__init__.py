"""Background work owned by sessions: the human-availability check and its notifications."""
