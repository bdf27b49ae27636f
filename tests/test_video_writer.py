"""The one video writer: H.264 that browsers play (codec, pixel format, faststart, frame count, size),
the OpenCV mp4v fallback, and the atomic file handling both share."""
from __future__ import annotations

import gc
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from driving.atomic_io import is_temp_file
from driving.video_writer import H264, MP4V, H264VideoWriter, Mp4vVideoWriter, VideoWriter, open_video_writer

WRITERS = [H264VideoWriter, Mp4vVideoWriter]


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of the video as decoded by ffmpeg, as BGR arrays (what the writer was given)."""
    gen = imageio_ffmpeg.read_frames(str(path))
    width, height = next(gen)["size"]
    return [np.frombuffer(data, np.uint8).reshape(height, width, 3)[..., ::-1] for data in gen]


def ffmpeg_meta(path: Path) -> dict:
    """The stream description ffmpeg reads from the file (codec, pix_fmt, size, fps)."""
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    gen.close()
    return meta


def cv2_frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def bar_frame(k: int, size_hw: tuple[int, int] = (101, 201)) -> np.ndarray:
    """Dark frame with a red bar 20 px wide starting at x = 8k (so frames differ over time)."""
    img = np.full((*size_hw, 3), 30, np.uint8)
    img[:, 8 * k:8 * k + 20] = (0, 0, 255)
    return img


def test_h264_video_is_browser_playable_with_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    with open_video_writer(path, fps=10.0) as video:
        assert video.codec == H264
        for k in range(7):
            video.add(bar_frame(k))
    assert video.size_px == (202, 102)  # odd sizes padded to even for yuv420p
    meta = ffmpeg_meta(path)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == (202, 102) and meta["fps"] == pytest.approx(10.0)
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == 7
    head = path.read_bytes()
    assert 0 <= head.find(b"moov") < head.find(b"mdat")  # faststart: the index before the data
    frames = read_frames(path)
    assert len(frames) == 7 and frames[0].shape == (102, 202, 3)
    assert cv2_frame_count(path) == 7  # OpenCV (the tests' other reader) decodes it too
    for k in (0, 6):  # the bar moved with the frames
        assert frames[k][50, 8 * k + 10, 2] > 180 and frames[k][50, 8 * k + 10, 0] < 80


def test_mp4v_fallback_writes_a_video_opencv_reads(tmp_path: Path) -> None:
    path = tmp_path / "fallback.mp4"
    with Mp4vVideoWriter(path, fps=10.0) as video:
        for k in range(4):
            video.add(bar_frame(k, (64, 96)))
    assert video.codec == MP4V and ffmpeg_meta(path)["codec"] == "mpeg4"
    frames = read_frames(path)
    assert len(frames) == 4 and frames[0].shape == (64, 96, 3)


@pytest.mark.parametrize("writer_cls", WRITERS)
def test_file_appears_only_on_close_and_an_exception_keeps_the_frames(tmp_path: Path, writer_cls) -> None:
    path = tmp_path / "out" / "crash.mp4"
    with pytest.raises(KeyError), writer_cls(path, 10.0) as video:
        for k in range(3):
            video.add(bar_frame(k))
        (temp,) = path.parent.iterdir()
        assert is_temp_file(temp) and not path.exists()
        raise KeyError("agent failed")
    assert sorted(p.name for p in path.parent.iterdir()) == ["crash.mp4"]
    assert len(read_frames(path)) == 3
    video.close()  # twice is fine


@pytest.mark.parametrize("writer_cls", WRITERS)
def test_no_frame_or_no_close_leaves_no_file(tmp_path: Path, writer_cls: type[VideoWriter]) -> None:
    with writer_cls(tmp_path / "empty.mp4", 10.0):
        pass
    video = writer_cls(tmp_path / "dropped.mp4", 10.0)
    video.add(bar_frame(0))
    (temp,) = tmp_path.iterdir()
    assert is_temp_file(temp) and temp.name.startswith(".dropped.")
    del video
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_frames_must_keep_the_first_frame_size(tmp_path: Path) -> None:
    with open_video_writer(tmp_path / "v.mp4", 10.0) as video:
        video.add(bar_frame(0))
        with pytest.raises(ValueError, match="input sizes changed"):
            video.add(bar_frame(0, (64, 64)))
        with pytest.raises(ValueError, match="uint8 H x W x 3"):
            video.add(np.zeros((8, 8), np.uint8))
    assert len(read_frames(tmp_path / "v.mp4")) == 1
    with pytest.raises(RuntimeError, match="after close"):
        video.add(bar_frame(0))
    with pytest.raises(ValueError, match="fps must be positive"):
        open_video_writer(tmp_path / "w.mp4", 0.0)


@pytest.mark.parametrize("writer_cls", WRITERS)
def test_a_resumed_route_video_removes_the_killed_runs_half_written_file(tmp_path: Path, writer_cls) -> None:
    """A run killed mid-video leaves `.NAME.XXXX.tmp.mp4`; writing NAME.mp4 again deletes it
    (and nothing of other routes)."""
    stale = tmp_path / ".RouteScenario_3_3.k1ll3d.tmp.mp4"
    other = tmp_path / ".RouteScenario_4_4.w0rk1n.tmp.mp4"
    stale.write_bytes(b"half a video")
    other.write_bytes(b"another route")
    writer = writer_cls(tmp_path / "RouteScenario_3_3.mp4", fps=10)
    writer.add(bar_frame(0))
    writer.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [other.name, "RouteScenario_3_3.mp4"]
