"""The trust operations staff's view across placements: what is stuck (`stuck`) and the fixes (`fixes`)."""
