"""How a render's output video is encoded: the codec, pixel format and encoder options of the
stream the transcoding loop writes (``VideoEncoding``), and the batch renders' choice of them
(``Encoder``: ``--codec``, ``--crf``, ``--pix-fmt``), checked once before the first file.

Defaults: H.264 (libx264), CRF 18, preset medium, the input's pixel format when libx264 takes it
(else yuv420p).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import av
import numpy as np

from .av_frames import check_pix_fmt
from .errors import OptionError
from .media.files import CONTAINER_FORMATS

CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}


@dataclass
class VideoEncoding:
    """The output video stream: codec, pixel format (None: the input's) and encoder options."""

    codec: str = "rawvideo"
    pix_fmt: str | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Encoder:
    codec: str = "libx264"
    crf: int | None = 18
    pix_fmt: str | None = None
    preset: str | None = "medium"

    def for_input(self, video: av.video.stream.VideoStream) -> VideoEncoding:
        return self.encoding(video.codec_context.format.name)

    def encoding(self, input_pix_fmt: str) -> VideoEncoding:
        """The output stream for an input in ``input_pix_fmt``: ours when given, else the input's
        when the encoder takes it (and it is not a palette), else the encoder's usual one."""
        supported = {f.name for f in self._codec().video_formats or ()}
        pix_fmt = self.pix_fmt or input_pix_fmt
        if not self.pix_fmt and ((supported and pix_fmt not in supported) or av.VideoFormat(pix_fmt).has_palette):
            preferred = [f for f in ("yuv420p", "rgb24") if not supported or f in supported]
            pix_fmt = preferred[0] if preferred else sorted(supported)[0]
        options = {}
        if self.crf is not None and self.codec in ("libx264", "libx265") and self.crf > 51:
            raise OptionError("crf", f"{self.codec} takes 0 to 51, not {self.crf}")
        if self.crf is not None and self.codec in CRF_CODECS:
            options["crf"] = str(self.crf)
        if self.preset and self.codec in ("libx264", "libx265"):
            options["preset"] = self.preset
        return VideoEncoding(self.codec, pix_fmt, options)

    def _codec(self) -> av.codec.Codec:
        try:
            codec = av.codec.Codec(self.codec, "w")
        except (av.FFmpegError, ValueError) as error:
            raise OptionError("codec", f"{self.codec!r} is not an encoder this FFmpeg has ({error})") from error
        if codec.type != "video":
            raise OptionError("codec", f"{self.codec!r} is a {codec.type} encoder; give a video encoder, e.g. libx264")
        return codec

    def check(self, extensions: set[str]) -> None:
        """Encodes one small frame into each container the batch writes, so an encoder, pixel
        format or container that cannot work is refused before the first file, not in every one."""
        if self.pix_fmt is not None:
            check_pix_fmt("pix_fmt", self.pix_fmt)
        encoding = self.encoding("yuv420p")
        for extension in sorted(extensions):
            try:
                with av.open(io.BytesIO(), "w", format=CONTAINER_FORMATS[extension]) as container:
                    stream = container.add_stream(encoding.codec, rate=25, options=encoding.options)
                    stream.width = stream.height = 64
                    stream.pix_fmt = encoding.pix_fmt
                    frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
                    container.mux(stream.encode(frame.reformat(format=encoding.pix_fmt)))
                    container.mux(stream.encode(None))
            except (av.FFmpegError, ValueError) as error:
                raise OptionError("codec", f"{encoding.codec} with pixel format {encoding.pix_fmt} cannot be written "
                                           f"to {extension} files ({error}); choose another --codec, --pix-fmt or "
                                           "output name") from error
