"""U-Net: a convolutional encoder-decoder with skip connections, trained from scratch.

Every layer converts to builtin TFLite ops (CONV_2D, MAX_POOL_2D,
TRANSPOSE_CONV or RESIZE_BILINEAR, CONCATENATION) and quantizes to int8.
"""

from __future__ import annotations

from automl.families.base import Family, FamilyInfo

UPSAMPLING = ("transpose", "resize")


def conv_block(x, filters: int, batch_norm: bool, name: str):
    """Two 3x3 convolutions, each followed by (batch norm and) ReLU."""
    from keras import layers

    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=f"{name}_conv{i}")(x)
        if batch_norm:
            # momentum 0.9: moving statistics settle within the few hundred steps small data gives
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{i}")(x)
        x = layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


def up_block(x, skip, filters: int, upsampling: str, batch_norm: bool, dropout: float, name: str):
    """Doubles the resolution of `x`, joins the encoder's `skip` and refines both."""
    from keras import layers

    if upsampling not in UPSAMPLING:
        raise ValueError(f"upsampling must be one of {UPSAMPLING}. Received: upsampling={upsampling!r}")
    if upsampling == "transpose":
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"{name}_up")(x)
    else:
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_resize")(x)
        x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_up")(x)
    x = layers.Concatenate(name=f"{name}_concat")([x, skip])
    if dropout:
        x = layers.SpatialDropout2D(dropout, name=f"{name}_drop")(x)
    return conv_block(x, filters, batch_norm, name)


class UNet(Family):
    info = FamilyInfo(
        name="unet",
        tasks=("image_segmentation",),
        description="U-Net encoder-decoder with skip connections; small, fast, builtin TFLite ops.",
        min_input_size=32,
        approx_min_mb=0.5,
    )

    def build(self, hp, inputs, *, pretrained):
        from keras import layers

        side = min(inputs.shape[1], inputs.shape[2])
        depth = hp.Int("depth", 2, 4, default=3)
        base = hp.Choice("base_filters", [8, 16, 32], default=16)
        dropout = hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1)
        upsampling = hp.Choice("upsampling", list(UPSAMPLING), default="transpose")
        batch_norm = hp.Boolean("batch_norm", default=True)
        if side % 2**depth:
            raise ValueError(f"a depth-{depth} U-Net needs tiles divisible by {2**depth}. Received: tile={side}")

        x, skips = inputs, []
        for level in range(depth):
            x = conv_block(x, base * 2**level, batch_norm, f"down{level}")
            skips.append(x)
            x = layers.MaxPooling2D(name=f"down{level}_pool")(x)
        x = conv_block(x, base * 2**depth, batch_norm, "bottom")
        if dropout:
            x = layers.SpatialDropout2D(dropout, name="bottom_drop")(x)
        for level in reversed(range(depth)):
            x = up_block(x, skips[level], base * 2**level, upsampling, batch_norm, dropout, f"up{level}")
        return x

    def known_good(self, profile: dict) -> list[dict]:
        return [{"depth": 3, "base_filters": 16, "dropout": 0.1, "upsampling": "transpose", "batch_norm": True,
                 "loss": "cross_entropy_dice", "augmentation": "flip_rotate", "learning_rate": 2e-3,
                 "optimizer": "adam", "batch_size": 32}]
