"""The dialog: a LangGraph graph that turns a caller's words into the agent's reply (text only)."""
