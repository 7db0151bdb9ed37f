"""The image_segmentation task: its task class, data loaders and the helpers only it uses."""
