"""The LiveKit SIP path: a LiveKit room as a CallIO, which rooms the agent joins, and SIP provisioning."""
