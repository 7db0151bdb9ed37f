"""The bundle's image reader gives the pixels training saw: files of other sizes are resized as
`tf.image.resize` resized them for training, so the phone sees no other images than the model did."""

import numpy as np
import pytest


@pytest.mark.parametrize("side", [20, 40, 57])  # larger, smaller and an odd ratio
def test_files_of_another_size_are_resized_as_training_resized_them(sample_dir, tmp_path, side):
    import tensorflow as tf
    from PIL import Image

    from automl.tasks.image_classification.preprocessor import ImagePreprocessor

    source = sorted((sample_dir / "Sneaker").glob("*.png"))[0]
    path = tmp_path / f"sneaker_{side}.png"
    Image.open(source).convert("RGB").resize((side, side + 3)).save(path)
    for channels in (1, 3):
        trained = tf.image.resize(tf.cast(tf.io.decode_image(tf.io.read_file(str(path)), channels=channels),
                                          tf.float32), (28, 28)).numpy()
        read = ImagePreprocessor((28, 28, channels)).encode([str(path)])[0]
        # Grey conversion (libpng's weights against Pillow's) differs by at most a grey level or so.
        assert np.abs(read - trained).max() < (1e-3 if channels == 3 else 2.0)
