"""Which files are videos, and which container each extension is written as: shared by batch
renders (inputs and outputs) and training (its clip folders), so neither imports the other."""

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
                    ".y4m", ".nut", ".flv", ".wmv", ".3gp"}
KEPT_CONTAINERS = {".mp4", ".mkv", ".mov"}  # other inputs become .mkv, which holds any copied stream
CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm",
                     ".avi": "avi", ".nut": "nut", ".ts": "mpegts", ".mts": "mpegts", ".m2ts": "mpegts",
                     ".mpg": "mpeg", ".mpeg": "mpeg", ".flv": "flv", ".wmv": "asf", ".3gp": "3gp", ".y4m": "yuv4mpegpipe"}
