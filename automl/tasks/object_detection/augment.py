"""Augmentation that moves the boxes with the pixels: flips, and zooming in (a crop) or out (the image
shrunk on a grey canvas), inside `tf.data`.

Boxes are y_min, x_min, y_max, x_max relative to the image, padded rows have class -1. A box a crop
cuts to less than `MIN_KEPT` of its area is dropped (class -1): a sliver of an object is not one.
"""

from __future__ import annotations

import tensorflow as tf

#: A crop keeps a box when this share of its area stays inside.
MIN_KEPT = 0.4
#: Zoom factors: the side of the crop (in) or of the shrunk image (out) relative to the image.
ZOOM_RANGE = (0.6, 1.0)
GREY = 114.0


def augment(image, boxes, classes, vertical_flip: bool = False):
    """One training image (S, S, 3) float32, boxes (M, 4) and classes (M,) randomly flipped and zoomed."""
    image, boxes = _flip(image, boxes, horizontal=True)
    if vertical_flip:
        image, boxes = _flip(image, boxes, horizontal=False)
    zoom = tf.random.uniform((), *ZOOM_RANGE)
    return tf.cond(tf.random.uniform(()) < 0.5,
                   lambda: _zoom_in(image, boxes, classes, zoom),
                   lambda: _zoom_out(image, boxes, classes, zoom))


def _flip(image, boxes, horizontal: bool):
    flip = tf.random.uniform(()) < 0.5
    axis = 1 if horizontal else 0
    flipped_image = tf.reverse(image, axis=[axis])
    if horizontal:
        flipped_boxes = tf.stack([boxes[:, 0], 1 - boxes[:, 3], boxes[:, 2], 1 - boxes[:, 1]], axis=-1)
    else:
        flipped_boxes = tf.stack([1 - boxes[:, 2], boxes[:, 1], 1 - boxes[:, 0], boxes[:, 3]], axis=-1)
    return tf.where(flip, flipped_image, image), tf.where(flip, flipped_boxes, boxes)


def _zoom_in(image, boxes, classes, zoom):
    """A random square crop of side `zoom`, resized back to the image's size."""
    size = tf.shape(image)[0]
    top, left = tf.random.uniform((), 0, 1 - zoom), tf.random.uniform((), 0, 1 - zoom)
    cropped = tf.image.crop_and_resize(image[None], [[top, left, top + zoom, left + zoom]], [0], [size, size])[0]
    moved = (boxes - tf.stack([top, left, top, left])) / zoom
    clipped = tf.clip_by_value(moved, 0.0, 1.0)
    area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
    kept_area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = tf.logical_and(classes >= 0, kept_area >= MIN_KEPT * tf.maximum(area, 1e-9))
    return cropped, tf.where(keep[:, None], clipped, 0.0), tf.where(keep, classes, -1)


def _zoom_out(image, boxes, classes, zoom):
    """The image shrunk to `zoom` of its side at a random place on a grey canvas of its size."""
    size = tf.shape(image)[0]
    side = tf.cast(tf.round(tf.cast(size, tf.float32) * zoom), tf.int32)
    small = tf.image.resize(image, [side, side])
    top = tf.random.uniform((), 0, size - side + 1, dtype=tf.int32)
    left = tf.random.uniform((), 0, size - side + 1, dtype=tf.int32)
    canvas = tf.pad(small - GREY, [[top, size - side - top], [left, size - side - left], [0, 0]]) + GREY
    scale = tf.cast(side, tf.float32) / tf.cast(size, tf.float32)
    offset = tf.cast(tf.stack([top, left, top, left]), tf.float32) / tf.cast(size, tf.float32)
    moved = boxes * scale + offset
    real = classes >= 0
    return canvas, tf.where(real[:, None], moved, 0.0), classes
