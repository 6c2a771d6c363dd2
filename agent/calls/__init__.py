"""One call's audio pipeline over a transport-neutral CallIO: VAD, STT, turn-taking, dialog, TTS, barge-in."""
