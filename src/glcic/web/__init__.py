"""`glcic serve`: a local web page to paint holes and complete them, and the HTTP API behind it."""

from glcic.web.app import create_app

__all__ = ["create_app"]
