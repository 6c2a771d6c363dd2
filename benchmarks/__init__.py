"""Benchmarks that print figures: brain turn times, voice latency and word error rate."""
