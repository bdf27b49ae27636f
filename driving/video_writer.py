"""One video writer for every mp4 the project makes: BGR frames in, a file that browsers play out.

`open_video_writer(path, fps)` returns an `H264VideoWriter` when imageio-ffmpeg's ffmpeg (bundled
with the package, so no system ffmpeg is needed) has libx264: H.264 in yuv420p with the index at
the front of the file (`-movflags +faststart`), which browsers, VS Code and chat previews play.
Without it, it falls back to `Mp4vVideoWriter` (OpenCV's MPEG-4 part 2, "mp4v"; this OpenCV
build has no H.264 encoder) with a warning, since desktop players still play that. The
writer's `codec` says which one was used.

Every writer is atomic (driving.atomic_io.atomic_path): frames go to a hidden temporary file beside
`path` that `close` renames onto it, so a player never sees half a video; a writer that got no
frame, or was dropped without `close`, leaves no file. The first frame fixes the video's size;
odd sizes are padded by one black row / column (yuv420p needs even sizes). Leaving a `with`
block through an exception closes normally: the frames written before the error become a
complete video, since they are what one wants to see when something failed.
"""
from __future__ import annotations

import functools
import subprocess
import tempfile
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np

from driving.atomic_io import atomic_path, remove_temp_leftovers

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is 3.11+; annotation only

H264 = "h264"
MP4V = "mp4v"
#: x264 speed/size trade-off: videos are written while the simulation runs, so encode fast.
X264_PRESET = "veryfast"
X264_CRF = 23  # x264's default quality


