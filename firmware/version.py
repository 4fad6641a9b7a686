# The firmware's version, reported by the protocol's handshake and `host_tools info`.
FIRMWARE_VERSION = "0.1.0"
