"""U-Net whose encoder is an ImageNet-pretrained MobileNetV2 or EfficientNetB0.

The encoder's feature maps at 1/2 .. 1/32 resolution feed a U-Net decoder;
the (normalized) input itself is the full-resolution skip. Worth its cost
only with pretrained weights, so the selector picks it only when they can
be had.
"""

from __future__ import annotations

from automl.families.base import Family, FamilyInfo, keras_applications_weights, settle_batch_norm
from automl.families.unet import UPSAMPLING, up_block

#: keras.applications constructor, the layers tapped for skips (1/2 .. 1/32), and
#: how a 0..1 image becomes the encoder's expected input (scale, offset).
ENCODERS = {
    "mobilenet_v2": ("MobileNetV2",
                     ["block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu",
                      "block_13_expand_relu", "out_relu"],
                     (2.0, -1.0)),
    "efficientnet_b0": ("EfficientNetB0",
                        ["block2a_expand_activation", "block3a_expand_activation",
                         "block4a_expand_activation", "block6a_expand_activation", "top_activation"],
                        (255.0, 0.0)),  # EfficientNet normalizes 0..255 inputs itself
}


def encoder_model(name: str, side: int, pretrained: bool, alpha: float = 1.0):
    """A keras Model (named `backbone`) from an RGB image to its five skip feature maps."""
    import keras

    constructor, taps, _ = ENCODERS[name]
    kwargs = {"alpha": alpha} if name == "mobilenet_v2" else {}
    base = getattr(keras.applications, constructor)(
        input_shape=(side, side, 3), include_top=False, weights="imagenet" if pretrained else None, **kwargs)
    if not pretrained:
        settle_batch_norm(base)
    return keras.Model(base.inputs, [base.get_layer(t).output for t in taps], name="backbone")


class PretrainedUNet(Family):
    info = FamilyInfo(
        name="pretrained_unet",
        tasks=("image_segmentation",),
        description="U-Net decoder on an ImageNet MobileNetV2 or EfficientNetB0 encoder; for natural "
                    "images when the weights can be had.",
        min_input_size=32,
        supports_pretrained=True,
        needs_pretrained=True,
        approx_min_mb=4.0,
    )

    def build(self, hp, inputs, *, pretrained):
        from keras import layers

        side = inputs.shape[1]
        if side % 32 or inputs.shape[2] != side:
            raise ValueError(f"a pretrained encoder needs square tiles divisible by 32. Received: {inputs.shape[1:3]}")
        encoder = hp.Choice("encoder", list(ENCODERS), default="mobilenet_v2")
        alpha = 1.0
        if encoder == "mobilenet_v2":
            with hp.conditional_scope("encoder", ["mobilenet_v2"]):
                alpha = hp.Choice("alpha", [0.35, 1.0], default=1.0)
        base = hp.Choice("decoder_filters", [16, 32], default=16)
        dropout = hp.Float("dropout", 0.0, 0.3, step=0.1, default=0.1)
        upsampling = hp.Choice("upsampling", list(UPSAMPLING), default="transpose")
        batch_norm = hp.Boolean("batch_norm", default=True)

        rgb = inputs if inputs.shape[-1] == 3 else layers.Concatenate(name="grey_to_rgb")([inputs] * 3)
        scale, offset = ENCODERS[encoder][2]
        x = layers.Rescaling(scale, offset=offset, name="encoder_input")(rgb)
        skips = encoder_model(encoder, side, bool(pretrained), alpha)(x)
        x = skips[-1]
        # Decoder: 1/32 -> 1/16 -> ... -> 1/2, then full resolution with the input as skip.
        for level, skip in reversed(list(enumerate([inputs, *skips[:-1]]))):
            x = up_block(x, skip, base * 2 ** min(level, 3), upsampling, batch_norm, dropout, f"up{level}")
        return x

    def known_good(self, profile: dict) -> list[dict]:
        return [{"encoder": "mobilenet_v2", "alpha": 1.0, "decoder_filters": 16, "dropout": 0.1,
                 "upsampling": "transpose", "batch_norm": True, "loss": "cross_entropy_dice",
                 "augmentation": "flip_rotate", "learning_rate": 1e-3, "optimizer": "adam", "batch_size": 32}]

    def pretrained_weights_status(self) -> tuple[bool, str]:
        return keras_applications_weights(
            lambda: encoder_model("mobilenet_v2", 224, pretrained=True), "MobileNetV2")
