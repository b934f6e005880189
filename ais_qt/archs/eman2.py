"""The EMAN2 tomoseg default network (Chen et al., Nat Methods 2017): three large-kernel
convolutions, one max-pooling and an upsampling back to full size. Few layers, wide kernels.
Sides: multiples of 2.
"""

from ais_qt.models.backend import keras

title = "EMAN2 tomoseg"
params = {"filters": 40, "kernel": 15}
fully_convolutional = True


def create(tile_size: int, filters: int = 40, kernel: int = 15):
    k = keras()
    L = k.layers
    inputs = k.Input((None, None, 1))
    x = L.Conv2D(filters, kernel, padding="same", activation="relu")(inputs)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(filters, kernel, padding="same", activation="relu")(x)
    x = L.Conv2D(1, kernel, padding="same", activation="sigmoid")(x)
    outputs = L.UpSampling2D(2)(x)
    return k.Model(inputs, outputs, name="eman2")
