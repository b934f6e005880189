"""UNet (Ronneberger et al. 2015): an encoder-decoder with skip connections; the default network.

Two 3x3 convolutions per level, max-pooling down, transposed convolutions up, skips concatenated.
Fully convolutional: accepts any input whose sides are multiples of 2**depth.
"""

from ais_qt.models.backend import keras

title = "UNet"
params = {"depth": 4, "filters": 16, "batch_norm": True}
fully_convolutional = True


def conv_block(x, filters: int, batch_norm: bool):
    layers = keras().layers
    for _ in range(2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=0.9)(x)  # short trainings: stats must settle fast
        x = layers.Activation("relu")(x)
    return x


def create(tile_size: int, depth: int = 4, filters: int = 16, batch_norm: bool = True):
    k = keras()
    inputs = k.Input((None, None, 1))
    x, skips = inputs, []
    for level in range(depth):
        x = conv_block(x, filters * 2 ** level, batch_norm)
        skips.append(x)
        x = k.layers.MaxPooling2D(2)(x)
    x = conv_block(x, filters * 2 ** depth, batch_norm)
    for level in reversed(range(depth)):
        x = k.layers.Conv2DTranspose(filters * 2 ** level, 2, strides=2, padding="same")(x)
        x = k.layers.Concatenate()([x, skips[level]])
        x = conv_block(x, filters * 2 ** level, batch_norm)
    outputs = k.layers.Conv2D(1, 1, activation="sigmoid")(x)
    return k.Model(inputs, outputs, name="unet")
