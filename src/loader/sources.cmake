# The loader core's sources, relative to src/: what `hubgate_loader` links from other modules
# and what python/CMakeLists.txt compiles into the Python extension (no other module needed).
set(HUBGATE_LOADER_CORE_SOURCES
  loader/http.cpp loader/open.cpp loader/stream.cpp
  scan/safetensors_layout.cpp scan/json_strict.cpp
  crypto/sha.cpp util/error.cpp util/hex.cpp util/parse.cpp)
