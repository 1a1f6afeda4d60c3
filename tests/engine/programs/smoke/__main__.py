"""One :class:`SmokeFile`, configured by ``directory`` (required) and ``text``."""

import pulumi

from provider.resources.smoke import SmokeFile

config = pulumi.Config()
note = SmokeFile("note", directory=config.require("directory"), text=config.get("text") or "hello")
pulumi.log.info("smoke program registered its resources")
pulumi.export("path", note.path)
pulumi.export("digest", note.digest)
