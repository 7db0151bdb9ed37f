"""DCGAN (Radford et al. 2016): a generator of strided transposed convolutions and a
discriminator of strided convolutions, for image generation.

The family builds the two networks and declares their search space; the
image_generation task trains them against each other (`tasks/image_generation/gan.py`).
A class-conditional generator also takes a class id, embedded and joined to the
latent vector; its discriminator is a projection discriminator (Miyato & Koyama 2018):
its logit adds the inner product of a learned class embedding with the image's
features, so "real for this class" is judged apart from "real at all". (Class ids
as extra constant input planes, tried first, left the class shares uneven: one
Fashion-MNIST class drew 15.5% of the samples.)
"""

from __future__ import annotations

from automl.families.base import Family, FamilyInfo

#: The generator starts from a grid at least this many pixels wide and doubles it per block.
MIN_BASE_SIDE = 4


def upsampling_blocks(side: int, most: int) -> int:
    """How many doublings take a base grid of at least MIN_BASE_SIDE pixels to `side` (28 -> 2, from 7)."""
    blocks = 0
    while blocks < most and side % 2 == 0 and side // 2 >= MIN_BASE_SIDE:
        side //= 2
        blocks += 1
    return blocks


class DCGAN(Family):
    info = FamilyInfo(
        name="dcgan",
        tasks=("image_generation",),
        description="Generator of transposed convolutions with batch norm and tanh; convolutional discriminator.",
        min_input_size=8,
        approx_min_mb=0.5,
    )

    def space(self, hp, conditional_possible: bool) -> dict:
        """The hyperparameters both networks and the training read."""
        values = {
            "latent_dim": hp.Choice("latent_dim", [32, 64, 128], default=64),
            "base_filters": hp.Choice("base_filters", [32, 64, 128], default=64),
            "depth": hp.Int("depth", 1, 4, default=2),
            # The generator's rate is `learning_rate`: fine-tuning scales both rates through it.
            "learning_rate": hp.Float("learning_rate", 5e-5, 1e-3, sampling="log", default=2e-4),
            "discriminator_learning_rate": hp.Float("discriminator_learning_rate", 5e-5, 1e-3, sampling="log",
                                                    default=2e-4),
            "beta_1": hp.Choice("beta_1", [0.5, 0.9], default=0.5),
            "label_smoothing": hp.Float("label_smoothing", 0.0, 0.2, step=0.1, default=0.1),
            "discriminator_steps": hp.Int("discriminator_steps", 1, 2, default=1),
            "batch_size": hp.Choice("batch_size", [32, 64, 128], default=64),
            "discriminator_dropout": hp.Float("discriminator_dropout", 0.0, 0.4, step=0.1, default=0.3),
        }
        values["conditional"] = hp.Boolean("conditional", default=True) if conditional_possible else False
        return values

    def build_generator(self, values: dict, image_shape, num_classes: int):
        """latent vector (and class id when conditional) -> image in [-1, 1]."""
        import keras
        from keras import layers

        height, width, channels = image_shape
        blocks = min(upsampling_blocks(height, values["depth"]), upsampling_blocks(width, values["depth"]))
        base_h, base_w = -(-height // 2**blocks), -(-width // 2**blocks)
        filters = values["base_filters"] * 2**blocks
        latent = keras.Input((values["latent_dim"],), name="latent")
        inputs, x = [latent], latent
        if values["conditional"]:
            label = keras.Input((1,), dtype="int32", name="class_id")
            inputs.append(label)
            embedded = layers.Flatten(name="class_flat")(
                layers.Embedding(num_classes, values["latent_dim"], name="class_embedding")(label))
            x = layers.Concatenate(name="latent_and_class")([latent, embedded])
        x = layers.Dense(base_h * base_w * filters, use_bias=False, name="project")(x)
        x = layers.ReLU(name="project_relu")(layers.BatchNormalization(name="project_bn")(x))
        x = layers.Reshape((base_h, base_w, filters), name="grid")(x)
        for block in range(blocks):
            filters //= 2
            x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=f"up{block}")(x)
            x = layers.ReLU(name=f"up{block}_relu")(layers.BatchNormalization(name=f"up{block}_bn")(x))
        x = layers.Conv2D(channels, 3, padding="same", name="to_image")(x)
        if tuple(x.shape[1:3]) != (height, width):  # sides that do not halve evenly: generate larger, crop
            x = layers.CenterCrop(height, width, name="crop")(x)
        images = layers.Activation("tanh", dtype="float32", name="image")(x)
        return keras.Model(inputs, images, name="generator")

    def build_discriminator(self, values: dict, image_shape, num_classes: int):
        """image in [-1, 1] (and class id when conditional) -> one real/fake logit."""
        import keras
        from keras import layers

        height, width, _ = image_shape
        image = keras.Input(tuple(image_shape), name="image")
        filters, x = values["base_filters"], image
        for block in range(max(1, upsampling_blocks(min(height, width), values["depth"]))):
            x = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"down{block}")(x)
            x = layers.LeakyReLU(0.2, name=f"down{block}_act")(x)
            filters *= 2
        features = layers.Dropout(values["discriminator_dropout"], name="dropout")(layers.Flatten(name="flat")(x))
        logit = layers.Dense(1, dtype="float32", name="logit")(features)
        if not values["conditional"]:
            return keras.Model(image, logit, name="discriminator")
        label = keras.Input((1,), dtype="int32", name="class_id")
        class_vector = layers.Flatten(name="class_flat")(
            layers.Embedding(num_classes, features.shape[-1], name="class_projection")(label))
        projection = layers.Dot(axes=1, dtype="float32", name="projection")([class_vector, features])
        logit = layers.Add(dtype="float32", name="logit_for_class")([logit, projection])
        return keras.Model([image, label], logit, name="discriminator")

    def known_good(self, profile: dict) -> list[dict]:
        """The keras.io DCGAN's rates and betas, at two widths."""
        conditional = {"conditional": True} if profile.get("num_classes", 0) > 1 else {}
        common = {"latent_dim": 64, "depth": 2, "learning_rate": 2e-4,
                  "discriminator_learning_rate": 2e-4, "beta_1": 0.5, "label_smoothing": 0.1,
                  "discriminator_steps": 1, "discriminator_dropout": 0.3, **conditional}
        return [{"base_filters": 64, **common}, {"base_filters": 32, **common}]
