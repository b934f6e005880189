"""ResNet-style encoder-decoder: residual blocks (He et al. 2016) at each scale, skips added back.

Strided convolutions go down, transposed convolutions come up. Sides: multiples of 2**depth.
"""

from ais_qt.models.backend import keras

title = "ResNet"
params = {"depth": 3, "filters": 16, "blocks_per_level": 2}
fully_convolutional = True


def residual_block(x, filters: int):
    L = keras().layers
    shortcut = x if x.shape[-1] == filters else L.Conv2D(filters, 1, padding="same")(x)
    y = L.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    y = L.BatchNormalization(momentum=0.9)(y)
    y = L.Activation("relu")(y)
    y = L.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = L.BatchNormalization(momentum=0.9)(y)
    return L.Activation("relu")(L.Add()([shortcut, y]))


def create(tile_size: int, depth: int = 3, filters: int = 16, blocks_per_level: int = 2):
    k = keras()
    L = k.layers
    inputs = k.Input((None, None, 1))
    x = L.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    skips = []
    for level in range(depth):
        for _ in range(blocks_per_level):
            x = residual_block(x, filters * 2 ** level)
        skips.append(x)
        x = L.Conv2D(filters * 2 ** (level + 1), 3, strides=2, padding="same", activation="relu")(x)
    for level in reversed(range(depth)):
        x = L.Conv2DTranspose(filters * 2 ** level, 2, strides=2, padding="same")(x)
        x = L.Add()([x, skips[level]])
        x = residual_block(x, filters * 2 ** level)
    outputs = L.Conv2D(1, 1, activation="sigmoid")(x)
    return k.Model(inputs, outputs, name="resnet")
