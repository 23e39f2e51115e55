"""The library's exceptions. The CLI turns every ``TalError`` into one ``Error: ...`` line."""


class TalError(Exception):
    """Base class of every error ``tal`` reports to a user."""


class InputFileError(TalError):
    """An input file (image, labels, predictions, YAML) is missing, unreadable or malformed.

    The message names the file, and the line where one applies.
    """


class DroppedImageError(InputFileError):
    """ultralytics' loader leaves this image out of training (a bad label row, a bad image).

    ``tal assign`` reports it as an error; ``tal sweep`` skips the image and counts it as dropped.
    """


class ConfigError(TalError):
    """A setting (from a config file or a flag) is unknown or has a wrong type or value."""


class ShapeError(TalError, ValueError):
    """A tensor does not have the shape a function expects ("expected X, got Y")."""


class MissingExtraError(TalError):
    """An optional dependency is not installed; the message says what to install."""
