"""The image_classification task: its task class, data loaders and the helpers only it uses."""
