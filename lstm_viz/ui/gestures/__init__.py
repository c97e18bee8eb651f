"""The Gestures page's glue: the drawing canvas, the stroke read point by point, its charts."""
