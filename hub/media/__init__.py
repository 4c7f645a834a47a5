"""The media plane: Janus run or reached by the hub, kept in line with the floor."""
