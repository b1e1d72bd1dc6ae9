"""The `glcic` command: `main` runs one subcommand and turns every error into one line and an exit code.

glcic.cli.options builds the parser (argparse only); glcic.cli.commands holds the subcommands.
"""

from __future__ import annotations

import sys

from glcic.errors import GlcicError


def build_parser():
    from glcic.cli.options import build_parser as build

    return build()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except GlcicError as error:
        print(f"glcic: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the one place every command's file-system errors end up
        where = f" {error.filename}" if error.filename else ""
        print(f"glcic: error:{where}: {error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("glcic: interrupted", file=sys.stderr)
        return 130
