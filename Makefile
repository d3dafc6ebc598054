.PHONY: setup test demo bench

setup:
	./setup.sh

test: setup
	.venv/bin/python -m pytest

demo: setup
	.venv/bin/stc demo

bench: setup
	.venv/bin/python benchmarks/model_memory_and_speed.py
