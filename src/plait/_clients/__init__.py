"""``plait client``: typed clients (Python, TypeScript) generated from an app's routes."""
