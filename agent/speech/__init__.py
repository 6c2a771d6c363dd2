"""Speech: speech-to-text and text-to-speech engines behind small interfaces, plus text normalisation for the ear."""
