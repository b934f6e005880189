"""The ais-qt command: --help and --version without a display, and the --screenshot mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from ais_qt import __version__
from ais_qt.cli import main
from tests.conftest import write_mrc


def run_cli(*args, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ais_qt", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_version_and_help_need_no_display_and_no_qt():
    env = {"QT_QPA_PLATFORM": "xcb"}  # would fail if a window were attempted without a display
    version = run_cli("--version", env_extra=env)
    assert version.returncode == 0 and version.stdout.strip() == f"ais-qt {__version__}"
    helped = run_cli("--help", env_extra=env)
    assert helped.returncode == 0 and "--screenshot" in helped.stdout and "--demo" in helped.stdout
    probe = subprocess.run([sys.executable, "-c", "import sys, ais_qt.cli; "
                            "print(any(m.startswith('PySide6') for m in sys.modules))"],
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "False"


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--frobnicate"])
    assert info.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


def test_screenshot_of_a_file_and_of_the_demo(tmp_path, volume):
    tomo = write_mrc(tmp_path / "shot.mrc", volume)
    out = tmp_path / "shots" / "window.png"
    result = run_cli(tomo, "--demo", "--screenshot", out, env_extra={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert image.width() >= 1200 and image.height() >= 800
    colours = {image.pixelColor(x, y).rgb() for x in range(0, image.width(), 25) for y in range(0, image.height(), 25)}
    assert len(colours) > 30


def test_opening_on_the_render_tab_draws_the_3d_view_in_its_process(tmp_path, volume):
    tomo = write_mrc(tmp_path / "shot.mrc", volume)
    out = tmp_path / "render.png"
    result = run_cli(tomo, "--tab", "Render", "--screenshot", out, env_extra={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    centre = {image.pixelColor(x, y).rgb() for x in range(600, 900, 10) for y in range(300, 600, 10)}
    assert len(centre) > 20  # the slice drawn in 3D, not the empty view's flat colour


def test_screenshot_with_a_bad_file_reports_it_and_still_exits_cleanly(tmp_path):
    bad = tmp_path / "bad.mrc"
    bad.write_text("nope")
    out = tmp_path / "w.png"
    result = run_cli(bad, "--screenshot", out, env_extra={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0 and out.exists()
    assert "bad.mrc" in result.stderr and "not an MRC file" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_command_from_a_label_volume(tmp_path):
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(6, 64, 64)).astype(np.float32)
    labels = np.zeros(volume.shape, np.int8)
    labels[:, 10:30, 20:30] = 2
    labels[:, 10:30, 30:40] = 3  # two label values trained as one feature
    volume[labels >= 2] -= 3
    tomo, lab = write_mrc(tmp_path / "t.mrc", volume), write_mrc(tmp_path / "l.mrc", labels)
    out = tmp_path / "net"
    result = run_cli("train", tomo, "--labels", lab, "--label-value", "2-3", "--slices", "1-3", "--box-size", 32,
                     "--arch", "UNet (light)", "--epochs", 2, "--copies", 2, "--feature", "Membrane",
                     "--validation-split", "0.3", "--out", out, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "epoch 2/2: loss" in result.stdout and "held-back tiles at threshold" in result.stdout
    assert f"saved {out}.aisnet" in result.stdout
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.network import Network

    network = Network.load(f"{out}.aisnet", ArchitectureLibrary())
    assert network.info.feature == "Membrane" and network.info.tile_size == 32
    assert network.info.architecture == "unet_light" and network.info.voxel_size == 10.0


def test_train_command_reports_bad_input_in_one_line(tmp_path):
    tomo = write_mrc(tmp_path / "t.mrc", np.zeros((4, 32, 32), np.float32))
    wrong = write_mrc(tmp_path / "wrong.mrc", np.zeros((4, 16, 16), np.int8))
    result = run_cli("train", tomo, "--labels", wrong, "--label-value", 1, "--out", tmp_path / "x")
    assert result.returncode == 1 and "wrong.mrc: shape 4 × 16 × 16 does not match" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("train", tomo, "--labels", wrong, "--label-value", 1, "--param", "depth", "--out", tmp_path / "x")
    assert result.returncode == 2 and "NAME=VALUE" in result.stderr
    result = run_cli("train", tomo, "--labels", wrong, "--label-value", 1, "--arch", "nope", "--out", tmp_path / "x")
    assert result.returncode == 2 and "unknown architecture 'nope'" in result.stderr
    result = run_cli("train", tomo, "--labels", wrong, "--label-value", "membrane", "--out", tmp_path / "x")
    assert result.returncode == 2 and "'membrane' is not a label value or range" in result.stderr


def test_segment_command_with_glob_interactions_and_skip(tmp_path):
    from ais_qt.models.learning.architectures import ArchitectureLibrary
    from ais_qt.models.learning.interactions import Interaction, InteractionGraph
    from ais_qt.models.learning.training import TrainSettings, train
    from tests.test_networks import tiny_set

    library = ArchitectureLibrary()
    membrane = train(tiny_set(), TrainSettings(architecture="eman2", epochs=1, batch_size=8), library)
    other = train(tiny_set(), TrainSettings(architecture="eman2", epochs=1, batch_size=8), library)
    other.info.feature = "Protein"
    models = [membrane.save(tmp_path / "m.aisnet"), other.save(tmp_path / "p.aisnet")]
    graph = InteractionGraph()
    graph.add(Interaction("Protein", "Membrane", "avoid", 0.0, 0.0))  # everything avoids: all zero
    graph.save(tmp_path / "graph.json")
    for name in ("a", "b"):
        write_mrc(tmp_path / f"tomo_{name}.mrc", np.random.default_rng(0).normal(size=(3, 40, 48)).astype(np.float32))
    args = ["segment", "--model", models[0], "--model", models[1], "--interactions", tmp_path / "graph.json",
            str(tmp_path / "tomo_*.mrc"), "--out", tmp_path / "out"]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "2 of 2 tomograms segmented" in result.stdout
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["tomo_a__Membrane.mrc", "tomo_a__Protein.mrc", "tomo_b__Membrane.mrc", "tomo_b__Protein.mrc"]
    from ais_qt.models.volumes.tomogram import Tomogram

    assert not np.asarray(Tomogram.open(tmp_path / "out" / "tomo_a__Protein.mrc").data).any()
    again = run_cli(*args)
    assert again.returncode == 0 and "2 of 2" in again.stdout
    bad = run_cli("segment", "--model", tmp_path / "missing.aisnet", "x.mrc", "--out", tmp_path / "o")
    assert bad.returncode == 2 and "missing.aisnet: file not found" in bad.stderr

    # Test-time augmentation: --orientations 4 writes segment_volume's 4-orientation answer.
    from ais_qt.models.learning.segmentation import segment_volume

    tomogram = tmp_path / "tomo_a.mrc"
    averaged = run_cli("segment", "--model", models[0], tomogram, "--out", tmp_path / "tta", "--orientations", "4")
    assert averaged.returncode == 0, averaged.stderr
    (direct,) = segment_volume(tomogram, [membrane], tmp_path / "direct", orientations=4)
    written = np.asarray(Tomogram.open(tmp_path / "tta" / "tomo_a__Membrane.mrc").data, np.int32)
    assert np.abs(written - np.asarray(Tomogram.open(direct).data, np.int32)).max() <= 1  # engine vs Keras
    assert not np.array_equal(written, np.asarray(Tomogram.open(tmp_path / "out" / "tomo_a__Membrane.mrc").data))
    wrong = run_cli("segment", "--model", models[0], tomogram, "--out", tmp_path / "o", "--orientations", "3")
    assert wrong.returncode == 2 and "--orientations" in wrong.stderr


def test_pick_command_batch_formats_skip_and_bad_file(tmp_path, capsys):
    import starfile

    from tests.test_picking import ball

    for name, centres in (("TS_01", [(10, 20, 20), (30, 40, 40)]), ("TS_02", [(20, 30, 30)])):
        seg = np.zeros((40, 64, 64), np.uint8)
        for centre in centres:
            ball(seg, centre, 4, 220)
        write_mrc(tmp_path / f"{name}__Ribosome.mrc", seg, voxel_size=10.0)
    (tmp_path / "TS_03__Ribosome.mrc").write_bytes(b"garbage")
    out = tmp_path / "picks"
    code = main(["pick", str(tmp_path / "*__Ribosome.mrc"), "--min-volume", "100", "--min-spacing", "5",
                 "--format", "star", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 1 and "TS_03__Ribosome.mrc" in printed.err and "2 of 3 volumes picked, 3 particles" in printed.out
    table = starfile.read(out / "TS_01__Ribosome_coords.star")
    assert sorted(zip(table["rlnCoordinateZ"], table["rlnCoordinateY"], table["rlnCoordinateX"])) == [
        (10, 20, 20), (30, 40, 40)]
    assert main(["pick", str(tmp_path / "TS_02__Ribosome.mrc"), "--out", str(out)]) == 0
    assert "exists, skipped" in capsys.readouterr().out
    assert main(["pick", str(tmp_path / "TS_02__Ribosome.mrc"), "--format", "tbl", "--out", str(out)]) == 0
    assert np.loadtxt(out / "TS_02__Ribosome_coords.tbl")[23:26].tolist() == [30, 30, 20]
    assert main(["pick", "x.mrc", "--min-volume", "lots", "--out", str(out)]) == 2


def test_mesh_command_writes_a_closed_sphere_in_angstrom(tmp_path, capsys):
    from ais_qt.models.particles.meshes import read_obj
    from tests.test_picking import ball

    seg = np.zeros((40, 64, 64), np.uint8)
    ball(seg, (20, 32, 32), 10, 255)
    seg[2, 2, 2] = 255  # dust
    write_mrc(tmp_path / "TS_01__Vesicle.mrc", seg, voxel_size=8.0)
    obj = tmp_path / "vesicle.obj"
    assert main(["mesh", str(tmp_path / "TS_01__Vesicle.mrc"), "--min-volume", "2vx", "--units", "angstrom",
                 "--out", str(obj)]) == 0
    mesh = read_obj(obj)
    assert obj.read_text().startswith("# Ais-Qt isosurface of Vesicle; coordinates in angstrom")
    radii = np.linalg.norm(mesh.vertices / 8.0 - (32, 32, 20), axis=1)
    assert 9 < radii.min() and radii.max() < 11  # only the sphere: the dust voxel was hidden
    assert 1000 < len(mesh.vertices) < 10000
    assert main(["mesh", str(tmp_path / "nope.mrc"), "--out", str(obj)]) == 2
    assert "nope.mrc: file not found" in capsys.readouterr().err


def test_mesh_and_pick_of_a_probability_map_with_no_voxel_size_and_an_origin(tmp_path, capsys):
    """A float32 map (0..1) whose header gives voxel size 0: --voxel-size supplies it, the error
    without it names the file and the flag, and Å vertices include the origin (ChimeraX overlay)."""
    import mrcfile

    from ais_qt.models.particles.meshes import read_obj
    from tests.test_picking import ball

    seg = np.zeros((40, 64, 64), np.uint8)
    ball(seg, (20, 32, 32), 8, 255)
    path = tmp_path / "TS_09__Vesicle.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(seg.astype(np.float32) / 255)
        mrc.header.origin = (1000.0, 2000.0, 3000.0)
    obj = tmp_path / "v.obj"
    assert main(["mesh", str(path), "--units", "angstrom", "--out", str(obj)]) == 2
    assert "TS_09__Vesicle.mrc: vertices in Å need the voxel size" in capsys.readouterr().err
    assert main(["mesh", str(path), "--units", "angstrom", "--voxel-size", "5", "--out", str(obj)]) == 0
    vertices = read_obj(obj).vertices
    radii = np.linalg.norm((vertices - (1000, 2000, 3000)) / 5.0 - (32, 32, 20), axis=1)
    assert 7 < radii.min() and radii.max() < 9  # the 0..1 map was meshed at level 128 of 255
    out = tmp_path / "picks"
    assert main(["pick", str(path), "--min-volume", "100", "--out", str(out)]) == 1
    assert "TS_09__Vesicle.mrc: a minimum volume in nm³ needs the voxel size" in capsys.readouterr().err
    assert main(["pick", str(path), "--min-volume", "100", "--voxel-size", "5", "--out", str(out)]) == 0
    assert "1 particles" in capsys.readouterr().out


def test_convert_both_ways_quietly_and_segment_with_an_ais_model(tmp_path):
    """No TensorFlow start-up notices reach the terminal; an Ais .scnm works wherever an .aisnet does."""
    data = Path(__file__).parent / "data"
    result = run_cli("convert", data / "ais_tiny.scnm", tmp_path / "tiny.aisnet")
    assert result.returncode == 0 and "tiny.aisnet: Tiny" in result.stdout, result.stderr
    for noise in ("oneDNN", "absl::InitializeLog", "cuInit", "cudart", "HDF5"):
        assert noise not in result.stderr
    back = run_cli("convert", tmp_path / "tiny.aisnet", tmp_path / "again.scnm")
    assert back.returncode == 0 and (tmp_path / "again.scnm").exists() and not back.stderr.strip(), back.stderr
    bad = run_cli("convert", tmp_path / "tiny.aisnet", tmp_path / "tiny.txt")
    assert bad.returncode == 2 and "tiny.txt: name it .scnm (for Ais) or .aisnet" in bad.stderr
    segmented = run_cli("segment", "--model", tmp_path / "again.scnm", data / "ais_tiny_volume.mrc", "--out",
                        tmp_path / "out")
    assert segmented.returncode == 0 and (tmp_path / "out" / "ais_tiny_volume__Tiny.mrc").exists()
