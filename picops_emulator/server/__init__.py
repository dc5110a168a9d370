"""The emulator's HTTP side: edge parsing, auth, routing, errors, XML and the CI seam."""
