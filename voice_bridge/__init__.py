"""WebSocket voice bridge: Nova Sonic or the local speech cascade in front of the deployed agent (issue 7)."""
