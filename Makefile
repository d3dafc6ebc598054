.PHONY: setup test demo bench

setup:
	./setup.sh

test: setup
	.venv/bin/python -m pytest -n 2 --dist loadgroup

demo: setup
	.venv/bin/stc demo

# Long: about 15 minutes for the model, 20 for the engine, 8 for the bundled models, on 2 cores.
bench: setup
	cd benchmarks && ../.venv/bin/python model_memory_and_speed.py && ../.venv/bin/python engine_overhead.py \
		&& ../.venv/bin/python bundled_models.py && ../.venv/bin/python face_overhead.py \
		&& ../.venv/bin/python face_overhead.py --height 2160 \
		&& ../.venv/bin/python real_footage.py && ../.venv/bin/python vs_threads.py \
		&& ../.venv/bin/python neighbour_load.py && ../.venv/bin/python precision_auto.py \
		&& ../.venv/bin/python ray_batch.py && ../.venv/bin/python model_memory.py \
		&& ../.venv/bin/python face_mode_floors.py && ../.venv/bin/python not_faces.py \
		&& ../.venv/bin/python cut_detection.py
