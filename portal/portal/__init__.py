"""The citizen portal and the officer console: server-rendered pages over intake's and processing's public APIs."""
