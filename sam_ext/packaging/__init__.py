"""Packaging a SAM template: zip, sign, place, and rewrite the template."""
