"""The viewer as a pygame window (a display is available and `--viewer` / `--viewer window` was given)."""
from __future__ import annotations

import os

import numpy as np

from leaderboard.viewer.compose import compose_frame
from leaderboard.viewer.frame import ViewerFrame


class PygameWindowViewer:
    """One window per route showing each frame; closing the window stops the view, not the route.

    Opening raises `pygame.error` when SDL finds no display (the caller then falls back to a video).
    """

    def __init__(self, title: str) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on import
        import pygame

        self._pygame = pygame
        pygame.display.init()
        self._title = title
        self._screen = None
        self.open = True
        self.frames = 0

    def show(self, frame: ViewerFrame) -> None:
        if not self.open:
            return
        pygame = self._pygame
        if any(event.type == pygame.QUIT for event in pygame.event.get()):
            self.close()
            return
        img = np.ascontiguousarray(compose_frame(frame).image)
        size = (img.shape[1], img.shape[0])
        if self._screen is None or self._screen.get_size() != size:
            self._screen = pygame.display.set_mode(size)
            pygame.display.set_caption(self._title)
        self._screen.blit(pygame.image.frombuffer(img.tobytes(), size, "BGR"), (0, 0))
        pygame.display.flip()
        self.frames += 1

    def close(self) -> None:
        if self.open:
            self.open = False
            self._pygame.display.quit()
