"""Sources read from the user's files: .npy, .npz and PNG folders, and every way they go wrong."""

import numpy as np
import pytest
from PIL import Image

from latentkit.data import open_data
from latentkit.data.source import ArraySource
from latentkit.errors import LatentkitError


def fails_with(spec, *phrases, **kwargs):
    """Open ``spec``, expect a one-line LatentkitError with a fix mentioning every phrase."""
    with pytest.raises(LatentkitError) as raised:
        source = open_data(str(spec), **kwargs)
        for _ in source.batches(64):
            pass
    error = raised.value
    assert "\n" not in str(error) and error.fix
    for phrase in phrases:
        assert phrase in error.message
    return error


def read_all(source, batch_size=7):
    return np.concatenate([batch.x for batch in source.batches(batch_size)])


@pytest.fixture
def uint8_images():
    return np.random.default_rng(0).integers(0, 256, size=(20, 1, 6, 5), dtype=np.uint8)


# --- round trips -------------------------------------------------------------------


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_npz_uint8_with_labels_and_named_factors(tmp_path, uint8_images, save):
    labels = np.arange(20) % 3
    factors = np.column_stack([np.arange(20) % 2, np.arange(20) % 5]).astype(np.int32)
    save(tmp_path / "d.npz", x=uint8_images, y=labels, factors=factors, factor_names=np.array(["colour", "size"]))

    source = open_data(str(tmp_path / "d.npz"))

    assert source.name == str(tmp_path / "d.npz") and len(source) == 20 and source.image_shape == (1, 6, 5)
    x = read_all(source)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, uint8_images.astype(np.float32) / 255)
    np.testing.assert_array_equal(source.labels, labels)
    assert source.labels.dtype == np.int64 and source.factors.dtype == np.int64
    np.testing.assert_array_equal(source.factors, factors)
    assert source.factor_names == ("colour", "size") and source.factor_sizes == (2, 5)
    np.testing.assert_array_equal(source.get(np.array([19, 3])), x[[19, 3]])


def test_npz_float_without_names_gets_numbered_factor_names(tmp_path):
    x = np.linspace(0, 1, 4 * 2 * 3 * 3, dtype=np.float64).reshape(4, 2 * 3 * 3)[:, :9].reshape(4, 3, 3)
    np.savez_compressed(tmp_path / "f.npz", x=x, factors=np.array([[0], [1], [1], [3]]))

    source = open_data(str(tmp_path / "f.npz"))

    assert source.image_shape == (1, 3, 3) and source.labels is None
    np.testing.assert_array_equal(read_all(source, 3)[:, 0], x.astype(np.float32))
    assert source.factor_names == ("factor_0",) and source.factor_sizes == (4,)


def test_uncompressed_npz_member_is_memory_mapped(tmp_path, uint8_images):
    np.savez(tmp_path / "d.npz", x=uint8_images)
    assert isinstance(open_data(str(tmp_path / "d.npz")).array, np.memmap)
    np.savez_compressed(tmp_path / "c.npz", x=uint8_images)
    assert not isinstance(open_data(str(tmp_path / "c.npz")).array, np.memmap)


def test_npy_float_nhw_becomes_one_channel_and_is_memory_mapped(tmp_path):
    x = np.random.default_rng(1).random((30, 4, 4), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)

    source = open_data(str(tmp_path / "x.npy"))

    assert isinstance(source, ArraySource) and isinstance(source.array, np.memmap)
    assert source.image_shape == (1, 4, 4) and len(source) == 30
    np.testing.assert_array_equal(read_all(source)[:, 0], x)
    assert source.labels is None and source.factors is None


def test_npy_uint8_rgb_nchw(tmp_path):
    x = np.random.default_rng(2).integers(0, 256, size=(5, 3, 2, 2), dtype=np.uint8)
    np.save(tmp_path / "rgb.npy", x)

    source = open_data(str(tmp_path / "rgb.npy"), limit=3, seed=0)

    assert source.image_shape == (3, 2, 2) and len(source) == 3
    np.testing.assert_array_equal(read_all(source), x[source.indices] / np.float32(255))


def test_png_folder_sorted_by_name_grayscale(tmp_path):
    pixels = np.random.default_rng(3).integers(0, 256, size=(3, 4, 6), dtype=np.uint8)
    for name, image in zip(["b.png", "a.png", "c.PNG"], pixels):
        Image.fromarray(image, mode="L").save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")

    source = open_data(str(tmp_path))

    assert len(source) == 3 and source.image_shape == (1, 4, 6) and source.labels is None
    np.testing.assert_array_equal(read_all(source, 2)[:, 0], pixels[[1, 0, 2]] / np.float32(255))


def test_png_folder_converts_every_image_to_the_first_ones_mode(tmp_path):
    rgb = np.random.default_rng(4).integers(0, 256, size=(3, 5, 3), dtype=np.uint8)
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "0.png")
    Image.fromarray(np.full((3, 5), 200, dtype=np.uint8), mode="L").save(tmp_path / "1.png")

    x = read_all(open_data(str(tmp_path)))

    assert x.shape == (2, 3, 3, 5)
    np.testing.assert_array_equal(x[0], rgb.transpose(2, 0, 1) / np.float32(255))
    np.testing.assert_array_equal(x[1], np.full((3, 3, 5), 200 / np.float32(255)))


# --- errors ------------------------------------------------------------------------


def test_unknown_spec_names_the_accepted_forms():
    fails_with("digitz", "digits", "shapes", ".npz", "PNG")


