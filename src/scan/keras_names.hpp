// Internal: the allowlist of names Keras ships, used by keras.cpp (see keras_names.cpp).
// Thread-safety: pure functions over static tables.
#pragma once

#include <string_view>

namespace hubgate::scan::keras {

// A class a Keras config may name by `class_name` (layers, initializers, regularizers,
// constraints, optimizers, schedules, losses, metrics, models, dtype policies, markers).
bool known_keras_class(std::string_view name);
// A function a Keras config may name (activations, losses, metrics, initializer aliases).
bool known_keras_function(std::string_view name);
// A name reachable through an allowed module that acts on files, the network or code.
bool dangerous_keras_name(std::string_view name);

}  // namespace hubgate::scan::keras
