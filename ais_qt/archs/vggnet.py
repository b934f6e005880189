"""VGGNet-style encoder-decoder: stacks of 3x3 convolutions with pooling, then upsampling back.

No skip connections, so it sees context but draws softer boundaries than the UNet.
Fully convolutional: sides must be multiples of 2**depth.
"""

from ais_qt.models.backend import keras

title = "VGGNet"
params = {"depth": 3, "filters": 32, "convs_per_level": 2}
fully_convolutional = True


def create(tile_size: int, depth: int = 3, filters: int = 32, convs_per_level: int = 2):
    k = keras()
    L = k.layers
    inputs = k.Input((None, None, 1))
    x = inputs
    for level in range(depth):
        for _ in range(convs_per_level):
            x = L.Conv2D(filters * 2 ** level, 3, padding="same", activation="relu")(x)
        x = L.MaxPooling2D(2)(x)
    for level in reversed(range(depth)):
        x = L.UpSampling2D(2)(x)
        for _ in range(convs_per_level):
            x = L.Conv2D(filters * 2 ** level, 3, padding="same", activation="relu")(x)
    outputs = L.Conv2D(1, 1, activation="sigmoid")(x)
    return k.Model(inputs, outputs, name="vggnet")
