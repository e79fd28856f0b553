// The names Keras itself ships (Keras 1/2/3, tf.keras, tf_keras): the allowlist that keras.cpp
// judges every object spec of a model config against (security.md §3, docs/scan-formats.md).
//
// `known_keras_class` holds the classes a config may name by `class_name`: models, layers,
// initializers, regularizers, constraints, optimizers and learning-rate schedules, losses,
// metrics, dtype policies, and the serialiser's own markers (`__tensor__`, `__tuple__`…).
// `known_keras_function` holds the functions a config may name by string or by a
// `{"class_name": "function", "config": <name>}` spec: activations, losses, metrics and
// initializer/regularizer/constraint aliases. `dangerous_keras_name` holds names reachable
// through an allowed module that act on files, the network or code (`get_file`, `load_model`,
// `py_function`…): a spec resolving to one of them is dangerous wherever it appears.
// Thread-safety: pure functions over static tables.
#include <string_view>
#include <unordered_set>

#include "scan/keras_names.hpp"

namespace hubgate::scan::keras {

bool known_keras_class(std::string_view n) {
  static const std::unordered_set<std::string_view> s = {
      // models and the serialiser's markers
      "Sequential", "Functional", "Model", "__tensor__", "__numpy__", "__typespec__", "__tuple__",
      "__keras_tensor__", "__ellipsis__", "__slice__", "__bytes__", "__passive_serialization__", "TensorShape",
      "TensorSpec", "RaggedTensorSpec", "SparseTensorSpec", "KerasTensor", "InputSpec",
      // dtype policies
      "DTypePolicy", "FloatDTypePolicy", "QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy", "DTypePolicyMap",
      "Policy", "GPTQDTypePolicy",
      // layers
      "Layer", "InputLayer", "Input", "Activation", "ActivityRegularization", "Add", "AdditiveAttention",
      "AlphaDropout", "Attention", "Average", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
      "AvgPool1D", "AvgPool2D", "AvgPool3D", "BatchNormalization", "Bidirectional", "CategoryEncoding",
      "CenterCrop", "Concatenate", "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
      "Conv3DTranspose", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Convolution1D", "Convolution2D", "Convolution3D",
      "Convolution1DTranspose", "Convolution2DTranspose", "Convolution3DTranspose", "Cropping1D", "Cropping2D",
      "Cropping3D", "Dense", "DenseFeatures", "DepthwiseConv1D", "DepthwiseConv2D", "Discretization", "Dot",
      "Dropout", "ELU", "EinsumDense", "Embedding", "Flatten", "GRU", "GRUCell", "GRUV1", "GRUV2", "GaussianDropout",
      "GaussianNoise", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
      "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
      "GlobalMaxPooling3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GroupNormalization",
      "GroupQueryAttention", "HashedCrossing", "Hashing", "Identity", "IntegerLookup", "LSTM", "LSTMCell", "LSTMV1",
      "LSTMV2", "LayerNormalization", "LeakyReLU", "LocallyConnected1D", "LocallyConnected2D", "Masking",
      "MaxPool1D", "MaxPool2D", "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Maximum",
      "MelSpectrogram", "STFTSpectrogram", "Minimum", "MultiHeadAttention", "Multiply", "Normalization", "PReLU",
      "Permute", "RNN", "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip", "RandomHeight",
      "RandomRotation", "RandomTranslation", "RandomWidth", "RandomZoom", "RandomGrayscale", "RandomHue",
      "RandomSaturation", "RandomSharpness", "RandomShear", "RandomColorJitter", "RandomColorDegeneration",
      "RandomPosterization", "RandomInvert", "RandomPerspective", "RandomElasticTransform", "RandomErasing",
      "RandomGaussianBlur", "Solarization", "AutoContrast", "Equalization", "MixUp", "CutMix", "AugMix",
      "RandAugment", "Pipeline", "MaxNumBoundingBoxes", "ReLU", "RepeatVector", "Rescaling", "Reshape", "Resizing",
      "RMSNormalization", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
      "SimpleRNN", "SimpleRNNCell", "Softmax", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
      "SpectralNormalization", "StackedRNNCells", "StringLookup", "Subtract", "TextVectorization",
      "ThresholdedReLU", "TimeDistributed", "UnitNormalization", "UpSampling1D", "UpSampling2D", "UpSampling3D",
      "Wrapper", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "CuDNNGRU", "CuDNNLSTM", "Merge",
      "BatchNormalizationV1", "BatchNormalizationV2", "LayerNormalizationV1", "PeepholeLSTMCell",
      "AbstractRNNCell", "ReversibleEmbedding", "TensorFlowOpLayer", "InstanceNormalization",
      "TimeDistributedDense", "AtrousConvolution1D", "AtrousConvolution2D", "Highway", "MaxoutDense", "SReLU",
      "ParametricSoftplus", "ThresholdedLinear", "Deconvolution2D", "Deconvolution3D", "LocallyConnected",
      // initializers
      "Initializer", "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "IdentityInitializer",
      "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "OrthogonalInitializer", "RandomNormal",
      "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros", "STFT", "STFTInitializer",
      // regularizers and constraints
      "Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "Constraint", "MaxNorm", "MinMaxNorm", "NonNeg",
      "UnitNorm", "RadialConstraint",
      // optimizers and schedules
      "Optimizer", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lion", "Lamb", "Muon",
      "LossScaleOptimizer", "LossScaleOptimizerV3", "Nadam", "RMSprop", "SGD", "LearningRateSchedule",
      "CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
      "PolynomialDecay",
      // losses
      "Loss", "LossFunctionWrapper", "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
      "CategoricalFocalCrossentropy", "CategoricalHinge", "CosineSimilarity", "Dice", "Hinge", "Huber",
      "KLDivergence", "LogCosh", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
      "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge", "Tversky", "CTC",
      "Circle", "Reduction",
      // metrics
      "Metric", "AUC", "Accuracy", "BinaryAccuracy", "BinaryIoU", "CategoricalAccuracy", "ConcordanceCorrelation",
      "F1Score", "FBetaScore", "FalseNegatives", "FalsePositives", "IoU", "LogCoshError", "Mean", "MeanIoU",
      "MeanMetricWrapper", "OneHotIoU", "OneHotMeanIoU", "PearsonCorrelation", "Precision", "PrecisionAtRecall",
      "R2Score", "Recall", "RecallAtPrecision", "RootMeanSquaredError", "SensitivityAtSpecificity",
      "SparseCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "SpecificityAtSensitivity", "Sum",
      "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "MeanRelativeError", "MeanTensor",
  };
  return s.contains(n);
}

bool known_keras_function(std::string_view n) {
  static const std::unordered_set<std::string_view> s = {
      // activations
      "relu", "relu6", "sigmoid", "softmax", "softplus", "softsign", "tanh", "selu", "elu", "exponential",
      "leaky_relu", "silu", "swish", "gelu", "hard_sigmoid", "hard_silu", "hard_swish", "linear", "mish",
      "log_softmax", "celu", "glu", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "squareplus",
      "sparse_plus", "sparsemax", "threshold", "log_sigmoid", "sparse_sigmoid", "softmax_v2",
      // losses
      "mean_squared_error", "mse", "MSE", "mean_absolute_error", "mae", "MAE", "mean_absolute_percentage_error",
      "mape", "MAPE", "mean_squared_logarithmic_error", "msle", "MSLE", "binary_crossentropy",
      "categorical_crossentropy", "sparse_categorical_crossentropy", "hinge", "squared_hinge", "categorical_hinge",
      "kl_divergence", "kld", "KLD", "kullback_leibler_divergence", "poisson", "log_cosh", "logcosh", "huber",
      "huber_loss", "cosine_similarity", "cosine_proximity", "binary_focal_crossentropy",
      "categorical_focal_crossentropy", "ctc", "dice", "tversky", "circle",
      // metrics
      "accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
      "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "binary_iou", "crossentropy", "ce",
      // initializer, regularizer and constraint aliases
      "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal",
      "lecun_uniform", "ones", "one", "orthogonal", "random_normal", "random_uniform", "truncated_normal",
      "variance_scaling", "zeros", "zero", "uniform", "normal", "l1", "l2", "l1_l2", "orthogonal_regularizer",
      "max_norm", "min_max_norm", "non_neg", "unit_norm", "radial_constraint",
  };
  return s.contains(n);
}

bool dangerous_keras_name(std::string_view n) {
  static const std::unordered_set<std::string_view> s = {
      // files and the network (keras.utils, tf.keras.utils, keras.src.utils.file_utils, saving)
      "get_file", "load_model", "save_model", "load_weights", "save_weights", "save", "load", "save_img",
      "load_img", "image_dataset_from_directory", "text_dataset_from_directory", "audio_dataset_from_directory",
      "timeseries_dataset_from_array", "plot_model", "model_to_dot", "model_from_json", "model_from_yaml",
      "model_from_config", "deserialize_keras_object", "register_keras_serializable", "get_custom_objects",
      "custom_object_scope", "CustomObjectScope", "enable_unsafe_deserialization", "TFSMLayer", "export",
      "ExportArchive", "TorchModuleWrapper", "JaxLayer", "FlaxLayer", "Lambda", "TFOpLambda", "SlicingOpLambda",
      // tensorflow ops that call Python or touch files
      "py_function", "numpy_function", "py_func", "eager_py_func", "write_file", "read_file", "gfile", "GFile",
      "Open", "remove", "rmtree", "rename", "copy", "makedirs", "load_library", "load_op_library",
      // Python and numpy entry points reachable under the numpy/math roots
      "fromfile", "tofile", "loadtxt", "genfromtxt", "savetxt", "memmap", "DataSource", "system", "popen", "exec",
      "eval", "compile", "open", "__import__", "getattr", "setattr",
  };
  return s.contains(n);
}

}  // namespace hubgate::scan::keras
