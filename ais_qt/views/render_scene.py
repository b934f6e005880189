"""What the 3D view shows, as VTK actors: feature surfaces, the current slice, particle markers.

Runs in the render process (see render_process.py), so no Qt here. Everything is in voxel
coordinates (x, y, z), the same as the slice view and the picks; colours are RGB in 0..1.
"""

from __future__ import annotations

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkGlyph3D, vtkPolyDataNormals, vtkTubeFilter
from vtkmodules.vtkFiltersSources import vtkArrowSource, vtkPlaneSource, vtkSphereSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkTexture


def polydata(vertices: np.ndarray, faces: np.ndarray) -> vtkPolyData:
    points = vtkPoints()
    points.SetData(numpy_to_vtk(np.ascontiguousarray(vertices, np.float32), deep=True))
    cells = vtkCellArray()
    offsets = np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64)
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                  numpy_to_vtkIdTypeArray(np.ascontiguousarray(faces.ravel(), np.int64), deep=True))
    data = vtkPolyData()
    data.SetPoints(points)
    data.SetPolys(cells)
    return data


class RenderScene:
    def __init__(self, renderer, markers=None):
        self.renderer = renderer
        self.markers = markers or renderer  # the renderer particle spheres go to
        self.surfaces: dict[str, vtkActor] = {}
        self.slice_actor: vtkActor | None = None
        self.particles_actors: list[vtkActor] = []

    def set_surface(self, name: str, vertices: np.ndarray | None, faces: np.ndarray | None, colour) -> None:
        old = self.surfaces.pop(name, None)
        if old is not None:
            self.renderer.RemoveActor(old)
        if vertices is None or faces is None or len(faces) == 0:
            return
        normals = vtkPolyDataNormals()  # smooth shading instead of faceted voxel steps
        normals.SetInputData(polydata(vertices, faces))
        normals.SetFeatureAngle(60)
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(normals.GetOutputPort())
        mapper.ScalarVisibilityOff()
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*colour)
        actor.GetProperty().SetSpecular(0.2)
        self.renderer.AddActor(actor)
        self.surfaces[name] = actor

    def set_slice(self, image: np.ndarray | None, z: float, shape: tuple) -> None:
        """The slice on screen (uint8, any binning) as a textured plane at height z."""
        if self.slice_actor is not None:
            self.renderer.RemoveActor(self.slice_actor)
            self.slice_actor = None
        if image is None:
            return
        ny, nx = shape[1], shape[2]
        plane = vtkPlaneSource()
        plane.SetOrigin(-0.5, -0.5, z)
        plane.SetPoint1(nx - 0.5, -0.5, z)
        plane.SetPoint2(-0.5, ny - 0.5, z)
        texture_image = vtkImageData()
        texture_image.SetDimensions(image.shape[1], image.shape[0], 1)
        texture_image.GetPointData().SetScalars(numpy_to_vtk(np.ascontiguousarray(image, np.uint8).ravel(), deep=True))
        texture = vtkTexture()
        texture.SetInputData(texture_image)
        texture.InterpolateOn()
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(plane.GetOutputPort())
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.SetTexture(texture)
        actor.GetProperty().LightingOff()  # show the grey values as they are
        self.renderer.AddActor(actor)
        self.slice_actor = actor

    def set_particles(self, zyx: np.ndarray | None, colour, radius: float, axes: np.ndarray | None = None,
                      lines: list | None = None) -> None:
        """Particles as spheres, or, when oriented, as arrows along their Z axes (x, y, z directions);
        filaments' centre lines (lists of z, y, x points) as thin tubes."""
        for actor in self.particles_actors:
            self.markers.RemoveActor(actor)
        self.particles_actors = []
        if zyx is None or len(zyx) == 0:
            return
        points = vtkPoints()
        points.SetData(numpy_to_vtk(np.ascontiguousarray(zyx[:, ::-1], np.float32), deep=True))
        centres = vtkPolyData()
        centres.SetPoints(points)
        glyphs = vtkGlyph3D()
        glyphs.SetInputData(centres)
        if axes is not None:
            vectors = numpy_to_vtk(np.ascontiguousarray(axes, np.float32), deep=True)
            vectors.SetName("axis")
            centres.GetPointData().SetVectors(vectors)
            arrow = vtkArrowSource()
            arrow.SetTipResolution(10)
            arrow.SetShaftResolution(10)
            glyphs.SetSourceConnection(arrow.GetOutputPort())
            glyphs.SetVectorModeToUseVector()
            glyphs.SetScaleModeToDataScalingOff()
            glyphs.SetScaleFactor(3 * radius)  # the arrow starts at the particle and is 3 radii long
        else:
            sphere = vtkSphereSource()
            sphere.SetRadius(radius)
            sphere.SetThetaResolution(12)
            sphere.SetPhiResolution(12)
            glyphs.SetSourceConnection(sphere.GetOutputPort())
            glyphs.ScalingOff()
        self._add_marker(glyphs, colour)
        for line in lines or []:
            if len(line) < 2:
                continue
            path = vtkPolyData()
            line_points = vtkPoints()
            line_points.SetData(numpy_to_vtk(np.ascontiguousarray(np.asarray(line)[:, ::-1], np.float32), deep=True))
            path.SetPoints(line_points)
            cells = vtkCellArray()
            cells.InsertNextCell(len(line))
            for i in range(len(line)):
                cells.InsertCellPoint(i)
            path.SetLines(cells)
            tube = vtkTubeFilter()
            tube.SetInputData(path)
            tube.SetRadius(max(radius / 3, 0.5))
            tube.SetNumberOfSides(8)
            self._add_marker(tube, colour)

    def _add_marker(self, source, colour) -> None:
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(source.GetOutputPort())
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*colour)
        self.markers.AddActor(actor)
        self.particles_actors.append(actor)
