"""Transports that turn the outside world (SIP, LiveKit rooms, browsers, WAV files) into calls."""
