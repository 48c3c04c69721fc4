"""NetMicroscope video lab: labelled adaptive-video traffic from a real player and server."""
