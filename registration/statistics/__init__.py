"""The statistics page: the registration funnel and its weekly chart, counted in the background."""
