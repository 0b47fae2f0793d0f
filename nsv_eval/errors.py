"""Exceptions whose message is meant for the user."""


class NsvError(Exception):
    """An error with a message meant for the user; the CLI prints it without a traceback."""


class InputError(NsvError, ValueError):
    """Bad input data: the message names the file, row and column where possible."""