class VideoWriter(ABC):
    """Appends BGR frames to an mp4 at `path`; the file appears there only once `close`d, complete.

    `frames` counts the frames written, `size_px` is the video's (width, height) once the first
    frame fixed it. Subclasses open, write and finish the temporary file.
    """

    codec: ClassVar[str]

    def __init__(self, path: str | Path, fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"video {path}: fps must be positive, got {fps}")
        self.path = Path(path)
        self.fps = float(fps)
        self.frames = 0
        self.size_px: tuple[int, int] | None = None
        self._frame_size: tuple[int, int] | None = None  # as given, before padding to even
        self._atomic: Any = None
        self._closed = False

    def add(self, frame_bgr: np.ndarray) -> None:
        """Append one uint8 H x W x 3 BGR frame (every frame must have the first one's size)."""
        if self._closed:
            raise RuntimeError(f"video {self.path}: add after close")
        img = np.asarray(frame_bgr)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"video {self.path}: expected a uint8 H x W x 3 BGR frame, got "
                             f"{img.dtype} {img.shape}")
        size = (img.shape[1], img.shape[0])
        if self._frame_size is None:
            self._start(size)
        elif size != self._frame_size:
            raise ValueError(f"video {self.path}: frame is {size[0]}x{size[1]} px, the video "
                             f"{self._frame_size[0]}x{self._frame_size[1]} (input sizes changed mid-video)")
        self._write(np.ascontiguousarray(_pad_even(img)))
        self.frames += 1

    def _start(self, size: tuple[int, int]) -> None:
        remove_temp_leftovers(self.path)  # a killed run's half-written video of this route
        atomic = atomic_path(self.path)
        tmp = atomic.__enter__()
        even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
        try:
            self._open(tmp, even)
        except BaseException as exc:
            atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._atomic, self._frame_size, self.size_px = atomic, size, even

    def close(self) -> None:
        """Finish the file and move it into place (no frame: no file). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._atomic is None:
            return
        atomic, self._atomic = self._atomic, None
        try:
            self._finish()
        except BaseException as exc:
            atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        if self.frames:
            atomic.__exit__(None, None, None)
        else:
            atomic.__exit__(RuntimeError, RuntimeError("no frames"), None)

    def __del__(self) -> None:
        """Dropped without `close`: stop the encoder and remove the temporary file (no half video)."""
        atomic = getattr(self, "_atomic", None)
        if atomic is None:
            return
        self._atomic = None
        self._abandon()
        atomic.__exit__(RuntimeError, RuntimeError("video dropped without close"), None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @abstractmethod
    def _open(self, tmp: Path, size_px: tuple[int, int]) -> None:
        """Start writing `tmp` (an .mp4 name) at `size_px` (width, height; even)."""

    @abstractmethod
    def _write(self, img: np.ndarray) -> None:
        """Append one frame of the opened size."""

    @abstractmethod
    def _finish(self) -> None:
        """Complete the file (raise if it could not be completed)."""

    @abstractmethod
    def _abandon(self) -> None:
        """Stop without completing the file (it is removed afterwards)."""


class H264VideoWriter(VideoWriter):
    """H.264 (libx264, yuv420p, faststart) through imageio-ffmpeg's ffmpeg, fed raw BGR on a pipe.

    ffmpeg runs as a separate process, so encoding overlaps the caller's work; its messages go to
    a temporary file (a pipe could fill up and stall it) and are shown when it fails.
    """

    codec = H264

    def _open(self, tmp: Path, size_px: tuple[int, int]) -> None:
        import imageio_ffmpeg

        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
               "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{size_px[0]}x{size_px[1]}", "-r", f"{self.fps:g}",
               "-i", "-", "-an", "-c:v", "libx264", "-preset", X264_PRESET, "-crf", str(X264_CRF),
               "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - open until _finish / _abandon
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)

    def _write(self, img: np.ndarray) -> None:
        try:
            self._proc.stdin.write(img.data)
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise RuntimeError(f"video {self.path}: ffmpeg stopped: {self._messages()}") from None

    def _finish(self) -> None:
        try:
            self._proc.stdin.close()
        except OSError:
            pass  # ffmpeg already gone: its exit status says why
        try:
            if self._proc.wait() != 0:
                raise RuntimeError(f"video {self.path}: ffmpeg failed ({self._proc.returncode}): {self._messages()}")
        finally:
            self._log.close()

    def _abandon(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._log.close()

    def _messages(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace").strip() or "no message"


class Mp4vVideoWriter(VideoWriter):
    """OpenCV's mp4v (MPEG-4 part 2): the fallback when imageio-ffmpeg is missing; browsers do not play it."""

    codec = MP4V

    def _open(self, tmp: Path, size_px: tuple[int, int]) -> None:
        self._writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*MP4V), self.fps, size_px)
        if not self._writer.isOpened():
            raise RuntimeError(f"video {self.path}: OpenCV cannot open an {MP4V} mp4 writer")

    def _write(self, img: np.ndarray) -> None:
        self._writer.write(img)

    def _finish(self) -> None:
        self._writer.release()

    def _abandon(self) -> None:
        self._writer.release()


@functools.lru_cache(maxsize=1)
def h264_available() -> bool:
    """Whether imageio-ffmpeg is installed and its ffmpeg has libx264 (checked once per process)."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        encoders = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, timeout=30,
                                  check=False).stdout
    except (ImportError, RuntimeError, OSError, subprocess.TimeoutExpired):
        return False
    return b"libx264" in encoders


def open_video_writer(path: str | Path, fps: float) -> VideoWriter:
    """An H.264 writer for `path`, or the mp4v one (with a warning) when imageio-ffmpeg cannot do H.264."""
    if h264_available():
        return H264VideoWriter(path, fps)
    _warn_fallback()
    return Mp4vVideoWriter(path, fps)


@functools.lru_cache(maxsize=1)
def _warn_fallback() -> None:
    warnings.warn("imageio-ffmpeg with libx264 is not available: writing mp4v videos, which browsers do not "
                  "play (pip install imageio-ffmpeg)", RuntimeWarning, stacklevel=3)


def _pad_even(img: np.ndarray) -> np.ndarray:
    """`img` with one black row / column added where its height / width is odd."""
    pad_h, pad_w = img.shape[0] % 2, img.shape[1] % 2
    if not (pad_h or pad_w):
        return img
    return cv2.copyMakeBorder(img, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(0, 0, 0))
