"""Audio both sides of a call use: espeak speech rendering and LiveKit room-audio helpers.

Neutral ground: the agent and the test bed (simulators, simulated caller) import from here, and
this package imports nothing of ours.
"""
