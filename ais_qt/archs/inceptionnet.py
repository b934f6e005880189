"""InceptionNet-style encoder-decoder: inception modules (Szegedy et al. 2015) mixing 1x1, 3x3 and
5x5 (as two 3x3) branches at each scale, so thin and thick structures are seen side by side.
Sides: multiples of 2**depth.
"""

from ais_qt.models.backend import keras

title = "InceptionNet"
params = {"depth": 3, "filters": 8}
fully_convolutional = True


def inception(x, filters: int):
    L = keras().layers
    a = L.Conv2D(filters, 1, padding="same", activation="relu")(x)
    b = L.Conv2D(filters, 1, padding="same", activation="relu")(x)
    b = L.Conv2D(filters, 3, padding="same", activation="relu")(b)
    c = L.Conv2D(filters, 1, padding="same", activation="relu")(x)
    c = L.Conv2D(filters, 3, padding="same", activation="relu")(c)
    c = L.Conv2D(filters, 3, padding="same", activation="relu")(c)
    d = L.MaxPooling2D(3, strides=1, padding="same")(x)
    d = L.Conv2D(filters, 1, padding="same", activation="relu")(d)
    return L.Concatenate()([a, b, c, d])


def create(tile_size: int, depth: int = 3, filters: int = 8):
    k = keras()
    L = k.layers
    inputs = k.Input((None, None, 1))
    x, skips = inputs, []
    for level in range(depth):
        x = inception(x, filters * 2 ** level)
        skips.append(x)
        x = L.MaxPooling2D(2)(x)
    x = inception(x, filters * 2 ** depth)
    for level in reversed(range(depth)):
        x = L.UpSampling2D(2)(x)
        x = L.Concatenate()([x, skips[level]])
        x = inception(x, filters * 2 ** level)
    outputs = L.Conv2D(1, 1, activation="sigmoid")(x)
    return k.Model(inputs, outputs, name="inceptionnet")
