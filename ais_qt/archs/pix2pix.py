"""Pix2pix (Isola et al. 2017): a UNet generator trained against a PatchGAN discriminator, with an
L1 term that keeps the output close to the annotation. Trained adversarially by the trainer
because this module defines ``discriminator``; only the generator is saved and used to segment.
Sides: multiples of 2**depth.
"""

from ais_qt.models.backend import keras

title = "Pix2pix"
params = {"depth": 4, "filters": 16, "l1_weight": 100.0}
fully_convolutional = True


def _down(x, filters: int, batch_norm: bool = True):
    L = keras().layers
    x = L.Conv2D(filters, 4, strides=2, padding="same", use_bias=not batch_norm)(x)
    if batch_norm:
        x = L.BatchNormalization(momentum=0.9)(x)
    return L.LeakyReLU(0.2)(x)


def create(tile_size: int, depth: int = 4, filters: int = 16, l1_weight: float = 100.0):
    k = keras()
    L = k.layers
    inputs = k.Input((None, None, 1))
    x, skips = inputs, []
    for level in range(depth):
        x = _down(x, filters * 2 ** min(level, 3), batch_norm=level > 0)
        skips.append(x)
    for level in reversed(range(depth - 1)):
        x = L.Conv2DTranspose(filters * 2 ** min(level, 3), 4, strides=2, padding="same", use_bias=False)(x)
        x = L.BatchNormalization(momentum=0.9)(x)
        x = L.Activation("relu")(x)
        x = L.Concatenate()([x, skips[level]])
    outputs = L.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid")(x)
    return k.Model(inputs, outputs, name="pix2pix_generator")


def discriminator(tile_size: int, depth: int = 4, filters: int = 16, l1_weight: float = 100.0):
    """PatchGAN: judges overlapping patches of (image, segmentation) pairs as real or generated."""
    k = keras()
    L = k.layers
    image = k.Input((tile_size, tile_size, 1))
    label = k.Input((tile_size, tile_size, 1))
    x = L.Concatenate()([image, label])
    for level in range(min(depth, 3)):
        x = _down(x, filters * 2 ** level, batch_norm=level > 0)
    outputs = L.Conv2D(1, 4, padding="same", activation="sigmoid")(x)
    return k.Model([image, label], outputs, name="pix2pix_discriminator")
