// Filled by the native hashing work.
