"""UNet (light): the UNet with three levels and a quarter of the filters, for CPUs and small GPUs.

About 30x fewer parameters than the default UNet; good for clear features such as membranes.
"""

from ais_qt.archs import unet

title = "UNet (light)"
params = {"depth": 3, "filters": 8, "batch_norm": False}
fully_convolutional = True


def create(tile_size: int, depth: int = 3, filters: int = 8, batch_norm: bool = False):
    model = unet.create(tile_size, depth=depth, filters=filters, batch_norm=batch_norm)
    model.name = "unet_light"
    return model
