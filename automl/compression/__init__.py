"""Compression of a trained model for phones: pruning, weight clustering and quantization-aware
training through tfmot on a tf_keras twin (`twin.py`, `tfmot_worker.py`, run in a process of its
own), and selective post-training quantization of the .tflite file."""
