"""Offline language understanding for the phone dialog: intents, dates and times, contacts, services, FAQ.

Everything here is deterministic and runs in milliseconds per utterance without a network or an LLM.
The sentence encoder (`embeddings.load_sentence_encoder`) is loaded lazily, never at import time; call
its users (`IntentClassifier`, `FaqIndex`) from a worker thread, not from the event loop.
"""
