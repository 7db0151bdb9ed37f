"""Image generation: a GAN family, a sample-quality objective that needs no download, the generator exported."""
