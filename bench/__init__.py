"""Benchmarks at clinic scale: data generator, load runner, fan-out and summary timing."""
