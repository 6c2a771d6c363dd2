"""Quality checks that drive the real agent from the outside: dialog scenarios (and later, audio replay)."""
