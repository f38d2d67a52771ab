"""Render IR to Python source through jinja2 templates, then write it atomically."""
