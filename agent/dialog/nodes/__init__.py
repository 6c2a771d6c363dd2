"""The graph's nodes; each is built by a factory that receives its tools (no module-level state)."""
