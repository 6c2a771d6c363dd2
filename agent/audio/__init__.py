"""Audio plumbing: frames, G.711, resampling, VAD, WAV files and levels; imports nothing else of the agent."""
