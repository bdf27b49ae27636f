"""The viewer as an H.264 video per route (headless runs, or `--viewer video`)."""
from __future__ import annotations

from pathlib import Path

import cv2

from driving.video_writer import open_video_writer
from leaderboard.viewer.compose import compose_frame
from leaderboard.viewer.frame import FRAME_FPS, ViewerFrame


class VideoFileViewer:
    """Writes each shown frame to `path` (`driving.video_writer`: H.264, complete only once closed).

    The first frame fixes the size; a later frame of another size (a part of the picture that
    appeared or vanished mid-route) is scaled to it rather than ending the video.
    """

    def __init__(self, path: str | Path, fps: float = FRAME_FPS) -> None:
        self._writer = open_video_writer(path, fps)
        self.path = self._writer.path

    @property
    def codec(self) -> str:
        """"h264", or "mp4v" when imageio-ffmpeg is not available."""
        return self._writer.codec

    @property
    def frames(self) -> int:
        return self._writer.frames

    def show(self, frame: ViewerFrame) -> None:
        img = compose_frame(frame).image
        size = self._writer.size_px
        if size is not None and (img.shape[1], img.shape[0]) != size:
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        self._writer.add(img)

    def close(self) -> None:
        self._writer.close()