def test_existing_file_of_another_kind(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3")
    fails_with(tmp_path / "d.csv", ".npz", "PNG")


def test_missing_file(tmp_path):
    fails_with(tmp_path / "missing.npz", "does not exist")


@pytest.mark.parametrize("content", [b"definitely not numpy" * 5, b"PK\x03\x04broken zip" * 5])
def test_corrupt_files(tmp_path, content):
    for name in ("bad.npy", "bad.npz"):
        (tmp_path / name).write_bytes(content)
        fails_with(tmp_path / name, "not a valid")


def test_truncated_npy(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((50, 8, 8), dtype=np.float32))
    (tmp_path / "t.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:500])
    fails_with(tmp_path / "t.npy", "not a valid")


def test_npz_with_corrupt_member(tmp_path):
    np.savez_compressed(tmp_path / "x.npz", x=np.zeros((50, 8, 8), dtype=np.float32))
    data = bytearray((tmp_path / "x.npz").read_bytes())
    data[80:90] = b"0123456789"
    (tmp_path / "c.npz").write_bytes(bytes(data))
    fails_with(tmp_path / "c.npz", "'x'", "cannot be read")


def test_npz_needing_an_unknown_zip_version(tmp_path):
    """Found by the fuzzer: zipfile raises NotImplementedError("zip file version 16.7")."""
    np.savez(tmp_path / "x.npz", x=np.zeros((5, 8, 8), dtype=np.float32))
    data = bytearray((tmp_path / "x.npz").read_bytes())
    directory = data.rindex(b"PK\x01\x02")  # central directory entry: "version needed" at +6
    data[directory + 6] = 167
    (tmp_path / "v.npz").write_bytes(bytes(data))
    fails_with(tmp_path / "v.npz", "not a valid", "zip file version 16.7")


def test_control_characters_in_member_names_stay_on_one_line(tmp_path, capsys, mlp_vae_checkpoint):
    """Found by the fuzzer: a member named "\\x1c.bin" split the error into two lines."""
    import zipfile

    from latentkit.cli import main

    with zipfile.ZipFile(tmp_path / "odd.npz", "w") as archive:
        archive.writestr("\x1c.bin", b"")
    assert main(["-q", "kl-report", str(mlp_vae_checkpoint), "--data", str(tmp_path / "odd.npz"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "no array named 'x'" in err and "\\x1c.bin" in err


def test_npz_without_x_lists_its_arrays(tmp_path):
    np.savez(tmp_path / "d.npz", images=np.zeros((2, 3, 3)))
    fails_with(tmp_path / "d.npz", "no array named 'x'", "images")


def test_empty_data(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((0, 8, 8), dtype=np.uint8))
    fails_with(tmp_path / "e.npy", "empty")


@pytest.mark.parametrize(
    ("shape", "phrase"),
    [
        ((4, 8, 8, 3), "channels-last"),
        ((4, 8, 8, 1), "channels-last"),
        ((4, 8), "(4, 8)"),
        ((2, 1, 1, 4, 4), "(N, C, H, W)"),
    ],
)
def test_shapes_other_than_nchw_or_nhw(tmp_path, shape, phrase):
    np.save(tmp_path / "x.npy", np.zeros(shape, dtype=np.uint8))
    error = fails_with(tmp_path / "x.npy", phrase, str(shape))
    assert "transpose" in error.fix or "reshape" in error.fix


def test_dtype_neither_uint8_nor_float(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 3), dtype=np.int16))
    fails_with(tmp_path / "x.npy", "int16", "uint8")


def test_floats_outside_unit_range_caught_up_front(tmp_path):
    np.save(tmp_path / "x.npy", np.full((3, 4, 4), 2.5, dtype=np.float32))
    fails_with(tmp_path / "x.npy", "row 0", "outside [0, 1]")


def test_nan_beyond_the_sample_is_reported_with_its_row_while_streaming(tmp_path, monkeypatch):
    monkeypatch.setattr(ArraySource, "SAMPLE_ROWS", 1)  # only row 0 is checked up front
    x = np.zeros((100, 4, 4), dtype=np.float32)
    x[37, 2, 1] = np.nan
    np.save(tmp_path / "x.npy", x)

    source = open_data(str(tmp_path / "x.npy"))
    fails_with(tmp_path / "x.npy", "row 37", "NaN")
    with pytest.raises(LatentkitError, match="row 37"):
        source.get(np.array([5, 37]))


@pytest.mark.parametrize(
    ("arrays", "phrases"),
    [
        ({"y": np.zeros(3, dtype=np.int64)}, ["y", "(3,)", "4 images"]),
        ({"y": np.zeros(4)}, ["y", "float64", "integers"]),
        ({"factors": np.zeros((5, 2), dtype=np.int64)}, ["factors", "(5, 2)", "4 images"]),
        ({"factors": np.zeros((4, 2))}, ["factors", "float64", "integer"]),
        ({"factors": -np.ones((4, 1), dtype=np.int64)}, ["factors", "negative"]),
        ({"factors": np.zeros((4, 2), dtype=np.int64), "factor_names": np.array(["a"])}, ["factor_names", "2 strings"]),
    ],
)
def test_labels_and_factors_that_do_not_fit(tmp_path, arrays, phrases):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2, 2), dtype=np.uint8), **arrays)
    fails_with(tmp_path / "d.npz", *phrases)


def test_folder_without_png(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    fails_with(tmp_path, "no .png images")


def test_png_of_another_size_is_named(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "a.png")
    Image.new("L", (4, 4)).save(tmp_path / "b.png")
    Image.new("L", (5, 4)).save(tmp_path / "c.png")
    fails_with(tmp_path, "c.png", "5x4", "4x4")


def test_unreadable_png_is_named(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not a png")
    fails_with(tmp_path, "b.png", "not a readable PNG")
