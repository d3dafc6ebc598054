"""The stdin -> stdout FFmpeg pipe filter (``stc-ffmpeg``)."""
