"""The Bot API methods the stand-in implements, grouped by kind (one mixin a module)."""
