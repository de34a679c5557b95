"""Presentation: number formats, reader tables and files; analyses return numbers, this layer
turns them into words, pictures and files."""
