//! Candle layers (conv3d, pool3d, depthwise conv, coordinate channels, SE) and the NEWSnet, EfficientNet and SNDNet models.
