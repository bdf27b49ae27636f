"""Live view of a route being driven (`driving evaluate --viewer`, `driving collect --viewer`).

The route runner hands a `ViewerFeed` (feed.py) each tick; at most every `TICKS_PER_FRAME`-th
tick the feed gathers what is known into a `ViewerFrame` (frame.py) and gives it to a `Viewer`:
`PygameWindowViewer` (window.py) when a display is available, else `VideoFileViewer`
(video_file.py), an H.264 video per route. Both draw the frame with `compose_frame` (compose.py).
With the viewer off the runner builds no feed, so nothing is computed. The CLI option and the
window/video choice live in options.py, shared by both commands.
"""
