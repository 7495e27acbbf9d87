package model

// GeneratorVersion changes whenever Generate would write different bytes for
// the same Config, type and seed; caches of generated models key on it.
const GeneratorVersion = 1
