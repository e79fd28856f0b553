// Subcommands contributed by the cli module (see src/main.cpp).
#pragma once

namespace hubgate {
int serve_main(int argc, char** argv);  // hubgate serve
int token_main(int argc, char** argv);  // hubgate token create
int push_main(int argc, char** argv);   // hubgate push
int store_main(int argc, char** argv);  // hubgate store migrate
}  // namespace hubgate
